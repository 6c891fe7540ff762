using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Percept.Core;

/// <summary>
/// How a vector kernel fetches four 2-D points' (x, y) pairs by their indices, each pair one 64-bit element of an
/// interleaved layout: by hardware gathers or by scalar loads, chosen per CPU (<see cref="Cpu.SlowGathers"/>).
/// </summary>
internal unsafe interface IPointPairs
{
    static abstract Vector256<float> Fetch(float* points, Vector128<int> indices);
}

/// <summary>One hardware gather of four 64-bit elements: fast on Intel since Haswell (slower under the Downfall mitigation) and on Zen 3 and later.</summary>
internal readonly unsafe struct GatheredPointPairs : IPointPairs
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Fetch(float* points, Vector128<int> indices) => Avx2.GatherVector256((double*)points, indices, 8).AsSingle();
}

/// <summary>Four scalar 64-bit loads put into the vector: the same lanes, for CPUs whose gathers are microcoded (Zen 1 and 2).</summary>
internal readonly unsafe struct LoadedPointPairs : IPointPairs
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Fetch(float* points, Vector128<int> indices)
    {
        var p = (double*)points;
        return Vector256.Create(Vector128.Create(p[indices.ToScalar()], p[indices.GetElement(1)]),
            Vector128.Create(p[indices.GetElement(2)], p[indices.GetElement(3)])).AsSingle();
    }
}
