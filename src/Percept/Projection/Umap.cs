using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Percept.Core;
using Percept.Neighbors;

namespace Percept.Projection;


/// <summary>
/// UMAP (McInnes, Healy and Melville, 2018): a fuzzy simplicial set built from the k-NN graph (smooth k-NN distances,
/// fuzzy union of the directed graph and its transpose), then a layout optimised by stochastic gradient descent with
/// negative sampling on the cross-entropy between the graph and the map's membership curve 1 / (1 + a d^2b), whose a and
/// b are fitted to <c>min_dist</c> and <c>spread</c>. The k-NN graph comes from NN-descent, wide inputs are first reduced
/// by PCA, and the layout starts from PCA coordinates (or a given layout, for aligned maps across checkpoints).
/// </summary>
public static partial class Umap
{
    internal static int DefaultEpochs(int n) => n <= 10000 ? 500 : 200;

    /// <summary>Fits a map of <paramref name="data"/>, building its k-NN graph.</summary>
    /// <param name="cancellationToken">Checked between epochs.</param>
    public static UmapModel Fit(Matrix data, UmapOptions? options = null, CancellationToken cancellationToken = default) =>
        Fit(data, null, options, cancellationToken);

    /// <summary>Fits a map of <paramref name="data"/>.</summary>
    /// <param name="neighbors">
    /// The k-NN graph of <paramref name="data"/>, already built (as umap-learn's <c>precomputed_knn</c>; a run's graph): its
    /// first <see cref="UmapOptions.Neighbors"/> − 1 neighbours are used, and the data are then taken as the space the graph
    /// was measured in (no PCA). Null: the graph is built here, of the data reduced by PCA when wide.
    /// </param>
    /// <param name="cancellationToken">Checked between epochs.</param>
    public static UmapModel Fit(Matrix data, KnnGraph? neighbors, UmapOptions? options = null, CancellationToken cancellationToken = default)
    {
        var o = options ?? new UmapOptions();
        int n = data.Rows;
        if (o.Neighbors < 2) throw new PerceptException("UMAP needs at least 2 neighbours");
        if (n < o.Neighbors + 1) throw new PerceptException($"UMAP with {o.Neighbors} neighbours needs at least {o.Neighbors + 1} points; there are {n}");
        if (o.Dimensions < 1) throw new PerceptException("a map needs at least one dimension");
        if (o.Initial != null && (o.Initial.Rows != n || o.Initial.Columns != o.Dimensions))
            throw new PerceptException($"the initial layout is {o.Initial.Rows} x {o.Initial.Columns}; {n} x {o.Dimensions} expected");
        PcaModel? pca = null;
        var x = data;
        KnnIndex index;
        if (neighbors != null)
        {
            if (neighbors.Count != n || neighbors.K < o.Neighbors - 1)
                throw new PerceptException($"the given neighbour graph has {neighbors.Count} points of {neighbors.K} neighbours; UMAP needs {n} of at least {o.Neighbors - 1}");
            index = KnnIndex.FromGraph(x, o.Metric, neighbors.First(o.Neighbors - 1), o.Seed);
        }
        else
        {
            if (o.PcaDimensions > 0 && data.Columns > o.PcaDimensions && n > o.PcaDimensions)
            {
                pca = Pca.Fit(data, o.PcaDimensions, o.Seed, threads: o.Threads, cancellationToken: cancellationToken);
                x = pca.Transform(data, o.Threads, cancellationToken);
            }
            index = KnnIndex.Build(x, o.Neighbors - 1, o.Metric, new NNDescentOptions { Seed = o.Seed, Threads = o.Threads });
        }
        ReturnTemporaries(n);
        var graph = FuzzyGraph(index.Graph, o.Neighbors, symmetrise: true);
        ReturnTemporaries(n);
        var (a, b) = FitAB(o.Spread, o.MinDist);
        var y = o.Initial != null ? new Matrix((float[])o.Initial.Data.Clone(), n, o.Dimensions) : InitialLayout(x, o);
        // A layout to start from (the previous checkpoint's map) is refined, not built: a quarter of the epochs, at half
        // the learning rate, so that what has not changed stays where it was (bench/README.md, "Epochs").
        if (o.Initial != null && o.Epochs == 0)
            Optimise(y, y, graph, Math.Max(50, DefaultEpochs(n) / 4), a, b, o with { LearningRate = o.LearningRate / 2 }, moveOther: true, cancellationToken);
        else Optimise(y, y, graph, o.Epochs > 0 ? o.Epochs : DefaultEpochs(n), a, b, o, moveOther: true, cancellationToken);
        return new UmapModel(y, index, pca, o, a, b);
    }

    /// <summary>
    /// On large inputs, a full collection that hands freed pages back to the system between stages. At a million
    /// points the temporaries of NN-descent (a reordered copy of the data, the candidate lists) and of the fuzzy graph
    /// come to over a gigabyte; the collector otherwise keeps their pages until it next needs them, and the peak
    /// resident memory of `bench maps --synthetic 1000000x64` varied from 2.8 to 3.2 GB with its timing (2.0 GB with these
    /// collections). The
    /// collection costs a fraction of a second there; below 200,000 points it is skipped.
    /// </summary>
    static void ReturnTemporaries(int n)
    {
        if (n >= 200_000) GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
    }

    /// <summary>A sparse weighted graph in CSR form.</summary>
    internal sealed record SparseGraph(int[] RowStart, int[] Columns, float[] Weights, int Rows);

    /// <summary>
    /// Membership strengths exp(−(d − ρ) / σ) per directed k-NN edge, with ρ the distance to the nearest neighbour and σ
    /// chosen by bisection so the strengths sum to log2(k); then (when symmetrising) the fuzzy union A + Aᵀ − A∘Aᵀ.
    /// </summary>
    internal static SparseGraph FuzzyGraph(KnnGraph knn, int neighbors, bool symmetrise)
    {
        int n = knn.Count, k = knn.K;
        double target = Math.Log2(neighbors);
        double meanAll = 0;
        for (int i = 0; i < knn.Distances.Length; i++) meanAll += knn.Distances[i];
        meanAll /= Math.Max(1, knn.Distances.Length);
        var weights = new float[n * k];
        Parallel.For(0, n, i =>
        {
            var d = knn.DistancesOf(i);
            double rho = 0;
            for (int t = 0; t < k; t++) if (d[t] > 0) { rho = d[t]; break; }
            double lo = 0, hi = double.PositiveInfinity, mid = 1;
            for (int it = 0; it < 64; it++)
            {
                double s = 0;
                for (int t = 0; t < k; t++) { double r = d[t] - rho; s += r > 0 ? Math.Exp(-r / mid) : 1; }
                if (Math.Abs(s - target) < 1e-5) break;
                if (s > target) { hi = mid; mid = (lo + hi) / 2; }
                else { lo = mid; mid = double.IsPositiveInfinity(hi) ? mid * 2 : (lo + hi) / 2; }
            }
            double meanI = 0;
            for (int t = 0; t < k; t++) meanI += d[t];
            meanI /= k;
            double minSigma = 1e-3 * (rho > 0 ? meanI : meanAll);
            double sigma = Math.Max(mid, minSigma);
            for (int t = 0; t < k; t++)
            {
                double r = d[t] - rho;
                weights[i * k + t] = r <= 0 ? 1f : (float)Math.Exp(-r / sigma);
            }
        });
        if (!symmetrise)
        {
            var start = new int[n + 1];
            for (int i = 0; i <= n; i++) start[i] = i * k;
            return new SparseGraph(start, (int[])knn.Indices.Clone(), weights, n);
        }
        return SparseSymmetric.FromKnn(knn, weights, (f, b) => f + b - f * b);
    }

    /// <summary>Least-squares fit of 1 / (1 + a x^2b) to the curve that is 1 up to min_dist and decays as exp(−(x − min_dist)/spread) after.</summary>
    public static (float A, float B) FitAB(float spread, float minDist)
    {
        if (!(spread > 0) || minDist < 0 || minDist > spread) throw new PerceptException("UMAP needs spread > 0 and 0 <= min_dist <= spread");
        const int m = 300;
        var xs = new double[m]; var ys = new double[m];
        for (int i = 0; i < m; i++)
        {
            xs[i] = 3.0 * spread * i / (m - 1);
            ys[i] = xs[i] < minDist ? 1 : Math.Exp(-(xs[i] - minDist) / spread);
        }
        double a = 1, b = 1, lambda = 1e-3;
        double Cost(double aa, double bb)
        {
            double c = 0;
            for (int i = 1; i < m; i++) { double r = 1 / (1 + aa * Math.Pow(xs[i], 2 * bb)) - ys[i]; c += r * r; }
            return c;
        }
        double cost = Cost(a, b);
        for (int it = 0; it < 500; it++)
        {
            // Levenberg–Marquardt on (a, b); x = 0 contributes nothing to the gradient.
            double jaa = 0, jab = 0, jbb = 0, ga = 0, gb = 0;
            for (int i = 1; i < m; i++)
            {
                double p = Math.Pow(xs[i], 2 * b), f = 1 / (1 + a * p), r = f - ys[i];
                double da = -p * f * f, db = -a * p * 2 * Math.Log(xs[i]) * f * f;
                jaa += da * da; jab += da * db; jbb += db * db; ga += da * r; gb += db * r;
            }
            double haa = jaa * (1 + lambda), hbb = jbb * (1 + lambda), det = haa * hbb - jab * jab;
            if (Math.Abs(det) < 1e-300) break;
            double stepA = -(hbb * ga - jab * gb) / det, stepB = -(haa * gb - jab * ga) / det;
            double na = a + stepA, nb = b + stepB, nc = na > 0 && nb > 0 ? Cost(na, nb) : double.PositiveInfinity;
            if (nc < cost)
            {
                bool done = cost - nc < 1e-15;
                a = na; b = nb; cost = nc; lambda /= 3;
                if (done) break;
            }
            else lambda *= 4;
        }
        return ((float)a, (float)b);
    }

    static Matrix InitialLayout(Matrix x, UmapOptions o)
    {
        Matrix y;
        if (x.Columns >= o.Dimensions && x.Rows > o.Dimensions)
            y = Pca.Fit(x, o.Dimensions, o.Seed, threads: o.Threads).Transform(x, o.Threads);
        else
        {
            y = new Matrix(x.Rows, o.Dimensions);
            var r = new SplitMix64(o.Seed + 17);
            for (int i = 0; i < y.Data.Length; i++) y.Data[i] = (float)(r.NextDouble() * 20 - 10);
            return y;
        }
        // Scale to [−10, 10] as umap-learn's PCA initialisation, with a little noise to separate duplicates.
        float max = 0;
        foreach (var v in y.Data) max = Math.Max(max, Math.Abs(v));
        var rng = new SplitMix64(o.Seed + 31);
        for (int i = 0; i < y.Data.Length; i++) y.Data[i] = y.Data[i] / Math.Max(max, 1e-12f) * 10 + (float)(rng.NextDouble() - 0.5) * 1e-4f;
        return y;
    }

    /// <summary>
    /// SGD on the layout <paramref name="y"/> (heads) against <paramref name="tails"/> (the same matrix when fitting,
    /// the fixed training map when transforming), umap-learn's schedule: each edge is sampled in proportion to its
    /// weight, with negative samples, and a linearly decaying learning rate. Heads are split into fixed chunks, each
    /// with its own random stream, so one thread gives a reproducible map.
    /// </summary>
    internal static void Optimise(Matrix y, Matrix tails, SparseGraph g, int epochs, float a, float b, UmapOptions o, bool moveOther,
        CancellationToken cancellationToken = default)
    {
        float maxW = 0;
        foreach (var w in g.Weights) maxW = Math.Max(maxW, w);
        // Each edge's sampling period in epochs; edges too weak to be sampled once in the whole run are dropped (umap-learn
        // prunes them the same way).
        void Periods(float[] weights, float[] periods)
        {
            for (int e = 0; e < weights.Length; e++) periods[e] = weights[e] < maxW / epochs ? float.PositiveInfinity : maxW / weights[e];
        }
        int threads = o.Threads > 0 ? o.Threads : Environment.ProcessorCount;
        if (!(moveOther && ReferenceEquals(y, tails) && y.Columns == 2 && threads > 1 && g.Rows >= 2 * threads))
        {
            var period = new float[g.Weights.Length];
            Periods(g.Weights, period);
            Epochs(y, tails, g.RowStart, g.Columns, period, epochs, a, b, o, threads, moveOther, copyForNegatives: false, cancellationToken);
            return;
        }
        // Fitting a 2-D map, each edge moves its tail, a point anywhere in the layout. With the points in the order they
        // came, several threads' writes fall on each other's cache lines, and two threads took as long as one (issue 27,
        // sixth pass). So the points are renumbered into regions of the starting layout (equal parts of a Z-order curve
        // over it, two per thread: the threads take the heads in ranges, so each thread's heads lie in one part of the
        // layout with most of their neighbours), and negative samples, read anywhere, come from a copy of the layout taken
        // at each epoch's start. Measured at 70,000 points on two threads (bench/README.md, issue 27's seventh pass): the
        // UMAP stage 17-21 % faster with trustworthiness unchanged; ordered along the curve itself, or in one part per
        // thread, the maps were as fast but 0.0002-0.0003 less trustworthy. One thread runs as before, bit for bit.
        var (order, rowStart, columns, periods) = InRegions(y, g.RowStart, g.Columns, g.Weights, 2 * threads, threads);
        Periods(periods, periods);
        int n = g.Rows;
        var local = new Matrix(n, 2);
        for (int r = 0; r < n; r++) { local.Data[2 * r] = y.Data[2 * order[r]]; local.Data[2 * r + 1] = y.Data[2 * order[r] + 1]; }
        Epochs(local, local, rowStart, columns, periods, epochs, a, b, o, threads, moveOther, copyForNegatives: true, cancellationToken);
        for (int r = 0; r < n; r++) { y.Data[2 * order[r]] = local.Data[2 * r]; y.Data[2 * order[r] + 1] = local.Data[2 * r + 1]; }
    }

    /// <summary>
    /// The points of a 2-D layout cut into <paramref name="regions"/> equal parts along a Z-order curve over it (each
    /// coordinate scaled to 16 bits over the layout's extent, the bits interleaved), region after region, each region's
    /// points in their own order; and the graph renumbered to it: <c>Order[r]</c> is the point that comes r-th, and rows,
    /// columns and the edges' <paramref name="values"/> follow.
    /// </summary>
    internal static (int[] Order, int[] RowStart, int[] Columns, float[] Values) InRegions(Matrix y, int[] rowStart, int[] columns, float[] values,
        int regions, int threads = 0)
    {
        int n = y.Rows;
        float minX = float.PositiveInfinity, minY = float.PositiveInfinity, maxX = float.NegativeInfinity, maxY = float.NegativeInfinity;
        for (int i = 0; i < n; i++)
        {
            minX = Math.Min(minX, y.Data[2 * i]); maxX = Math.Max(maxX, y.Data[2 * i]);
            minY = Math.Min(minY, y.Data[2 * i + 1]); maxY = Math.Max(maxY, y.Data[2 * i + 1]);
        }
        float sx = 65535f / Math.Max(maxX - minX, 1e-30f), sy = 65535f / Math.Max(maxY - minY, 1e-30f);
        // Sorted by key, then by index: where the curve is cut does not depend on how the sort breaks ties.
        var keys = new ulong[n];
        for (int i = 0; i < n; i++)
        {
            // A coordinate that is not finite (never in a layout Percept starts from) makes the keys 0, and the parts
            // then follow the points' own order.
            uint qx = (uint)Math.Clamp((y.Data[2 * i] - minX) * sx, 0f, 65535f), qy = (uint)Math.Clamp((y.Data[2 * i + 1] - minY) * sy, 0f, 65535f);
            keys[i] = (ulong)(Spread(qx) | Spread(qy) << 1) << 32 | (uint)i;
        }
        Array.Sort(keys);
        var region = new int[n];
        for (int r = 0; r < n; r++) region[(int)(uint)keys[r]] = (int)((long)r * regions / n);
        // Each region's points in index order (a counting sort).
        var first = new int[regions + 1];
        foreach (int t in region) first[t + 1]++;
        for (int t = 0; t < regions; t++) first[t + 1] += first[t];
        var order = new int[n];
        for (int i = 0; i < n; i++) order[first[region[i]]++] = i;
        var rank = new int[n];
        for (int r = 0; r < n; r++) rank[order[r]] = r;
        var start = new int[n + 1];
        for (int r = 0; r < n; r++) start[r + 1] = start[r] + rowStart[order[r] + 1] - rowStart[order[r]];
        var cols = new int[columns.Length];
        var renumbered = new float[values.Length];
        Parallel.For(0, n, new ParallelOptions { MaxDegreeOfParallelism = threads > 0 ? threads : -1 }, r =>
        {
            int from = rowStart[order[r]], count = rowStart[order[r] + 1] - from;
            for (int t = 0; t < count; t++) { cols[start[r] + t] = rank[columns[from + t]]; renumbered[start[r] + t] = values[from + t]; }
        });
        return (order, start, cols, renumbered);

        // The 16 low bits of v moved to the even bit positions.
        static uint Spread(uint v)
        {
            v = (v | v << 8) & 0x00FF00FF;
            v = (v | v << 4) & 0x0F0F0F0F;
            v = (v | v << 2) & 0x33333333;
            return (v | v << 1) & 0x55555555;
        }
    }

    /// <summary>
    /// The epochs of <see cref="Optimise"/> over a graph given by its rows and sampling periods (infinite: never sampled).
    /// </summary>
    /// <param name="threads">Threads at most (as <see cref="Optimise"/> counted them).</param>
    /// <param name="copyForNegatives">Negative samples are read from a copy of <paramref name="tails"/> taken at each epoch's
    /// start (2-D only); otherwise from <paramref name="tails"/> as it moves.</param>
    static void Epochs(Matrix y, Matrix tails, int[] rowStart, int[] columns, float[] epochsPerSample, int epochs, float a, float b, UmapOptions o,
        int threads, bool moveOther, bool copyForNegatives, CancellationToken cancellationToken)
    {
        int n = y.Rows, dims = y.Columns;
        int edgeCount = columns.Length;
        var nextSample = new float[edgeCount];
        var nextNegative = new float[edgeCount];
        float negRate = Math.Max(1, o.NegativeSampleRate);
        for (int e = 0; e < edgeCount; e++)
        {
            nextSample[e] = epochsPerSample[e];
            nextNegative[e] = epochsPerSample[e] / negRate;
        }
        int chunk = 512, chunks = (n + chunk - 1) / chunk;
        int tailCount = tails.Rows;
        float gamma = o.RepulsionStrength;
        // The regions of Optimise assume this many threads taking the chunks in ranges.
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = threads };
        var samples = copyForNegatives && dims == 2 ? new float[tails.Data.Length] : tails.Data;
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            float alpha = o.LearningRate * (1f - (float)epoch / epochs);
            int ep = epoch;
            if (samples != tails.Data) tails.Data.AsSpan().CopyTo(samples);
            Parallel.For(0, chunks, parallel, c =>
            {
                var rng = new SplitMix64(o.Seed * 0x9E3779B97F4A7C15UL + (ulong)ep * 1000003UL + (ulong)c);
                int i1 = Math.Min(n, (c + 1) * chunk);
                if (dims == 2)
                {
                    var sgd = new Sgd2D(y.Data, tails.Data, samples, rowStart, columns, epochsPerSample, nextSample, nextNegative,
                        a, b, gamma, alpha, negRate, moveOther);
                    sgd.Run(c * chunk, i1, ep, ref rng);
                    return;
                }
                for (int i = c * chunk; i < i1; i++)
                {
                    var yi = y.Row(i);
                    for (int e = rowStart[i]; e < rowStart[i + 1]; e++)
                    {
                        if (nextSample[e] > ep + 1) continue;
                        int j = columns[e];
                        var yj = tails.Row(j);
                        float d2 = 0;
                        for (int d = 0; d < dims; d++) { float t = yi[d] - yj[d]; d2 += t * t; }
                        float coeff = 0;
                        if (d2 > 0)
                        {
                            float p = Numerics.FastPow(d2, b);
                            coeff = -2f * a * b * p / d2 / (a * p + 1f);
                        }
                        for (int d = 0; d < dims; d++)
                        {
                            float grad = Math.Clamp(coeff * (yi[d] - yj[d]), -4f, 4f) * alpha;
                            yi[d] += grad;
                            if (moveOther) yj[d] -= grad;
                        }
                        nextSample[e] += epochsPerSample[e];
                        int negatives = (int)((ep + 1 - nextNegative[e]) * negRate / epochsPerSample[e]);
                        for (int s = 0; s < negatives; s++)
                        {
                            int k = (int)(rng.Next() % (ulong)tailCount);
                            if (k == i && moveOther) continue;
                            var yk = tails.Row(k);
                            d2 = 0;
                            for (int d = 0; d < dims; d++) { float t = yi[d] - yk[d]; d2 += t * t; }
                            if (d2 > 0)
                            {
                                float p = Numerics.FastPow(d2, b);
                                coeff = 2f * gamma * b / ((0.001f + d2) * (a * p + 1f));
                                for (int d = 0; d < dims; d++) yi[d] += Math.Clamp(coeff * (yi[d] - yk[d]), -4f, 4f) * alpha;
                            }
                        }
                        nextNegative[e] += negatives * epochsPerSample[e] / negRate;
                    }
                }
            });
        }
    }
}
