using System.Runtime.Intrinsics;

namespace Percept.Core;

/// <summary>Small numerical helpers several stages use.</summary>
internal static class Numerics
{
    /// <summary>
    /// x^y for x &gt; 0 as 2^(y·log₂x), both halves from the float's exponent bits and a short polynomial: relative error
    /// under 1e-4 for |y·log₂x| up to 100, several times faster than <see cref="MathF.Pow"/>. For stochastic gradient
    /// steps (UMAP's), where that error is far below the noise; not for results a user reads.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static float FastPow(float x, float y) => FastExp2(y * FastLog2(x));

    /// <summary>log₂x for finite x &gt; 0: the exponent plus log₂ of the mantissa m ∈ [1, 2) by the series of atanh.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static float FastLog2(float x)
    {
        int bits = BitConverter.SingleToInt32Bits(x);
        int exponent = ((bits >> 23) & 0xFF) - 127;
        float m = BitConverter.Int32BitsToSingle((bits & 0x007FFFFF) | 0x3F800000);
        // log₂m = (2 / ln 2)·atanh(t) with t = (m − 1)/(m + 1) ∈ [0, 1/3): four odd terms leave < 1e-5.
        float t = (m - 1) / (m + 1), t2 = t * t;
        return exponent + 2.88539008f * t * (1 + t2 * (1f / 3 + t2 * (0.2f + t2 * (1f / 7 + t2 * (1f / 9)))));
    }

    /// <summary>2^y: the integer part into the exponent bits, 2^f for the fraction f ∈ [0, 1) by its Taylor series.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static float FastExp2(float y)
    {
        y = Math.Clamp(y, -126f, 127.99f);
        float fl = MathF.Floor(y), f = (y - fl) * 0.693147181f;
        // e^g for g = f·ln 2 ∈ [0, 0.694): terms to g⁷/7! leave < 2e-6.
        float p = 1 + f * (1 + f * (0.5f + f * (1f / 6 + f * (1f / 24 + f * (1f / 120 + f * (1f / 720 + f * (1f / 5040)))))));
        return p * BitConverter.Int32BitsToSingle(((int)fl + 127) << 23);
    }

    /// <summary>
    /// x^y on eight lanes for finite x &gt; 0, within 1e-5 relative of <see cref="FastPow(float, float)"/>'s formulas but
    /// cheaper: log₂ of the mantissa by the same atanh series with t = (m − 1)/(m + 1) from an approximate reciprocal
    /// and one Newton step (no division), and 2^f for the fraction f ∈ [−½, ½] (rounded, not floored) by a shorter
    /// series, each polynomial in fused multiply-adds by Estrin's scheme.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> FastPow(Vector256<float> x, float y)
    {
        var bits = x.AsInt32();
        var exponent = Vector256.ConvertToSingle(((bits >> 23) & Vector256.Create(0xFF)) - Vector256.Create(127));
        var m = ((bits & Vector256.Create(0x007FFFFF)) | Vector256.Create(0x3F800000)).AsSingle();
        var one = Vector256<float>.One;
        var t = (m - one) * Reciprocal(m + one);
        // Both polynomials by Estrin's scheme (pairs of terms side by side, then joined by powers of the variable): the
        // same terms as Horner's rule, a shorter chain of dependent operations (6 to 3 for the exponential's, 4 to 3 for
        // the logarithm's), which is what a UMAP step waits on.
        var t2 = t * t;
        var t4 = t2 * t2;
        var lowTerms = Vector256.FusedMultiplyAdd(t2, Vector256.Create(1f / 3), one);
        var highTerms = Vector256.FusedMultiplyAdd(t2, Vector256.Create(1f / 7), Vector256.Create(0.2f));
        highTerms = Vector256.FusedMultiplyAdd(t4, Vector256.Create(1f / 9), highTerms);
        var series = Vector256.FusedMultiplyAdd(t4, highTerms, lowTerms);
        var log2 = Vector256.FusedMultiplyAdd(Vector256.Create(2.88539008f) * t, series, exponent);
        var e = Vector256.Min(Vector256.Max(log2 * y, Vector256.Create(-126f)), Vector256.Create(127.49f));
        var whole = Vector256.Round(e);
        // e^g for g = (e − whole)·ln 2 ∈ [−0.347, 0.347]: terms to g⁶/6! leave < 1.3e-7.
        var g = (e - whole) * Vector256.Create(0.693147181f);
        var g2 = g * g;
        var g4 = g2 * g2;
        var terms01 = g + one;
        var terms23 = Vector256.FusedMultiplyAdd(g, Vector256.Create(1f / 6), Vector256.Create(0.5f));
        var terms45 = Vector256.FusedMultiplyAdd(g, Vector256.Create(1f / 120), Vector256.Create(1f / 24));
        var terms0to3 = Vector256.FusedMultiplyAdd(g2, terms23, terms01);
        var terms4to6 = Vector256.FusedMultiplyAdd(g2, Vector256.Create(1f / 720), terms45);
        var p = Vector256.FusedMultiplyAdd(g4, terms4to6, terms0to3);
        var scale = ((Vector256.ConvertToInt32(whole) + Vector256.Create(127)) << 23).AsSingle();
        return p * scale;
    }

    /// <summary>1/x on eight lanes: the hardware's 12-bit estimate where there is one, refined by a Newton step (about 23 bits).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Reciprocal(Vector256<float> x)
    {
        if (!System.Runtime.Intrinsics.X86.Avx.IsSupported) return Vector256<float>.One / x;
        var r = System.Runtime.Intrinsics.X86.Avx.Reciprocal(x);
        return r * Vector256.FusedMultiplyAdd(-x, r, Vector256.Create(2f));
    }

    /// <summary>Whether every value is finite (no NaN, no infinity).</summary>
    public static bool AllFinite(ReadOnlySpan<float> values)
    {
        foreach (var v in values) if (!float.IsFinite(v)) return false;
        return true;
    }

    /// <summary>Spearman's rank correlation, ties given their average rank; NaN when either side is constant.</summary>
    public static double Spearman(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        var (ra, rb) = (Ranks(a), Ranks(b));
        double ma = ra.Average(), mb = rb.Average(), num = 0, da = 0, db = 0;
        for (int i = 0; i < ra.Length; i++) { num += (ra[i] - ma) * (rb[i] - mb); da += (ra[i] - ma) * (ra[i] - ma); db += (rb[i] - mb) * (rb[i] - mb); }
        return da > 0 && db > 0 ? num / Math.Sqrt(da * db) : double.NaN;
    }

    static double[] Ranks(ReadOnlySpan<double> v)
    {
        var copy = v.ToArray();
        var order = Enumerable.Range(0, copy.Length).OrderBy(i => copy[i]).ToArray();
        var ranks = new double[copy.Length];
        for (int i = 0; i < order.Length;)
        {
            int j = i;
            while (j + 1 < order.Length && copy[order[j + 1]] == copy[order[i]]) j++;
            for (int k = i; k <= j; k++) ranks[order[k]] = (i + j) / 2.0;
            i = j + 1;
        }
        return ranks;
    }
}
