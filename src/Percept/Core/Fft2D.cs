using System.Numerics;
using System.Runtime.CompilerServices;

namespace Percept.Core;

/// <summary>
/// In-place two-dimensional complex FFT of a square M × M grid held as separate real and imaginary planes (row-major),
/// for M whose prime factors are 2, 3 and 5. Both axes run the same kernel: a panel of <see cref="Lanes"/> neighbouring
/// columns (or, for the second axis, rows copied out transposed) is gathered into a small buffer that stays in cache,
/// transformed by a mixed-radix Stockham FFT whose every "element" is a vector of <see cref="Lanes"/> independent
/// values, and scattered back. The sign convention is the usual one: forward uses e^(−2πi jk/M), the inverse e^(+2πi jk/M)
/// and is not scaled (divide by M² yourself).
/// </summary>
/// <remarks>
/// Zero padding is exploited: <c>Forward</c> takes the number of leading columns that may be non-zero (the rest are
/// known zero and their columns are not transformed on the first axis), and <c>Inverse</c> the number of leading
/// columns wanted (the others are left partly transformed). A convolution of an n × n grid padded to 2n × 2n so does
/// three quarters of the work of two full transforms.
/// </remarks>
public sealed class Fft2D
{
    /// <summary>Columns per panel: two 256-bit vectors of floats.</summary>
    public const int Lanes = 16;

    readonly int _m;
    readonly int[] _radices;
    readonly float[][] _twiddleRe, _twiddleIm; // per stage: [k * (R − 1) + r − 1] = e^(−2πi k r / (Ns·R))

    /// <summary>Plans transforms of size <paramref name="m"/> × <paramref name="m"/>.</summary>
    public Fft2D(int m)
    {
        if (m < 1 || !IsSmooth(m)) throw new ArgumentOutOfRangeException(nameof(m), m, "the size must be a product of 2, 3 and 5");
        _m = m;
        var radices = new List<int>();
        int rest = m;
        while (rest % 4 == 0) { radices.Add(4); rest /= 4; }
        while (rest % 2 == 0) { radices.Add(2); rest /= 2; }
        while (rest % 3 == 0) { radices.Add(3); rest /= 3; }
        while (rest % 5 == 0) { radices.Add(5); rest /= 5; }
        _radices = [.. radices];
        _twiddleRe = new float[_radices.Length][];
        _twiddleIm = new float[_radices.Length][];
        int ns = 1;
        for (int s = 0; s < _radices.Length; s++)
        {
            int r = _radices[s];
            var tr = new float[ns * (r - 1)];
            var ti = new float[ns * (r - 1)];
            for (int k = 0; k < ns; k++)
                for (int q = 1; q < r; q++)
                {
                    double angle = -2 * Math.PI * k * q / (ns * r);
                    tr[k * (r - 1) + q - 1] = (float)Math.Cos(angle);
                    ti[k * (r - 1) + q - 1] = (float)Math.Sin(angle);
                }
            _twiddleRe[s] = tr; _twiddleIm[s] = ti;
            ns *= r;
        }
    }

    /// <summary>The side of the grid.</summary>
    public int Size => _m;

    /// <summary>True when <paramref name="m"/> has no prime factor other than 2, 3 and 5.</summary>
    public static bool IsSmooth(int m)
    {
        if (m < 1) return false;
        foreach (int p in (ReadOnlySpan<int>)[2, 3, 5]) while (m % p == 0) m /= p;
        return m == 1;
    }

    /// <summary>The smallest size ≥ <paramref name="m"/> with no prime factor other than 2, 3 and 5.</summary>
    public static int NextSmooth(int m)
    {
        m = Math.Max(1, m);
        while (!IsSmooth(m)) m++;
        return m;
    }

    /// <summary>Forward transform of both planes; columns at and beyond <paramref name="nonZeroColumns"/> must be zero on entry.</summary>
    public void Forward(float[] re, float[] im, int nonZeroColumns, int threads)
    {
        Check(re, im);
        int cols = Math.Clamp(nonZeroColumns, 0, _m);
        ColumnPass(re, im, 0, cols, inverse: false, threads);
        RowPass(re, im, inverse: false, threads);
    }

    /// <summary>Inverse transform (unscaled); only the columns before <paramref name="wantedColumns"/> are finished.</summary>
    public void Inverse(float[] re, float[] im, int wantedColumns, int threads)
    {
        Check(re, im);
        RowPass(re, im, inverse: true, threads);
        ColumnPass(re, im, 0, Math.Clamp(wantedColumns, 0, _m), inverse: true, threads);
    }

    /// <summary>
    /// The inverse transform (unscaled) of the forward transform times a real <paramref name="kernel"/> (its values at
    /// the same positions, row-major): a circular convolution, as <see cref="Forward"/>, a pointwise product and
    /// <see cref="Inverse"/> give it, bit for bit; but each panel of rows goes forward, through the product and back
    /// while it is in cache, so the grid is read and written once for the three instead of three times.
    /// </summary>
    public void Convolve(float[] re, float[] im, float[] kernel, int nonZeroColumns, int wantedColumns, int threads)
    {
        Check(re, im);
        if (kernel.Length < _m * _m) throw new ArgumentException($"the kernel must hold {_m} x {_m} values");
        ColumnPass(re, im, 0, Math.Clamp(nonZeroColumns, 0, _m), inverse: false, threads);
        RowPass(re, im, inverse: false, threads, kernel);
        ColumnPass(re, im, 0, Math.Clamp(wantedColumns, 0, _m), inverse: true, threads);
    }

    void Check(float[] re, float[] im)
    {
        if (re.Length < _m * _m || im.Length < _m * _m) throw new ArgumentException($"the planes must hold {_m} x {_m} values");
    }

    /// <summary>Transforms along axis 0 (down each column) the columns [c0, c1), a panel of <see cref="Lanes"/> at a time.</summary>
    void ColumnPass(float[] re, float[] im, int c0, int c1, bool inverse, int threads)
    {
        int m = _m;
        int panels = (c1 - c0 + Lanes - 1) / Lanes;
        Parallel.For(0, panels, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, threads) }, () => new Scratch(m), (p, _, s) =>
        {
            int col = c0 + p * Lanes, width = Math.Min(Lanes, c1 - col);
            for (int j = 0; j < m; j++)
            {
                re.AsSpan(j * m + col, width).CopyTo(s.ARe.AsSpan(j * Lanes, width));
                im.AsSpan(j * m + col, width).CopyTo(s.AIm.AsSpan(j * Lanes, width));
            }
            var (outRe, outIm) = Transform(s, inverse);
            for (int j = 0; j < m; j++)
            {
                outRe.AsSpan(j * Lanes, width).CopyTo(re.AsSpan(j * m + col, width));
                outIm.AsSpan(j * Lanes, width).CopyTo(im.AsSpan(j * m + col, width));
            }
            return s;
        }, _ => { });
    }

    /// <summary>
    /// Transforms along axis 1 (along each row), <see cref="Lanes"/> rows at a time copied out transposed; with a
    /// <paramref name="kernel"/>, forward, times the kernel, then back (<see cref="Convolve"/>).
    /// </summary>
    void RowPass(float[] re, float[] im, bool inverse, int threads, float[]? kernel = null)
    {
        int m = _m;
        int panels = (m + Lanes - 1) / Lanes;
        Parallel.For(0, panels, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, threads) }, () => new Scratch(m), (p, _, s) =>
        {
            int row = p * Lanes, height = Math.Min(Lanes, m - row);
            for (int l = 0; l < height; l++)
            {
                int src = (row + l) * m;
                for (int j = 0; j < m; j++) { s.ARe[j * Lanes + l] = re[src + j]; s.AIm[j * Lanes + l] = im[src + j]; }
            }
            var (outRe, outIm) = Transform(s, inverse);
            if (kernel != null)
            {
                // The product goes into the A buffers, where the inverse transform starts.
                for (int l = 0; l < height; l++)
                {
                    int src = (row + l) * m;
                    for (int j = 0; j < m; j++)
                    {
                        float k = kernel[src + j];
                        s.ARe[j * Lanes + l] = outRe[j * Lanes + l] * k;
                        s.AIm[j * Lanes + l] = outIm[j * Lanes + l] * k;
                    }
                }
                (outRe, outIm) = Transform(s, inverse: true);
            }
            for (int l = 0; l < height; l++)
            {
                int dst = (row + l) * m;
                for (int j = 0; j < m; j++) { re[dst + j] = outRe[j * Lanes + l]; im[dst + j] = outIm[j * Lanes + l]; }
            }
            return s;
        }, _ => { });
    }

    /// <summary>Two ping-pong panels of M elements × <see cref="Lanes"/> values, real and imaginary.</summary>
    sealed class Scratch(int m)
    {
        public readonly float[] ARe = new float[m * Lanes], AIm = new float[m * Lanes], BRe = new float[m * Lanes], BIm = new float[m * Lanes];
    }

    /// <summary>Runs every stage on the panel in <c>s.A</c>; returns the buffers that hold the result.</summary>
    (float[] Re, float[] Im) Transform(Scratch s, bool inverse)
    {
        float[] xr = s.ARe, xi = s.AIm, yr = s.BRe, yi = s.BIm;
        int ns = 1;
        for (int st = 0; st < _radices.Length; st++)
        {
            int r = _radices[st];
            switch (r)
            {
                case 4: Radix4(xr, xi, yr, yi, ns, _twiddleRe[st], _twiddleIm[st], inverse); break;
                case 2: Radix2(xr, xi, yr, yi, ns, _twiddleRe[st], _twiddleIm[st], inverse); break;
                case 3: Radix3(xr, xi, yr, yi, ns, _twiddleRe[st], _twiddleIm[st], inverse); break;
                default: Radix5(xr, xi, yr, yi, ns, _twiddleRe[st], _twiddleIm[st], inverse); break;
            }
            (xr, yr) = (yr, xr); (xi, yi) = (yi, xi);
            ns *= r;
        }
        return (xr, xi);
    }

    // Each radix-R stage of the Stockham scheme: for j < M/R, element j + q·M/R (q < R) is multiplied by the twiddle
    // e^(∓2πi k q / (Ns·R)) with k = j mod Ns, the R elements go through a DFT of size R, and output q is written to
    // (j / Ns)·Ns·R + k + q·Ns. The loops run over j0 = (j / Ns)·Ns and k, so that no index needs a division. An
    // element is a panel row of Lanes values: two Vector256<float> per plane, handled as Vector<float> so wider
    // hardware just takes fewer iterations. Lanes is a multiple of every Vector<float>.Count.

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void Radix2(float[] xr, float[] xi, float[] yr, float[] yi, int ns, float[] twr, float[] twi, bool inverse)
    {
        int quarter = _m / 2, vc = Vector<float>.Count;
        for (int j0 = 0; j0 < quarter; j0 += ns)
        for (int k = 0, j = j0; k < ns; k++, j++)
        {
            float wr = twr[k], wi = inverse ? -twi[k] : twi[k];
            int i0 = j * Lanes, i1 = (j + quarter) * Lanes;
            int o0 = (j0 * 2 + k) * Lanes, o1 = o0 + ns * Lanes;
            for (int l = 0; l < Lanes; l += vc)
            {
                var ar = new Vector<float>(xr, i0 + l); var ai = new Vector<float>(xi, i0 + l);
                var br = new Vector<float>(xr, i1 + l); var bi = new Vector<float>(xi, i1 + l);
                var tr = br * wr - bi * wi; var ti = br * wi + bi * wr;
                (ar + tr).CopyTo(yr, o0 + l); (ai + ti).CopyTo(yi, o0 + l);
                (ar - tr).CopyTo(yr, o1 + l); (ai - ti).CopyTo(yi, o1 + l);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void Radix4(float[] xr, float[] xi, float[] yr, float[] yi, int ns, float[] twr, float[] twi, bool inverse)
    {
        int quarter = _m / 4, vc = Vector<float>.Count;
        float sign = inverse ? -1 : 1;
        for (int j0 = 0; j0 < quarter; j0 += ns)
        for (int k = 0, j = j0; k < ns; k++, j++)
        {
            int t = k * 3;
            float w1r = twr[t], w1i = sign * twi[t], w2r = twr[t + 1], w2i = sign * twi[t + 1], w3r = twr[t + 2], w3i = sign * twi[t + 2];
            int i0 = j * Lanes, stride = quarter * Lanes;
            int o0 = (j0 * 4 + k) * Lanes, os = ns * Lanes;
            for (int l = 0; l < Lanes; l += vc)
            {
                var v0r = new Vector<float>(xr, i0 + l); var v0i = new Vector<float>(xi, i0 + l);
                var ur = new Vector<float>(xr, i0 + stride + l); var ui = new Vector<float>(xi, i0 + stride + l);
                var v1r = ur * w1r - ui * w1i; var v1i = ur * w1i + ui * w1r;
                ur = new Vector<float>(xr, i0 + 2 * stride + l); ui = new Vector<float>(xi, i0 + 2 * stride + l);
                var v2r = ur * w2r - ui * w2i; var v2i = ur * w2i + ui * w2r;
                ur = new Vector<float>(xr, i0 + 3 * stride + l); ui = new Vector<float>(xi, i0 + 3 * stride + l);
                var v3r = ur * w3r - ui * w3i; var v3i = ur * w3i + ui * w3r;
                var t0r = v0r + v2r; var t0i = v0i + v2i;
                var t1r = v0r - v2r; var t1i = v0i - v2i;
                var t2r = v1r + v3r; var t2i = v1i + v3i;
                // −i·(v1 − v3) forward, +i·(v1 − v3) inverse.
                var dr = v1r - v3r; var di = v1i - v3i;
                var t3r = di * sign; var t3i = dr * -sign;
                (t0r + t2r).CopyTo(yr, o0 + l); (t0i + t2i).CopyTo(yi, o0 + l);
                (t1r + t3r).CopyTo(yr, o0 + os + l); (t1i + t3i).CopyTo(yi, o0 + os + l);
                (t0r - t2r).CopyTo(yr, o0 + 2 * os + l); (t0i - t2i).CopyTo(yi, o0 + 2 * os + l);
                (t1r - t3r).CopyTo(yr, o0 + 3 * os + l); (t1i - t3i).CopyTo(yi, o0 + 3 * os + l);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void Radix3(float[] xr, float[] xi, float[] yr, float[] yi, int ns, float[] twr, float[] twi, bool inverse)
    {
        int third = _m / 3, vc = Vector<float>.Count;
        float sign = inverse ? -1 : 1;
        const float c = -0.5f;
        float s = sign * 0.866025403784438647f; // sin(2π/3); y1 = v0 + c(v1 + v2) − i·s(v1 − v2) forward
        for (int j0 = 0; j0 < third; j0 += ns)
        for (int k = 0, j = j0; k < ns; k++, j++)
        {
            int t = k * 2;
            float w1r = twr[t], w1i = sign * twi[t], w2r = twr[t + 1], w2i = sign * twi[t + 1];
            int i0 = j * Lanes, stride = third * Lanes;
            int o0 = (j0 * 3 + k) * Lanes, os = ns * Lanes;
            for (int l = 0; l < Lanes; l += vc)
            {
                var v0r = new Vector<float>(xr, i0 + l); var v0i = new Vector<float>(xi, i0 + l);
                var ur = new Vector<float>(xr, i0 + stride + l); var ui = new Vector<float>(xi, i0 + stride + l);
                var v1r = ur * w1r - ui * w1i; var v1i = ur * w1i + ui * w1r;
                ur = new Vector<float>(xr, i0 + 2 * stride + l); ui = new Vector<float>(xi, i0 + 2 * stride + l);
                var v2r = ur * w2r - ui * w2i; var v2i = ur * w2i + ui * w2r;
                var sr = v1r + v2r; var si = v1i + v2i;
                var dr = v1r - v2r; var di = v1i - v2i;
                var mr = v0r + sr * c; var mi = v0i + si * c;
                // −i·s·(dr + i·di) = s·di − i·s·dr
                (v0r + sr).CopyTo(yr, o0 + l); (v0i + si).CopyTo(yi, o0 + l);
                (mr + di * s).CopyTo(yr, o0 + os + l); (mi - dr * s).CopyTo(yi, o0 + os + l);
                (mr - di * s).CopyTo(yr, o0 + 2 * os + l); (mi + dr * s).CopyTo(yi, o0 + 2 * os + l);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void Radix5(float[] xr, float[] xi, float[] yr, float[] yi, int ns, float[] twr, float[] twi, bool inverse)
    {
        int fifth = _m / 5, vc = Vector<float>.Count;
        float sign = inverse ? -1 : 1;
        const float c1 = 0.309016994374947424f, c2 = -0.809016994374947424f; // cos(2π/5), cos(4π/5)
        float s1 = sign * 0.951056516295153572f, s2 = sign * 0.587785252292473129f; // sin(2π/5), sin(4π/5)
        for (int j0 = 0; j0 < fifth; j0 += ns)
        for (int k = 0, j = j0; k < ns; k++, j++)
        {
            int t = k * 4;
            int i0 = j * Lanes, stride = fifth * Lanes;
            int o0 = (j0 * 5 + k) * Lanes, os = ns * Lanes;
            float w1r = twr[t], w1i = sign * twi[t], w2r = twr[t + 1], w2i = sign * twi[t + 1];
            float w3r = twr[t + 2], w3i = sign * twi[t + 2], w4r = twr[t + 3], w4i = sign * twi[t + 3];
            for (int l = 0; l < Lanes; l += vc)
            {
                var v0r = new Vector<float>(xr, i0 + l); var v0i = new Vector<float>(xi, i0 + l);
                var ur = new Vector<float>(xr, i0 + stride + l); var ui = new Vector<float>(xi, i0 + stride + l);
                var v1r = ur * w1r - ui * w1i; var v1i = ur * w1i + ui * w1r;
                ur = new Vector<float>(xr, i0 + 2 * stride + l); ui = new Vector<float>(xi, i0 + 2 * stride + l);
                var v2r = ur * w2r - ui * w2i; var v2i = ur * w2i + ui * w2r;
                ur = new Vector<float>(xr, i0 + 3 * stride + l); ui = new Vector<float>(xi, i0 + 3 * stride + l);
                var v3r = ur * w3r - ui * w3i; var v3i = ur * w3i + ui * w3r;
                ur = new Vector<float>(xr, i0 + 4 * stride + l); ui = new Vector<float>(xi, i0 + 4 * stride + l);
                var v4r = ur * w4r - ui * w4i; var v4i = ur * w4i + ui * w4r;
                var a1r = v1r + v4r; var a1i = v1i + v4i; var b1r = v1r - v4r; var b1i = v1i - v4i;
                var a2r = v2r + v3r; var a2i = v2i + v3i; var b2r = v2r - v3r; var b2i = v2i - v3i;
                var m1r = v0r + a1r * c1 + a2r * c2; var m1i = v0i + a1i * c1 + a2i * c2;
                var m2r = v0r + a1r * c2 + a2r * c1; var m2i = v0i + a1i * c2 + a2i * c1;
                // y1 = m1 − i·(s1·b1 + s2·b2); y2 = m2 − i·(s2·b1 − s1·b2); y3, y4 the conjugate partners.
                var n1r = b1r * s1 + b2r * s2; var n1i = b1i * s1 + b2i * s2;
                var n2r = b1r * s2 - b2r * s1; var n2i = b1i * s2 - b2i * s1;
                (v0r + a1r + a2r).CopyTo(yr, o0 + l); (v0i + a1i + a2i).CopyTo(yi, o0 + l);
                (m1r + n1i).CopyTo(yr, o0 + os + l); (m1i - n1r).CopyTo(yi, o0 + os + l);
                (m2r + n2i).CopyTo(yr, o0 + 2 * os + l); (m2i - n2r).CopyTo(yi, o0 + 2 * os + l);
                (m2r - n2i).CopyTo(yr, o0 + 3 * os + l); (m2i + n2r).CopyTo(yi, o0 + 3 * os + l);
                (m1r - n1i).CopyTo(yr, o0 + 4 * os + l); (m1i + n1r).CopyTo(yi, o0 + 4 * os + l);
            }
        }
    }
}
