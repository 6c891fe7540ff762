using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Percept.Neighbors;

namespace Percept.Projection;

/// <summary>How t-SNE computes its repulsive forces.</summary>
public enum TSneGradient
{
    /// <summary>Interpolation from 10,000 points on, Barnes–Hut below (as openTSNE).</summary>
    Auto,
    /// <summary>Polynomial interpolation on a grid with FFT convolution (FIt-SNE): O(N) a step.</summary>
    Interpolation,
    /// <summary>Barnes–Hut quadtree: O(N log N) a step.</summary>
    BarnesHut,
}

/// <summary>Options of <see cref="TSne"/>; defaults follow openTSNE 1.0.</summary>
public sealed record TSneOptions
{
    public float Perplexity { get; init; } = 30;
    public TSneGradient Gradient { get; init; } = TSneGradient.Auto;
    /// <summary>Barnes–Hut accuracy: a cell is summarised when its width is below θ × its distance.</summary>
    public float Theta { get; init; } = 0.5f;
    /// <summary>Interpolation: fewest boxes per axis of the grid (openTSNE: 50).</summary>
    public int MinBoxes { get; init; } = 50;
    /// <summary>Interpolation: boxes per unit of layout width (openTSNE: 1).</summary>
    public float BoxesPerUnit { get; init; } = 1f;
    public int EarlyExaggerationIterations { get; init; } = 250;
    public float EarlyExaggeration { get; init; } = 12;
    /// <summary>Iterations after the early exaggeration phase.</summary>
    public int Iterations { get; init; } = 500;
    /// <summary>Learning rate (0 = N / exaggeration in each phase, as Belkina et al. recommend and openTSNE does).</summary>
    public float LearningRate { get; init; }
    /// <summary>Momentum, in both phases (openTSNE: 0.8).</summary>
    public float Momentum { get; init; } = 0.8f;
    /// <summary>Longest step a point may take in one iteration (openTSNE: 5).</summary>
    public float MaxStep { get; init; } = 5;
    /// <summary>Inputs wider than this are first reduced by PCA to this many dimensions (0 = never).</summary>
    public int PcaDimensions { get; init; } = 50;
    public Metric Metric { get; init; } = Metric.Euclidean;
    /// <summary>Start from this layout instead of the scaled PCA layout.</summary>
    public Matrix? Initial { get; init; }
    /// <summary>
    /// The k-NN graph of the data, already built (a run's graph), with at least 3·perplexity neighbours; the data are then
    /// taken as the space it was measured in (no PCA). Null: built here.
    /// </summary>
    public KnnGraph? Neighbors { get; init; }
    public ulong Seed { get; init; }
    public int Threads { get; init; }
}

/// <summary>A t-SNE map and its final KL divergence.</summary>
/// <param name="Embedding">N × 2 coordinates.</param>
/// <param name="KlDivergence">KL(P ‖ Q): exact over the sparse P, with Z estimated by the same method as the gradient (as openTSNE reports it).</param>
public sealed record TSneResult(Matrix Embedding, double KlDivergence);

/// <summary>
/// t-SNE (van der Maaten and Hinton, 2008) in two dimensions: perplexity-calibrated affinities on the 3·perplexity
/// nearest neighbours (NN-descent), symmetrised; PCA initialisation scaled to a standard deviation of 1e-4; early
/// exaggeration; gradient descent with momentum and adaptive gains, steps clipped, learning rate N / exaggeration in
/// each phase, as openTSNE. Attraction is summed over the sparse P; repulsion by interpolation on a grid with FFT
/// convolution (<see cref="TSneInterpolation"/>) or by Barnes–Hut (<see cref="QuadTree"/>). Every sum is taken in a
/// fixed order, so the result does not depend on the number of threads.
/// </summary>
public static class TSne
{
    const int Dims = 2;

    /// <param name="cancellationToken">Checked between iterations.</param>
    public static Matrix Fit(Matrix data, TSneOptions? options = null, CancellationToken cancellationToken = default) =>
        Run(data, options, cancellationToken).Embedding;

    /// <summary>Fits a map and reports its KL divergence.</summary>
    /// <param name="cancellationToken">Checked between iterations.</param>
    public static TSneResult Run(Matrix data, TSneOptions? options = null, CancellationToken cancellationToken = default)
    {
        var o = options ?? new TSneOptions();
        int n = data.Rows;
        if (!(o.Perplexity > 0)) throw new PerceptException($"the perplexity must be positive (got {o.Perplexity})");
        if (o.Iterations < 0 || o.EarlyExaggerationIterations < 0) throw new PerceptException("t-SNE needs a non-negative number of iterations");
        int k = Math.Min(n - 1, (int)Math.Ceiling(3 * o.Perplexity));
        if (n < 4 || o.Perplexity >= n - 1) throw new PerceptException($"t-SNE with perplexity {o.Perplexity} needs more than {o.Perplexity + 1} points; there are {n}");
        if (o.Initial != null && (o.Initial.Rows != n || o.Initial.Columns != Dims)) throw new PerceptException($"the initial layout must be {n} x 2");
        int threads = o.Threads > 0 ? o.Threads : Environment.ProcessorCount;
        var x = data;
        KnnGraph knn;
        if (o.Neighbors is { } given)
        {
            if (given.Count != n || given.K < k) throw new PerceptException($"the given neighbour graph has {given.Count} points of {given.K} neighbours; t-SNE needs {n} of at least {k}");
            knn = given.First(k);
        }
        else
        {
            if (o.PcaDimensions > 0 && data.Columns > o.PcaDimensions && n > o.PcaDimensions)
                x = Pca.Fit(data, o.PcaDimensions, o.Seed, threads: o.Threads, cancellationToken: cancellationToken).Transform(data, o.Threads, cancellationToken);
            knn = NeighborGraph.Build(x, k, o.Metric, seed: o.Seed, threads: o.Threads, cancellationToken: cancellationToken);
        }
        var p = Affinities(knn, o.Perplexity);

        float[] y;
        if (o.Initial != null) y = (float[])o.Initial.Data.Clone();
        else
        {
            var init = Pca.Fit(x, Dims, o.Seed, threads: o.Threads, cancellationToken: cancellationToken).Transform(x, o.Threads, cancellationToken);
            double mean = init.Data.Where((_, i) => i % 2 == 0).Average();
            double std = Math.Sqrt(init.Data.Where((_, i) => i % 2 == 0).Average(v => (v - mean) * (v - mean)));
            y = init.Data.Select(v => (float)(v / Math.Max(std, 1e-12) * 1e-4)).ToArray();
        }
        bool interpolate = o.Gradient == TSneGradient.Interpolation || (o.Gradient == TSneGradient.Auto && n >= 10000);
        var grid = interpolate ? new TSneInterpolation(o.MinBoxes, o.BoxesPerUnit) : null;
        var tree = interpolate ? null : new QuadTree(n);
        var update = new float[n * Dims];
        var gains = new float[n * Dims];
        Array.Fill(gains, 1f);
        var grad = new float[n * Dims];
        var rep = new float[n * Dims];
        double Repulsion() => grid != null ? grid.Repulsion(y, rep, threads) : tree!.Repulsion(y, rep, o.Theta, threads);

        int total = o.EarlyExaggerationIterations + o.Iterations;
        for (int it = 0; it < total; it++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            float exaggeration = it < o.EarlyExaggerationIterations ? o.EarlyExaggeration : 1f;
            float lr = o.LearningRate > 0 ? o.LearningRate : n / exaggeration;
            double z = Repulsion();
            Attraction(y, p, exaggeration, grad, threads);
            float invZ = (float)(1 / Math.Max(z, 1e-300));
            Step(y, grad, rep, invZ, update, gains, lr, o.Momentum, o.MaxStep, threads);
        }
        double kl = KlDivergence(y, p, Repulsion(), threads);
        return new TSneResult(new Matrix(y, n, Dims), kl);
    }

    /// <summary>The kernels of the attractive sum: one edge at a time, or eight on vector lanes with the points gathered or loaded.</summary>
    internal enum AttractionKernel { Scalar, Gathered, Loaded }

    static AttractionKernel BestAttraction => !Avx2.IsSupported ? AttractionKernel.Scalar : Cpu.SlowGathers ? AttractionKernel.Loaded : AttractionKernel.Gathered;

    /// <summary>Σⱼ exaggeration · pᵢⱼ qᵢⱼ (yᵢ − yⱼ) over the sparse P (the attractive half of the gradient, without its factor 4).</summary>
    internal static void Attraction(float[] y, Umap.SparseGraph p, float exaggeration, float[] grad, int threads, AttractionKernel? kernel = null)
    {
        int n = p.Rows;
        const int chunk = 1024;
        var use = kernel ?? BestAttraction;
        Parallel.For(0, (n + chunk - 1) / chunk, new ParallelOptions { MaxDegreeOfParallelism = threads }, c =>
        {
            int i0 = c * chunk, i1 = Math.Min(n, (c + 1) * chunk);
            if (use == AttractionKernel.Gathered) AttractRows<GatheredPointPairs>(y, p, exaggeration, grad, i0, i1);
            else if (use == AttractionKernel.Loaded) AttractRows<LoadedPointPairs>(y, p, exaggeration, grad, i0, i1);
            else AttractRowsScalar(y, p, exaggeration, grad, i0, i1);
        });
    }

    static void AttractRowsScalar(float[] y, Umap.SparseGraph p, float exaggeration, float[] grad, int i0, int i1)
    {
        var start = p.RowStart; var cols = p.Columns; var w = p.Weights;
        for (int i = i0; i < i1; i++)
        {
            float yx = y[2 * i], yy = y[2 * i + 1], ax = 0, ay = 0;
            for (int e = start[i], end = start[i + 1]; e < end; e++)
            {
                int j = cols[e];
                float dx = yx - y[2 * j], dy = yy - y[2 * j + 1];
                float f = w[e] / (1f + dx * dx + dy * dy);
                ax += f * dx; ay += f * dy;
            }
            grad[2 * i] = exaggeration * ax; grad[2 * i + 1] = exaggeration * ay;
        }
    }

    /// <summary>
    /// The attractive sum eight edges at a time: the neighbours' (x, y) fetched as 64-bit pairs (lanes in the order
    /// 0 1 4 5 2 3 6 7, the weights permuted to match), then the row's last few edges one at a time. The sum is taken
    /// in a fixed order (eight partial sums, then the tail), whatever the threads.
    /// </summary>
    static unsafe void AttractRows<TPairs>(float[] y, Umap.SparseGraph p, float exaggeration, float[] grad, int i0, int i1) where TPairs : struct, IPointPairs
    {
        var start = p.RowStart;
        var order = Vector256.Create(0, 1, 4, 5, 2, 3, 6, 7);
        var one = Vector256<float>.One;
        fixed (float* points = y)
        fixed (int* cols = p.Columns)
        fixed (float* w = p.Weights)
        {
            for (int i = i0; i < i1; i++)
            {
                float yx = points[2 * i], yy = points[2 * i + 1];
                var hx = Vector256.Create(yx); var hy = Vector256.Create(yy);
                var ax = Vector256<float>.Zero; var ay = Vector256<float>.Zero;
                int e = start[i], end = start[i + 1];
                for (; e + 8 <= end; e += 8)
                {
                    var index = Vector256.Load(cols + e);
                    var lo = TPairs.Fetch(points, index.GetLower());
                    var hi = TPairs.Fetch(points, index.GetUpper());
                    var dx = hx - Avx.Shuffle(lo, hi, 0b10_00_10_00);
                    var dy = hy - Avx.Shuffle(lo, hi, 0b11_01_11_01);
                    var f = Avx2.PermuteVar8x32(Vector256.Load(w + e), order) / (one + dx * dx + dy * dy);
                    ax += f * dx; ay += f * dy;
                }
                float sx = Vector256.Sum(ax), sy = Vector256.Sum(ay);
                for (; e < end; e++)
                {
                    int j = cols[e];
                    float dx = yx - points[2 * j], dy = yy - points[2 * j + 1];
                    float f = w[e] / (1f + dx * dx + dy * dy);
                    sx += f * dx; sy += f * dy;
                }
                grad[2 * i] = exaggeration * sx; grad[2 * i + 1] = exaggeration * sy;
            }
        }
    }

    /// <summary>
    /// One step of gradient descent with momentum and gains (gain + 0.2 while the direction holds, × 0.8 + 0.01 when it
    /// flips), each point's step clipped to <paramref name="maxStep"/>, then the layout re-centred.
    /// </summary>
    static void Step(float[] y, float[] attraction, float[] repulsion, float invZ, float[] update, float[] gains, float lr, float momentum, float maxStep, int threads)
    {
        int n = y.Length / Dims;
        const int chunk = 4096;
        int chunks = (n + chunk - 1) / chunk;
        var sums = new double[2 * chunks];
        Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = threads }, c =>
        {
            int i1 = Math.Min(n, (c + 1) * chunk);
            double sx = 0, sy = 0;
            for (int i = c * chunk; i < i1; i++)
            {
                for (int d = 2 * i; d < 2 * i + 2; d++)
                {
                    float g = attraction[d] - repulsion[d] * invZ;
                    bool flipped = (g > 0) != (update[d] > 0);
                    gains[d] = flipped ? gains[d] + 0.2f : gains[d] * 0.8f + 0.01f;
                    update[d] = momentum * update[d] - lr * gains[d] * g;
                }
                float ux = update[2 * i], uy = update[2 * i + 1], norm2 = ux * ux + uy * uy;
                if (maxStep > 0 && norm2 > maxStep * maxStep)
                {
                    float s = maxStep / MathF.Sqrt(norm2);
                    update[2 * i] = ux * s; update[2 * i + 1] = uy * s;
                }
                y[2 * i] += update[2 * i]; y[2 * i + 1] += update[2 * i + 1];
                sx += y[2 * i]; sy += y[2 * i + 1];
            }
            sums[2 * c] = sx; sums[2 * c + 1] = sy;
        });
        double cx = 0, cy = 0;
        for (int c = 0; c < chunks; c++) { cx += sums[2 * c]; cy += sums[2 * c + 1]; }
        float mx = (float)(cx / n), my = (float)(cy / n);
        for (int i = 0; i < n; i++) { y[2 * i] -= mx; y[2 * i + 1] -= my; }
    }

    /// <summary>KL(P ‖ Q) = Σ pᵢⱼ log(pᵢⱼ / wᵢⱼ) + log Z over the sparse P, with wᵢⱼ = 1 / (1 + d²) and Z given.</summary>
    internal static double KlDivergence(float[] y, Umap.SparseGraph p, double z, int threads)
    {
        int n = p.Rows;
        const int chunk = 1024;
        int chunks = (n + chunk - 1) / chunk;
        var parts = new double[2 * chunks];
        Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = threads }, c =>
        {
            double kl = 0, sumP = 0;
            int i1 = Math.Min(n, (c + 1) * chunk);
            for (int i = c * chunk; i < i1; i++)
                for (int e = p.RowStart[i]; e < p.RowStart[i + 1]; e++)
                {
                    double pij = p.Weights[e];
                    if (pij <= 0) continue;
                    int j = p.Columns[e];
                    double dx = y[2 * i] - y[2 * j], dy = y[2 * i + 1] - y[2 * j + 1];
                    kl += pij * Math.Log(pij * (1 + dx * dx + dy * dy));
                    sumP += pij;
                }
            parts[2 * c] = kl; parts[2 * c + 1] = sumP;
        });
        double klSum = 0, pSum = 0;
        for (int c = 0; c < chunks; c++) { klSum += parts[2 * c]; pSum += parts[2 * c + 1]; }
        return klSum + pSum * Math.Log(Math.Max(z, 1e-300));
    }

    /// <summary>Conditional affinities with σ per point found by bisection on the entropy (log perplexity), symmetrised and normalised to sum 1.</summary>
    internal static Umap.SparseGraph Affinities(KnnGraph knn, float perplexity) =>
        SparseSymmetric.FromKnn(knn, Conditional(knn, perplexity), (f, b) => (f + b) / (2f * knn.Count));

    /// <summary>p(j | i) over each point's k neighbours, Gaussian with the precision that gives the requested perplexity.</summary>
    internal static float[] Conditional(KnnGraph knn, float perplexity)
    {
        int n = knn.Count, k = knn.K;
        var w = new float[n * k];
        double target = Math.Log(perplexity);
        Parallel.For(0, n, i =>
        {
            var d = knn.DistancesOf(i);
            double beta = 1, lo = 0, hi = double.PositiveInfinity;
            double d0 = d[0] * d[0];
            Span<double> pr = stackalloc double[k];
            for (int iter = 0; iter < 200; iter++)
            {
                double sum = 0, weighted = 0;
                for (int t = 0; t < k; t++) { double dd = d[t] * d[t] - d0; pr[t] = Math.Exp(-beta * dd); sum += pr[t]; weighted += dd * pr[t]; }
                double entropy = Math.Log(sum) + beta * weighted / sum;
                if (Math.Abs(entropy - target) < 1e-5) break;
                if (entropy > target) { lo = beta; beta = double.IsPositiveInfinity(hi) ? beta * 2 : (lo + hi) / 2; }
                else { hi = beta; beta = (lo + hi) / 2; }
            }
            double s = 0;
            for (int t = 0; t < k; t++) s += pr[t];
            for (int t = 0; t < k; t++) w[i * k + t] = (float)(pr[t] / s);
        });
        return w;
    }
}
