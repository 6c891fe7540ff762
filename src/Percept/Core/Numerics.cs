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

    /// <summary><see cref="FastPow(float, float)"/> on eight lanes at once, by the same formulas.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> FastPow(Vector256<float> x, float y)
    {
        var bits = x.AsInt32();
        var exponent = Vector256.ConvertToSingle(((bits >> 23) & Vector256.Create(0xFF)) - Vector256.Create(127));
        var m = ((bits & Vector256.Create(0x007FFFFF)) | Vector256.Create(0x3F800000)).AsSingle();
        var one = Vector256<float>.One;
        var t = (m - one) / (m + one);
        var t2 = t * t;
        var series = one + t2 * (Vector256.Create(1f / 3) + t2 * (Vector256.Create(0.2f) + t2 * (Vector256.Create(1f / 7) + t2 * Vector256.Create(1f / 9))));
        var log2 = exponent + Vector256.Create(2.88539008f) * t * series;
        var e = Vector256.Min(Vector256.Max(log2 * y, Vector256.Create(-126f)), Vector256.Create(127.99f));
        var fl = Vector256.Floor(e);
        var f = (e - fl) * Vector256.Create(0.693147181f);
        var p = one + f * (one + f * (Vector256.Create(0.5f) + f * (Vector256.Create(1f / 6) + f * (Vector256.Create(1f / 24)
            + f * (Vector256.Create(1f / 120) + f * (Vector256.Create(1f / 720) + f * Vector256.Create(1f / 5040)))))));
        var scale = ((Vector256.ConvertToInt32(fl) + Vector256.Create(127)) << 23).AsSingle();
        return p * scale;
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
