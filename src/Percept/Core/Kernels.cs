using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Percept.Core;

/// <summary>
/// Register-blocked kernels for the products the stages above share (NN-descent distances, PCA): four rows at a time,
/// so that the row they meet is loaded once for four and four sums are in flight, or two by four, so that each of the
/// four is also loaded once for two. 256-bit lanes with a scalar tail.
/// </summary>
public static class Kernels
{
    /// <summary>Four dot products of p with q0..q3 (equal lengths): 8 lanes per step, then a scalar tail.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Dot4(ReadOnlySpan<float> p, ReadOnlySpan<float> q0, ReadOnlySpan<float> q1, ReadOnlySpan<float> q2, ReadOnlySpan<float> q3,
        out float d0, out float d1, out float d2, out float d3)
    {
        int n = p.Length, i = 0;
        ref float rp = ref MemoryMarshal.GetReference(p);
        ref float r0 = ref MemoryMarshal.GetReference(q0); ref float r1 = ref MemoryMarshal.GetReference(q1);
        ref float r2 = ref MemoryMarshal.GetReference(q2); ref float r3 = ref MemoryMarshal.GetReference(q3);
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (; i + 8 <= n; i += 8)
        {
            var v = Vector256.LoadUnsafe(ref rp, (nuint)i);
            a0 = MultiplyAdd(v, Vector256.LoadUnsafe(ref r0, (nuint)i), a0);
            a1 = MultiplyAdd(v, Vector256.LoadUnsafe(ref r1, (nuint)i), a1);
            a2 = MultiplyAdd(v, Vector256.LoadUnsafe(ref r2, (nuint)i), a2);
            a3 = MultiplyAdd(v, Vector256.LoadUnsafe(ref r3, (nuint)i), a3);
        }
        d0 = Vector256.Sum(a0); d1 = Vector256.Sum(a1); d2 = Vector256.Sum(a2); d3 = Vector256.Sum(a3);
        for (; i < n; i++)
        {
            float v = Unsafe.Add(ref rp, i);
            d0 += v * Unsafe.Add(ref r0, i); d1 += v * Unsafe.Add(ref r1, i); d2 += v * Unsafe.Add(ref r2, i); d3 += v * Unsafe.Add(ref r3, i);
        }
    }

    /// <summary>
    /// The eight dot products of p0 and p1 with q0..q3 (equal lengths), into <paramref name="d"/> as p0's four then p1's:
    /// each q is loaded once for two rows, which halves the loads per product where the rows come from L2 or memory.
    /// Every product is summed in the same order as <see cref="Dot4"/>, so the two give the same bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Dot2x4(ReadOnlySpan<float> p0, ReadOnlySpan<float> p1, ReadOnlySpan<float> q0, ReadOnlySpan<float> q1,
        ReadOnlySpan<float> q2, ReadOnlySpan<float> q3, Span<float> d)
    {
        int n = p0.Length, i = 0;
        ref float rp = ref MemoryMarshal.GetReference(p0); ref float rs = ref MemoryMarshal.GetReference(p1);
        ref float r0 = ref MemoryMarshal.GetReference(q0); ref float r1 = ref MemoryMarshal.GetReference(q1);
        ref float r2 = ref MemoryMarshal.GetReference(q2); ref float r3 = ref MemoryMarshal.GetReference(q3);
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        Vector256<float> b0 = default, b1 = default, b2 = default, b3 = default;
        for (; i + 8 <= n; i += 8)
        {
            var u = Vector256.LoadUnsafe(ref rp, (nuint)i);
            var v = Vector256.LoadUnsafe(ref rs, (nuint)i);
            var w = Vector256.LoadUnsafe(ref r0, (nuint)i);
            a0 = MultiplyAdd(u, w, a0); b0 = MultiplyAdd(v, w, b0);
            w = Vector256.LoadUnsafe(ref r1, (nuint)i);
            a1 = MultiplyAdd(u, w, a1); b1 = MultiplyAdd(v, w, b1);
            w = Vector256.LoadUnsafe(ref r2, (nuint)i);
            a2 = MultiplyAdd(u, w, a2); b2 = MultiplyAdd(v, w, b2);
            w = Vector256.LoadUnsafe(ref r3, (nuint)i);
            a3 = MultiplyAdd(u, w, a3); b3 = MultiplyAdd(v, w, b3);
        }
        float d0 = Vector256.Sum(a0), d1 = Vector256.Sum(a1), d2 = Vector256.Sum(a2), d3 = Vector256.Sum(a3);
        float e0 = Vector256.Sum(b0), e1 = Vector256.Sum(b1), e2 = Vector256.Sum(b2), e3 = Vector256.Sum(b3);
        for (; i < n; i++)
        {
            float u = Unsafe.Add(ref rp, i), v = Unsafe.Add(ref rs, i);
            float w0 = Unsafe.Add(ref r0, i), w1 = Unsafe.Add(ref r1, i), w2 = Unsafe.Add(ref r2, i), w3 = Unsafe.Add(ref r3, i);
            d0 += u * w0; d1 += u * w1; d2 += u * w2; d3 += u * w3;
            e0 += v * w0; e1 += v * w1; e2 += v * w2; e3 += v * w3;
        }
        d[0] = d0; d[1] = d1; d[2] = d2; d[3] = d3; d[4] = e0; d[5] = e1; d[6] = e2; d[7] = e3;
    }

    /// <summary>acc += a0·x0 + a1·x1 + a2·x2 + a3·x3 (equal lengths): acc is read and written once for four rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MultiplyAdd4(Span<float> acc, float a0, ReadOnlySpan<float> x0, float a1, ReadOnlySpan<float> x1,
        float a2, ReadOnlySpan<float> x2, float a3, ReadOnlySpan<float> x3)
    {
        int n = acc.Length, i = 0;
        ref float ra = ref MemoryMarshal.GetReference(acc);
        ref float r0 = ref MemoryMarshal.GetReference(x0); ref float r1 = ref MemoryMarshal.GetReference(x1);
        ref float r2 = ref MemoryMarshal.GetReference(x2); ref float r3 = ref MemoryMarshal.GetReference(x3);
        if (Vector256.IsHardwareAccelerated)
        {
            var c0 = Vector256.Create(a0); var c1 = Vector256.Create(a1); var c2 = Vector256.Create(a2); var c3 = Vector256.Create(a3);
            for (; i + 8 <= n; i += 8)
            {
                var v = Vector256.LoadUnsafe(ref ra, (nuint)i);
                v = MultiplyAdd(c0, Vector256.LoadUnsafe(ref r0, (nuint)i), v);
                v = MultiplyAdd(c1, Vector256.LoadUnsafe(ref r1, (nuint)i), v);
                v = MultiplyAdd(c2, Vector256.LoadUnsafe(ref r2, (nuint)i), v);
                v = MultiplyAdd(c3, Vector256.LoadUnsafe(ref r3, (nuint)i), v);
                v.StoreUnsafe(ref ra, (nuint)i);
            }
        }
        for (; i < n; i++)
            Unsafe.Add(ref ra, i) += a0 * Unsafe.Add(ref r0, i) + a1 * Unsafe.Add(ref r1, i) + a2 * Unsafe.Add(ref r2, i) + a3 * Unsafe.Add(ref r3, i);
    }

    /// <summary>
    /// <see cref="MultiplyAdd4"/> into two accumulators over the same four rows: acc0 += a0·x0 + … + a3·x3 and
    /// acc1 += b0·x0 + … + b3·x3, each x loaded once for both. Each accumulator gets the same bits as from MultiplyAdd4.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MultiplyAdd2x4(Span<float> acc0, Span<float> acc1, float a0, float a1, float a2, float a3, float b0, float b1, float b2, float b3,
        ReadOnlySpan<float> x0, ReadOnlySpan<float> x1, ReadOnlySpan<float> x2, ReadOnlySpan<float> x3)
    {
        int n = acc0.Length, i = 0;
        ref float ra = ref MemoryMarshal.GetReference(acc0); ref float rb = ref MemoryMarshal.GetReference(acc1);
        ref float r0 = ref MemoryMarshal.GetReference(x0); ref float r1 = ref MemoryMarshal.GetReference(x1);
        ref float r2 = ref MemoryMarshal.GetReference(x2); ref float r3 = ref MemoryMarshal.GetReference(x3);
        if (Vector256.IsHardwareAccelerated)
        {
            var c0 = Vector256.Create(a0); var c1 = Vector256.Create(a1); var c2 = Vector256.Create(a2); var c3 = Vector256.Create(a3);
            var e0 = Vector256.Create(b0); var e1 = Vector256.Create(b1); var e2 = Vector256.Create(b2); var e3 = Vector256.Create(b3);
            for (; i + 8 <= n; i += 8)
            {
                var u = Vector256.LoadUnsafe(ref ra, (nuint)i);
                var v = Vector256.LoadUnsafe(ref rb, (nuint)i);
                var w = Vector256.LoadUnsafe(ref r0, (nuint)i);
                u = MultiplyAdd(c0, w, u); v = MultiplyAdd(e0, w, v);
                w = Vector256.LoadUnsafe(ref r1, (nuint)i);
                u = MultiplyAdd(c1, w, u); v = MultiplyAdd(e1, w, v);
                w = Vector256.LoadUnsafe(ref r2, (nuint)i);
                u = MultiplyAdd(c2, w, u); v = MultiplyAdd(e2, w, v);
                w = Vector256.LoadUnsafe(ref r3, (nuint)i);
                u = MultiplyAdd(c3, w, u); v = MultiplyAdd(e3, w, v);
                u.StoreUnsafe(ref ra, (nuint)i);
                v.StoreUnsafe(ref rb, (nuint)i);
            }
        }
        for (; i < n; i++)
        {
            float w0 = Unsafe.Add(ref r0, i), w1 = Unsafe.Add(ref r1, i), w2 = Unsafe.Add(ref r2, i), w3 = Unsafe.Add(ref r3, i);
            Unsafe.Add(ref ra, i) += a0 * w0 + a1 * w1 + a2 * w2 + a3 * w3;
            Unsafe.Add(ref rb, i) += b0 * w0 + b1 * w1 + b2 * w2 + b3 * w3;
        }
    }

    /// <summary>a·b + c, fused where the CPU has FMA.</summary>
    public static Vector256<float> MultiplyAdd(Vector256<float> a, Vector256<float> b, Vector256<float> c) =>
        Fma.IsSupported ? Fma.MultiplyAdd(a, b, c) : a * b + c;
}
