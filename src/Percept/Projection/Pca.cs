using System.Numerics.Tensors;
using Percept.Core;
using Percept.Neighbors;

namespace Percept.Projection;

/// <summary>A fitted PCA: the data mean, the principal axes (rows) and the variance along each.</summary>
public sealed class PcaModel(float[] mean, float[] components, double[] explainedVariance, int dimensions)
{
    public float[] Mean { get; } = mean;
    /// <summary><c>Count × Dimensions</c>, row-major: the unit principal axes, strongest first.</summary>
    public float[] Components { get; } = components;
    public double[] ExplainedVariance { get; } = explainedVariance;
    public int Dimensions { get; } = dimensions;
    public int Count => ExplainedVariance.Length;

    /// <summary>Coordinates of <paramref name="data"/> on the principal axes (a matrix in memory, or rows streamed from a run).</summary>
    /// <param name="cancellationToken">Stops the pass (checked per block of rows).</param>
    public Matrix Transform(IRowSource data, int threads = 0, CancellationToken cancellationToken = default)
    {
        if (data.Columns != Dimensions) throw new PerceptException($"PCA was fitted on {Dimensions} columns; the data have {data.Columns}");
        // The same product as the fit's passes over the data: (X − 1μᵀ) Cᵀ, n × Count.
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = threads > 0 ? threads : Environment.ProcessorCount, CancellationToken = cancellationToken };
        return new Matrix(Pca.CentredTimes(data, Mean, Components, Count, parallel), data.Rows, Count);
    }
}

/// <summary>
/// Rows taken a block at a time from a row source: straight from a matrix's array, or copied from a run's field into a
/// buffer the caller keeps (one per thread), so that PCA streams data larger than memory.
/// </summary>
internal static class Blocks
{
    /// <summary>Rows per block.</summary>
    public const int Rows = 256;

    public static int Count(int rows) => (rows + Rows - 1) / Rows;

    public static ReadOnlySpan<float> Read(IRowSource source, int start, int count, float[] buffer)
    {
        if (source is Matrix m) return m.Data.AsSpan(start * m.Columns, count * m.Columns);
        var span = buffer.AsSpan(0, count * source.Columns);
        source.Read(start, count, span);
        return span;
    }
}

/// <summary>
/// Principal component analysis by randomized SVD (Halko, Martinsson and Tropp, 2011): a Gaussian sketch of the
/// centred data, a few power iterations with re-orthonormalisation, and an exact eigen-decomposition of the small
/// projected problem. The data are never copied or centred in memory: the mean is subtracted inside the products.
/// </summary>
public static class Pca
{
    /// <summary>Fits <paramref name="components"/> principal axes.</summary>
    /// <param name="powerIterations">Power iterations (more = more accurate when the spectrum decays slowly).</param>
    /// <param name="oversampling">Extra sketch columns beyond the components.</param>
    /// <param name="cancellationToken">Stops the fit (checked per block of rows in every pass).</param>
    public static PcaModel Fit(IRowSource data, int components, ulong seed = 0, int powerIterations = 4, int oversampling = 10, int threads = 0,
        CancellationToken cancellationToken = default)
    {
        int n = data.Rows, d = data.Columns;
        if (components < 1 || components > Math.Min(n, d)) throw new PerceptException($"PCA to {components} dimensions needs at least that many points and columns ({n} x {d})");
        int l = Math.Min(Math.Min(n, d), components + oversampling);
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = threads > 0 ? threads : Environment.ProcessorCount, CancellationToken = cancellationToken };
        var mean = ColumnMeans(data, parallel);

        // Omega: l × d Gaussian (rows are the sketch directions).
        var omega = new float[l * d];
        var rng = new SplitMix64(seed + 0x9CA);
        for (int i = 0; i < omega.Length; i++) omega[i] = Gaussian(ref rng);
       
        var q = CentredTimes(data, mean, omega, l, parallel);      // n × l, row-major
       
        OrthonormaliseColumns(q, n, l, parallel);
        for (int it = 0; it < powerIterations; it++)
        {
            var z = CentredTransposeTimes(data, mean, q, l, parallel);  // l × d (rows = columns of Xcᵀ Q)
           
            Orthonormalise(z, d, l, rowsAreVectors: true);
            q = CentredTimes(data, mean, z, l, parallel);
            OrthonormaliseColumns(q, n, l, parallel);
        }
        var b = CentredTransposeTimes(data, mean, q, l, parallel);      // l × d: B = Qᵀ Xc
        var bbt = new double[l * l];
        for (int i = 0; i < l; i++)
            for (int j = i; j < l; j++)
                bbt[i * l + j] = bbt[j * l + i] = Dot(b.AsSpan(i * d, d), b.AsSpan(j * d, d));
       
        var values = SymmetricEigen.Decompose(bbt, l, out var u);
        var comps = new float[components * d];
        var variance = new double[components];
        for (int c = 0; c < components; c++)
        {
            double sigma = Math.Sqrt(Math.Max(values[c], 0));
            var axis = new double[d];
            for (int r = 0; r < l; r++)
            {
                double w = u[c * l + r];
                var br = b.AsSpan(r * d, d);
                for (int j = 0; j < d; j++) axis[j] += w * br[j];
            }
            double norm = Math.Sqrt(axis.Sum(v => v * v));
            // Deterministic sign: the largest coordinate is positive.
            int big = 0;
            for (int j = 1; j < d; j++) if (Math.Abs(axis[j]) > Math.Abs(axis[big])) big = j;
            double sign = axis[big] < 0 ? -1 : 1;
            for (int j = 0; j < d; j++) comps[c * d + j] = (float)(sign * axis[j] / Math.Max(norm, 1e-300));
            variance[c] = sigma * sigma / Math.Max(1, n - 1);
        }
       
        return new PcaModel(mean, comps, variance, d);
    }

    /// <summary>Column means: fixed chunks of rows summed in float 256 rows at a time and in double beyond, chunks added in order.</summary>
    static float[] ColumnMeans(IRowSource data, ParallelOptions parallel)
    {
        int n = data.Rows, d = data.Columns;
        int chunks = Math.Max(1, Math.Min(64, n / 1024));
        var partial = new double[chunks][];
        Parallel.For(0, chunks, parallel, ch =>
        {
            var acc = new float[d];
            var sum = new double[d];
            var buffer = new float[Blocks.Rows * d];
            int i0 = (int)((long)n * ch / chunks), i1 = (int)((long)n * (ch + 1) / chunks);
            for (int b0 = i0; b0 < i1; b0 += 256)
            {
                int b1 = Math.Min(i1, b0 + 256);
                var block = Blocks.Read(data, b0, b1 - b0, buffer);
                for (int i = b0; i < b1; i++) TensorPrimitives.Add(acc, block.Slice((i - b0) * d, d), acc);
                for (int j = 0; j < d; j++) sum[j] += acc[j];
                Array.Clear(acc);
            }
            partial[ch] = sum;
        });
        var mean = new float[d];
        for (int j = 0; j < d; j++)
        {
            double s = 0;
            for (int ch = 0; ch < chunks; ch++) s += partial[ch][j];
            mean[j] = (float)(s / n);
        }
        return mean;
    }

    static float Gaussian(ref SplitMix64 rng)
    {
        double u1 = Math.Max(rng.NextDouble(), 1e-300), u2 = rng.NextDouble();
        return (float)(Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
    }

    static double Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += (double)a[i] * b[i];
        return s;
    }

    /// <summary>(X − 1μᵀ) Wᵀ for W given as l rows of length d; returns n × l row-major.</summary>
    internal static float[] CentredTimes(IRowSource x, float[] mean, float[] w, int l, ParallelOptions parallel)
    {
        int n = x.Rows, d = x.Columns;
        var shift = new float[l];
        for (int c = 0; c < l; c++) shift[c] = TensorPrimitives.Dot(mean, w.AsSpan(c * d, d));
        var y = new float[n * l];
        Parallel.For(0, Blocks.Count(n), parallel, () => new float[Blocks.Rows * d], (b, _, buffer) =>
        {
            int i0 = b * Blocks.Rows, rows = Math.Min(Blocks.Rows, n - i0);
            var block = Blocks.Read(x, i0, rows, buffer);
            int i = i0;
            Span<float> dots = stackalloc float[8];
            for (; i + 2 <= i0 + rows; i += 2)
            {
                // Two rows and four components at a time: each component row is read once for two data rows (the same
                // sums, bit for bit, as one row at a time below).
                var row = block.Slice((i - i0) * d, d);
                var next = block.Slice((i + 1 - i0) * d, d);
                int c = 0;
                for (; c + 4 <= l; c += 4)
                {
                    Kernels.Dot2x4(row, next, w.AsSpan(c * d, d), w.AsSpan((c + 1) * d, d), w.AsSpan((c + 2) * d, d), w.AsSpan((c + 3) * d, d), dots);
                    for (int t = 0; t < 4; t++) { y[i * l + c + t] = dots[t] - shift[c + t]; y[(i + 1) * l + c + t] = dots[4 + t] - shift[c + t]; }
                }
                for (; c < l; c++)
                {
                    y[i * l + c] = TensorPrimitives.Dot(row, w.AsSpan(c * d, d)) - shift[c];
                    y[(i + 1) * l + c] = TensorPrimitives.Dot(next, w.AsSpan(c * d, d)) - shift[c];
                }
            }
            for (; i < i0 + rows; i++)
            {
                var row = block.Slice((i - i0) * d, d);
                int c = 0;
                // Four components at a time: the row is read once for four dot products.
                for (; c + 4 <= l; c += 4)
                {
                    Kernels.Dot4(row, w.AsSpan(c * d, d), w.AsSpan((c + 1) * d, d), w.AsSpan((c + 2) * d, d), w.AsSpan((c + 3) * d, d),
                        out float d0, out float d1, out float d2, out float d3);
                    y[i * l + c] = d0 - shift[c]; y[i * l + c + 1] = d1 - shift[c + 1]; y[i * l + c + 2] = d2 - shift[c + 2]; y[i * l + c + 3] = d3 - shift[c + 3];
                }
                for (; c < l; c++) y[i * l + c] = TensorPrimitives.Dot(row, w.AsSpan(c * d, d)) - shift[c];
            }
            return buffer;
        }, _ => { });
        return y;
    }

    /// <summary>(X − 1μᵀ)ᵀ Y for Y n × l row-major; returns l × d row-major (each row one column of the product).</summary>
    static float[] CentredTransposeTimes(IRowSource x, float[] mean, float[] y, int l, ParallelOptions parallel)
    {
        int n = x.Rows, d = x.Columns;
        // Fixed chunks summed in chunk order: the result does not depend on the number of threads.
        int chunks = Math.Max(1, Math.Min(16, n / 512));
        var partial = new float[chunks][];
        Parallel.For(0, chunks, parallel, ch =>
        {
            var acc = new float[l * d];
            var colSum = new double[l];
            var buffer = new float[Blocks.Rows * d];
            int first = (int)((long)n * ch / chunks), last = (int)((long)n * (ch + 1) / chunks);
            for (int b0 = first; b0 < last; b0 += Blocks.Rows)
            {
                int i0 = b0, i1 = Math.Min(last, b0 + Blocks.Rows), i = i0;
                var block = Blocks.Read(x, i0, i1 - i0, buffer);
                // Four rows at a time: each accumulator row is read and written once for four data rows.
                for (; i + 4 <= i1; i += 4)
                {
                    var r0 = block.Slice((i - i0) * d, d); var r1 = block.Slice((i + 1 - i0) * d, d);
                    var r2 = block.Slice((i + 2 - i0) * d, d); var r3 = block.Slice((i + 3 - i0) * d, d);
                    int c = 0;
                    // Two accumulator rows at a time: each data row is read once for both.
                    for (; c + 2 <= l; c += 2)
                    {
                        float y0 = y[i * l + c], y1 = y[(i + 1) * l + c], y2 = y[(i + 2) * l + c], y3 = y[(i + 3) * l + c];
                        float z0 = y[i * l + c + 1], z1 = y[(i + 1) * l + c + 1], z2 = y[(i + 2) * l + c + 1], z3 = y[(i + 3) * l + c + 1];
                        colSum[c] += (double)y0 + y1 + y2 + y3;
                        colSum[c + 1] += (double)z0 + z1 + z2 + z3;
                        Kernels.MultiplyAdd2x4(acc.AsSpan(c * d, d), acc.AsSpan((c + 1) * d, d), y0, y1, y2, y3, z0, z1, z2, z3, r0, r1, r2, r3);
                    }
                    for (; c < l; c++)
                    {
                        float y0 = y[i * l + c], y1 = y[(i + 1) * l + c], y2 = y[(i + 2) * l + c], y3 = y[(i + 3) * l + c];
                        colSum[c] += (double)y0 + y1 + y2 + y3;
                        Kernels.MultiplyAdd4(acc.AsSpan(c * d, d), y0, r0, y1, r1, y2, r2, y3, r3);
                    }
                }
                for (; i < i1; i++)
                {
                    var row = block.Slice((i - i0) * d, d);
                    for (int c = 0; c < l; c++)
                    {
                        float yc = y[i * l + c];
                        colSum[c] += yc;
                        TensorPrimitives.MultiplyAdd(row, yc, acc.AsSpan(c * d, d), acc.AsSpan(c * d, d));
                    }
                }
            }
            for (int c = 0; c < l; c++) TensorPrimitives.MultiplyAdd(mean, (float)-colSum[c], acc.AsSpan(c * d, d), acc.AsSpan(c * d, d));
            partial[ch] = acc;
        });
        var result = partial[0];
        for (int ch = 1; ch < chunks; ch++) TensorPrimitives.Add(result, partial[ch], result);
        return result;
    }

    /// <summary>
    /// Orthonormalises the <paramref name="l"/> columns of the tall <paramref name="m"/> × l row-major array by Cholesky
    /// QR, twice (CholeskyQR2, Fukaya et al., 2014): the l × l Gram matrix, its Cholesky factor R, then every row times
    /// R⁻¹; the second pass removes what the first left of the Gram matrix's rounding. Each pass reads the array twice,
    /// where Gram–Schmidt reads it l times (on 70,000 × 60 this took the fit from 2.9 s to 1.5 s). Columns that are
    /// (nearly) dependent make the Gram matrix singular; then Gram–Schmidt, which drops them, does the work instead.
    /// </summary>
    static void OrthonormaliseColumns(float[] a, int m, int l, ParallelOptions parallel)
    {
        // A refused pass leaves the array as it was (the first pass's result, when the second refuses: the same span).
        for (int pass = 0; pass < 2; pass++)
            if (!CholeskyQrPass(a, m, l, parallel))
            {
                Orthonormalise(a, m, l);
                return;
            }
    }

    /// <summary>One Cholesky QR pass in place; false, before anything is changed, when the Gram matrix is not safely positive definite.</summary>
    static bool CholeskyQrPass(float[] a, int m, int l, ParallelOptions parallel)
    {
        // The Gram matrix in fixed chunks of rows, each summed in float over 256 rows at a time and in double beyond,
        // the chunks added in order: the same result whatever the number of threads.
        int chunks = Math.Max(1, Math.Min(64, m / 1024));
        var partial = new double[chunks][];
        Parallel.For(0, chunks, parallel, ch =>
        {
            var acc = new float[l * l];
            var sum = new double[l * l];
            int i0 = (int)((long)m * ch / chunks), i1 = (int)((long)m * (ch + 1) / chunks);
            for (int b0 = i0; b0 < i1; b0 += 256)
            {
                int b1 = Math.Min(i1, b0 + 256), i = b0;
                for (; i + 4 <= b1; i += 4)
                {
                    var r0 = a.AsSpan(i * l, l); var r1 = a.AsSpan((i + 1) * l, l); var r2 = a.AsSpan((i + 2) * l, l); var r3 = a.AsSpan((i + 3) * l, l);
                    int c = 0;
                    for (; c + 2 <= l; c += 2)
                        Kernels.MultiplyAdd2x4(acc.AsSpan(c * l, l), acc.AsSpan((c + 1) * l, l), r0[c], r1[c], r2[c], r3[c],
                            r0[c + 1], r1[c + 1], r2[c + 1], r3[c + 1], r0, r1, r2, r3);
                    for (; c < l; c++) Kernels.MultiplyAdd4(acc.AsSpan(c * l, l), r0[c], r0, r1[c], r1, r2[c], r2, r3[c], r3);
                }
                for (; i < b1; i++)
                {
                    var r = a.AsSpan(i * l, l);
                    for (int c = 0; c < l; c++) TensorPrimitives.MultiplyAdd(r, r[c], acc.AsSpan(c * l, l), acc.AsSpan(c * l, l));
                }
                for (int t = 0; t < acc.Length; t++) sum[t] += acc[t];
                Array.Clear(acc);
            }
            partial[ch] = sum;
        });
        var g = partial[0];
        for (int ch = 1; ch < chunks; ch++) for (int t = 0; t < g.Length; t++) g[t] += partial[ch][t];

        // G = RᵀR with R upper triangular, stored in g's upper triangle; a pivot that rounding could have made is refused.
        double largest = 0;
        for (int c = 0; c < l; c++) largest = Math.Max(largest, g[c * l + c]);
        for (int c = 0; c < l; c++)
        {
            double pivot = g[c * l + c];
            for (int p = 0; p < c; p++) pivot -= g[p * l + c] * g[p * l + c];
            if (!(pivot > 1e-10 * largest)) return false;
            double r = Math.Sqrt(pivot);
            g[c * l + c] = r;
            for (int j = c + 1; j < l; j++)
            {
                double v = g[c * l + j];
                for (int p = 0; p < c; p++) v -= g[p * l + c] * g[p * l + j];
                g[c * l + j] = v / r;
            }
        }
        // R⁻¹, upper triangular, by back substitution column by column.
        var inv = new double[l * l];
        for (int j = 0; j < l; j++)
        {
            inv[j * l + j] = 1 / g[j * l + j];
            for (int i = j - 1; i >= 0; i--)
            {
                double v = 0;
                for (int p = i + 1; p <= j; p++) v += g[i * l + p] * inv[p * l + j];
                inv[i * l + j] = -v / g[i * l + i];
            }
        }
        var rinv = new float[l * l];
        for (int t = 0; t < rinv.Length; t++) rinv[t] = (float)inv[t];
        // Every row times R⁻¹: row'[j] = Σ_{c ≤ j} row[c]·R⁻¹[c, j].
        // (R⁻¹ is stored whole, zeros below the diagonal, so four of its rows go in one pass over the output row.)
        Parallel.For(0, (m + 255) / 256, parallel, () => new float[l], (b, _, scratch) =>
        {
            var r = rinv.AsSpan();
            for (int i = b * 256, end = Math.Min(m, i + 256); i < end; i++)
            {
                var row = a.AsSpan(i * l, l);
                scratch.AsSpan().Clear();
                int c = 0;
                for (; c + 4 <= l; c += 4)
                    Kernels.MultiplyAdd4(scratch, row[c], r.Slice(c * l, l), row[c + 1], r.Slice((c + 1) * l, l),
                        row[c + 2], r.Slice((c + 2) * l, l), row[c + 3], r.Slice((c + 3) * l, l));
                for (; c < l; c++) TensorPrimitives.MultiplyAdd(r.Slice(c * l, l), row[c], scratch, scratch);
                scratch.CopyTo(row);
            }
            return scratch;
        }, _ => { });
        return true;
    }

    /// <summary>Modified Gram–Schmidt, twice for stability, on l vectors of length m (columns of an m × l row-major array, or rows).</summary>
    static void Orthonormalise(float[] a, int m, int l, bool rowsAreVectors = false)
    {
        var v = new double[l][];
        for (int c = 0; c < l; c++)
        {
            v[c] = new double[m];
            for (int i = 0; i < m; i++) v[c][i] = rowsAreVectors ? a[c * m + i] : a[i * l + c];
        }
        for (int pass = 0; pass < 2; pass++)
            for (int c = 0; c < l; c++)
            {
                for (int p = 0; p < c; p++)
                {
                    double dot = TensorPrimitives.Dot<double>(v[c], v[p]);
                    TensorPrimitives.MultiplyAdd(v[p], -dot, v[c], v[c]);
                }
                double norm = Math.Sqrt(TensorPrimitives.Dot<double>(v[c], v[c]));
                if (norm < 1e-300) { v[c] = new double[m]; continue; }
                TensorPrimitives.Multiply(v[c], 1 / norm, v[c]);
            }
        for (int c = 0; c < l; c++)
            for (int i = 0; i < m; i++)
                if (rowsAreVectors) a[c * m + i] = (float)v[c][i]; else a[i * l + c] = (float)v[c][i];
    }
}
