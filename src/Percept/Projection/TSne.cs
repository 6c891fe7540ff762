using Percept.Neighbors;

namespace Percept.Projection;

/// <summary>Options of <see cref="TSne"/>; defaults follow openTSNE.</summary>
public sealed record TSneOptions
{
    public float Perplexity { get; init; } = 30;
    /// <summary>Barnes–Hut accuracy: a cell is summarised when its width is below θ × its distance.</summary>
    public float Theta { get; init; } = 0.5f;
    public int EarlyExaggerationIterations { get; init; } = 250;
    public float EarlyExaggeration { get; init; } = 12;
    public int Iterations { get; init; } = 500;
    /// <summary>Learning rate (0 = N / early exaggeration, as Belkina et al. recommend).</summary>
    public float LearningRate { get; init; }
    /// <summary>Inputs wider than this are first reduced by PCA to this many dimensions (0 = never).</summary>
    public int PcaDimensions { get; init; } = 50;
    public Metric Metric { get; init; } = Metric.Euclidean;
    /// <summary>Start from this layout instead of the scaled PCA layout.</summary>
    public Matrix? Initial { get; init; }
    public ulong Seed { get; init; }
    public int Threads { get; init; }
}

/// <summary>
/// t-SNE (van der Maaten and Hinton, 2008) in two dimensions with a Barnes–Hut gradient (van der Maaten, 2014):
/// perplexity-calibrated affinities on the 3·perplexity nearest neighbours (NN-descent), symmetrised; PCA
/// initialisation scaled to a standard deviation of 1e-4; early exaggeration; momentum with adaptive gains. Repulsion
/// is computed from a quadtree rebuilt every iteration, cells summarised by their centre of mass when far enough.
/// Every sum is taken in a fixed order, so the result does not depend on the number of threads.
/// </summary>
public static class TSne
{
    const int Dims = 2;

    /// <param name="cancellationToken">Checked between iterations.</param>
    public static Matrix Fit(Matrix data, TSneOptions? options = null, CancellationToken cancellationToken = default)
    {
        var o = options ?? new TSneOptions();
        int n = data.Rows;
        int k = Math.Min(n - 1, (int)Math.Ceiling(3 * o.Perplexity));
        if (n < 4 || o.Perplexity >= n - 1) throw new PerceptException($"t-SNE with perplexity {o.Perplexity} needs more than {o.Perplexity + 1} points; there are {n}");
        if (o.Initial != null && (o.Initial.Rows != n || o.Initial.Columns != Dims)) throw new PerceptException($"the initial layout must be {n} x 2");
        var x = data;
        if (o.PcaDimensions > 0 && data.Columns > o.PcaDimensions && n > o.PcaDimensions)
            x = Pca.Fit(data, o.PcaDimensions, o.Seed, threads: o.Threads).Transform(data, o.Threads);
        var knn = NNDescent.Build(x, k, o.Metric, new NNDescentOptions { Seed = o.Seed, Threads = o.Threads });
        var p = Affinities(knn, o.Perplexity);

        float[] y;
        if (o.Initial != null) y = (float[])o.Initial.Data.Clone();
        else
        {
            var init = Pca.Fit(x, Dims, o.Seed, threads: o.Threads).Transform(x, o.Threads);
            double mean = init.Data.Where((_, i) => i % 2 == 0).Average();
            double std = Math.Sqrt(init.Data.Where((_, i) => i % 2 == 0).Average(v => (v - mean) * (v - mean)));
            y = init.Data.Select(v => (float)(v / Math.Max(std, 1e-12) * 1e-4)).ToArray();
        }
        float lr = o.LearningRate > 0 ? o.LearningRate : Math.Max(n / o.EarlyExaggeration, 50);
        var update = new float[n * Dims];
        var gains = new float[n * Dims];
        Array.Fill(gains, 1f);
        var grad = new float[n * Dims];
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = o.Threads > 0 ? o.Threads : Environment.ProcessorCount };
        var tree = new QuadTree(n);
        var rep = new float[n * Dims];
        int total = o.EarlyExaggerationIterations + o.Iterations;
        for (int it = 0; it < total; it++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            bool early = it < o.EarlyExaggerationIterations;
            float exaggeration = early ? o.EarlyExaggeration : 1f;
            float momentum = early ? 0.5f : 0.8f;
            tree.Build(y);
            Gradient(y, p, tree, rep, exaggeration, o.Theta, grad, parallel);
            for (int i = 0; i < n * Dims; i++)
            {
                bool sameSign = (grad[i] > 0) == (update[i] > 0);
                gains[i] = Math.Max(sameSign ? gains[i] * 0.8f : gains[i] + 0.2f, 0.01f);
                update[i] = momentum * update[i] - lr * gains[i] * grad[i];
                y[i] += update[i];
            }
            // Keep the layout centred.
            double cx = 0, cy = 0;
            for (int i = 0; i < n; i++) { cx += y[2 * i]; cy += y[2 * i + 1]; }
            cx /= n; cy /= n;
            for (int i = 0; i < n; i++) { y[2 * i] -= (float)cx; y[2 * i + 1] -= (float)cy; }
        }
        return new Matrix(y, n, Dims);
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

    static void Gradient(float[] y, Umap.SparseGraph p, QuadTree tree, float[] rep, float exaggeration, float theta, float[] grad, ParallelOptions parallel)
    {
        int n = p.Rows;
        const int chunk = 256;
        int chunks = (n + chunk - 1) / chunk;
        var zParts = new double[chunks];
        Parallel.For(0, chunks, parallel, () => new int[4 * 64 + 8], (c, _, stack) =>
        {
            double z = 0;
            int i1 = Math.Min(n, (c + 1) * chunk);
            // Points in tree order: neighbours on the map walk the same cells, which stay in cache.
            for (int t = c * chunk; t < i1; t++)
            {
                int i = tree.Order[t];
                tree.Repulsion(i, theta * theta, stack, out double fx, out double fy, out double zi);
                rep[2 * i] = (float)fx; rep[2 * i + 1] = (float)fy;
                z += zi;
            }
            zParts[c] = z;
            return stack;
        }, _ => { });
        double zSum = 0;
        foreach (var z in zParts) zSum += z;
        float invZ = (float)(1 / Math.Max(zSum, 1e-300));
        Parallel.For(0, chunks, parallel, c =>
        {
            int i1 = Math.Min(n, (c + 1) * chunk);
            for (int i = c * chunk; i < i1; i++)
            {
                float yx = y[2 * i], yy = y[2 * i + 1], ax = 0, ay = 0;
                for (int e = p.RowStart[i]; e < p.RowStart[i + 1]; e++)
                {
                    int j = p.Columns[e];
                    float dx = yx - y[2 * j], dy = yy - y[2 * j + 1];
                    float q = 1f / (1f + dx * dx + dy * dy);
                    float f = p.Weights[e] * q * exaggeration;
                    ax += f * dx; ay += f * dy;
                }
                grad[2 * i] = 4f * (ax - rep[2 * i] * invZ);
                grad[2 * i + 1] = 4f * (ay - rep[2 * i + 1] * invZ);
            }
        });
    }

    /// <summary>A quadtree over the current layout, stored in flat arrays reused from one iteration to the next; leaves hold up to a few points.</summary>
    sealed class QuadTree
    {
        const int LeafSize = 8;
        float[] _y = [];
        readonly int[] _order;
        readonly int[] _scratch;
        readonly List<Node> _nodes = new();

        /// <summary>The points in the order of the tree's leaves.</summary>
        public int[] Order => _order;

        struct Node
        {
            public float ComX, ComY, Width;
            public int Count, FirstChild, Start, End; // FirstChild < 0: leaf over _order[Start..End)
        }

        public QuadTree(int n)
        {
            _order = Enumerable.Range(0, n).ToArray();
            _scratch = new int[n];
        }

        /// <summary>Rebuilds the tree over layout <paramref name="y"/> (interleaved x, y).</summary>
        public void Build(float[] y)
        {
            _y = y;
            int n = _order.Length;
            _nodes.Clear();
            float minX = float.MaxValue, minY = float.MaxValue, maxX = float.MinValue, maxY = float.MinValue;
            for (int i = 0; i < n; i++)
            {
                minX = Math.Min(minX, y[2 * i]); maxX = Math.Max(maxX, y[2 * i]);
                minY = Math.Min(minY, y[2 * i + 1]); maxY = Math.Max(maxY, y[2 * i + 1]);
            }
            float half = Math.Max(maxX - minX, maxY - minY) / 2 * 1.0001f + 1e-12f;
            _nodes.Add(default);
            Build(0, 0, n, (minX + maxX) / 2, (minY + maxY) / 2, half, _scratch, 0);
        }

        void Build(int node, int start, int end, float cx, float cy, float half, int[] scratch, int depth)
        {
            var nd = new Node { Width = 2 * half, Count = end - start, Start = start, End = end, FirstChild = -1 };
            if (end - start <= LeafSize || depth >= 40)
            {
                double sx = 0, sy = 0;
                for (int t = start; t < end; t++) { sx += _y[2 * _order[t]]; sy += _y[2 * _order[t] + 1]; }
                nd.ComX = (float)(sx / Math.Max(1, end - start)); nd.ComY = (float)(sy / Math.Max(1, end - start));
                _nodes[node] = nd;
                return;
            }
            // Counting sort of the range into quadrants 0..3 (bit 0: right of cx, bit 1: above cy).
            Span<int> counts = stackalloc int[4];
            for (int t = start; t < end; t++) counts[Quadrant(_order[t], cx, cy)]++;
            Span<int> offsets = stackalloc int[5];
            offsets[0] = start;
            for (int q = 0; q < 4; q++) offsets[q + 1] = offsets[q] + counts[q];
            Span<int> fill = stackalloc int[4];
            for (int q = 0; q < 4; q++) fill[q] = offsets[q];
            for (int t = start; t < end; t++) { int pt = _order[t]; scratch[fill[Quadrant(pt, cx, cy)]++] = pt; }
            Array.Copy(scratch, start, _order, start, end - start);
            int first = _nodes.Count;
            for (int q = 0; q < 4; q++) _nodes.Add(default);
            nd.FirstChild = first;
            float h = half / 2;
            double mx = 0, my = 0;
            for (int q = 0; q < 4; q++)
            {
                Build(first + q, offsets[q], offsets[q + 1], cx + ((q & 1) != 0 ? h : -h), cy + ((q & 2) != 0 ? h : -h), h, scratch, depth + 1);
                var c = _nodes[first + q];
                mx += (double)c.ComX * c.Count; my += (double)c.ComY * c.Count;
            }
            nd.ComX = (float)(mx / nd.Count); nd.ComY = (float)(my / nd.Count);
            _nodes[node] = nd;
        }

        int Quadrant(int pt, float cx, float cy) => (_y[2 * pt] >= cx ? 1 : 0) | (_y[2 * pt + 1] >= cy ? 2 : 0);

        /// <summary>Σ_j q_ij² (y_i − y_j) and Σ_j q_ij over j ≠ i, with far cells summarised.</summary>
        public void Repulsion(int i, float theta2, int[] stack, out double fx, out double fy, out double z)
        {
            var nodes = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_nodes);
            float yx = _y[2 * i], yy = _y[2 * i + 1];
            fx = 0; fy = 0; z = 0;
            int top = 0;
            stack[top++] = 0;
            while (top > 0)
            {
                ref readonly var nd = ref nodes[stack[--top]];
                float dx = yx - nd.ComX, dy = yy - nd.ComY, d2 = dx * dx + dy * dy;
                if (nd.FirstChild >= 0 && nd.Width * nd.Width < theta2 * d2)
                {
                    float q = 1f / (1f + d2), cq = nd.Count * q;
                    z += cq; fx += cq * q * dx; fy += cq * q * dy;
                }
                else if (nd.FirstChild < 0)
                {
                    for (int t = nd.Start; t < nd.End; t++)
                    {
                        int j = _order[t];
                        if (j == i) continue;
                        float ex = yx - _y[2 * j], ey = yy - _y[2 * j + 1];
                        float q = 1f / (1f + ex * ex + ey * ey);
                        z += q; fx += q * q * ex; fy += q * q * ey;
                    }
                }
                else
                {
                    if (top + 4 > stack.Length) Array.Resize(ref stack, stack.Length * 2);
                    for (int c = 0; c < 4; c++) if (nodes[nd.FirstChild + c].Count > 0) stack[top++] = nd.FirstChild + c;
                }
            }
        }
    }
}
