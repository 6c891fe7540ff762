using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Percept.Neighbors;

/// <summary>
/// Exact k nearest neighbours by brute force, blocked and multithreaded, every distance computed as
/// ‖q‖² + ‖x‖² − 2 q·x. The dot products run as a small matrix product: the data are packed once into panels of 16
/// points stored dimension by dimension, so two 256-bit registers hold one dimension of 16 points, and a micro-kernel
/// multiplies 4 queries by a panel with 8 fused multiply-adds per dimension (64 dot products in flight, in registers).
/// Panels are taken in blocks that stay in cache, and each query keeps a k-heap fed only by the lanes that reach its
/// current k-th distance; among equal distances the lower index is kept, so the graph does not depend on the order in
/// which points are offered. On 512-bit CPUs the kernel takes two panels at once (4 × 32 lanes). When the data are their
/// own queries and there are enough blocks for every thread, each distance is computed once for both its points
/// (<see cref="SearchSymmetric"/>). Memory: the packed copy of the data and one heap per query; no N×N matrix.
/// </summary>
public static class ExactKnn
{
    const int QueryTile = 64;
    const int PanelWidth = 16;         // points per panel: the lanes of two Vector256<float>
    const int BlockPanels = 32;        // 512 points per cache block

    /// <summary>The k nearest points of <paramref name="data"/> to each of its own points (excluding itself).</summary>
    public static KnnGraph Search(Matrix data, int k, Metric metric = Metric.Euclidean, int threads = 0,
        CancellationToken cancellationToken = default) => Search(data, null, k, metric, threads, cancellationToken);

    /// <summary>
    /// The k nearest points of <paramref name="data"/> to each row of <paramref name="queries"/>; when queries is null the
    /// data are their own queries and a point is not its own neighbour.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled (checked before each tile of 64 queries, or each pair of 512-point blocks).</exception>
    public static KnnGraph Search(Matrix data, Matrix? queries, int k, Metric metric = Metric.Euclidean, int threads = 0,
        CancellationToken cancellationToken = default) => Search(data, queries, k, metric, threads, symmetric: null, cancellationToken);

    /// <summary>
    /// As above; <paramref name="symmetric"/> forces the search of the data against themselves to compute each distance
    /// once (true) or per query (false); null chooses: once, when the blocks of 512 points are at least twice the
    /// threads (a round of the symmetric schedule runs half the blocks' pairs at a time, so fewer blocks leave threads
    /// idle).
    /// </summary>
    internal static KnnGraph Search(Matrix data, Matrix? queries, int k, Metric metric, int threads, bool? symmetric, CancellationToken cancellationToken = default)
    {
        bool self = queries == null;
        int available = data.Rows - (self ? 1 : 0);
        if (k < 1 || k > available) throw new PerceptException($"k = {k} needs at least {k + (self ? 1 : 0)} points; there are {data.Rows}");
        if (!self && queries!.Columns != data.Columns) throw new PerceptException($"queries have {queries.Columns} columns, the data {data.Columns}");
        if (self) GraphBuilds.Record(data.Rows, data.Columns, k, exact: true);
        var x = Distance.Prepare(data, metric);
        var q = self ? x : Distance.Prepare(queries!, metric);
        var xNorm = SquaredNorms(x);
        var qNorm = self ? xNorm : SquaredNorms(q);
        int nq = q.Rows, n = x.Rows, dims = x.Columns;
        // Parallel.For checks the token before each tile and throws OperationCanceledException once the running tiles end.
        var options = new ParallelOptions
        {
            MaxDegreeOfParallelism = threads > 0 ? threads : Environment.ProcessorCount,
            CancellationToken = cancellationToken,
        };
        bool once = self && (symmetric ?? n / (BlockPanels * PanelWidth) >= 2 * options.MaxDegreeOfParallelism);
        int[]? order = once ? SpatialOrder(x, options) : null;
        var panels = Pack(x, order, out int panelCount);
        var panelNorms = new float[panelCount * PanelWidth];
        Array.Fill(panelNorms, float.PositiveInfinity);
        for (int r = 0; r < n; r++) panelNorms[r] = xNorm[order is null ? r : order[r]];
        var indices = new int[nq * k];
        var distances = new float[nq * k];
        int tiles = (nq + QueryTile - 1) / QueryTile;
        if (once)
        {
            SearchSymmetric(x, order!, panels, panelNorms, panelCount, k, metric, distances, indices, options);
            return new KnnGraph(indices, distances, nq, k);
        }
        bool pairs = Vector512.IsHardwareAccelerated;
        Parallel.For(0, tiles, options, () => new float[8 * PanelWidth], (tile, _, scratch) =>
        {
            int q0 = tile * QueryTile, q1 = Math.Min(nq, q0 + QueryTile);
            for (int i = q0; i < q1; i++)
            {
                distances.AsSpan(i * k, k).Fill(float.PositiveInfinity);
                indices.AsSpan(i * k, k).Fill(-1);
            }
            for (int p0 = 0; p0 < panelCount; p0 += BlockPanels)
            {
                int p1 = Math.Min(panelCount, p0 + BlockPanels);
                for (int i = q0; i < q1; i += 4)
                {
                    int rows = Math.Min(4, q1 - i);
                    for (int p = p0; p < p1; p++)
                    {
                        if (pairs && rows == 4 && p + 1 < p1)
                        {
                            DotPanelPair(q, i, panels.AsSpan(p * dims * PanelWidth, 2 * dims * PanelWidth), scratch);
                            Offer(i, rows, p, 0);
                            Offer(i, rows, ++p, 4 * PanelWidth);
                        }
                        else
                        {
                            DotPanel(q, i, rows, panels.AsSpan(p * dims * PanelWidth, dims * PanelWidth), scratch);
                            Offer(i, rows, p, 0);
                        }
                    }
                }
            }

            // Queries i..i+rows against panel p, whose dot products are at scratch[at + r·16 + lane].
            void Offer(int i, int rows, int p, int at)
            {
                int j0 = p * PanelWidth;
                for (int r = 0; r < rows; r++)
                {
                    int qi = i + r;
                    var heapD = distances.AsSpan(qi * k, k);
                    var heapI = indices.AsSpan(qi * k, k);
                    // d = ‖q‖² + ‖x‖² − 2 q·x for the 16 lanes; only lanes under the current k-th distance go on
                    // (missing points have ‖x‖² = +∞ and never do).
                    if (pairs)
                    {
                        // The same sums on one 512-bit vector of 16 lanes.
                        var d = Vector512.Create(qNorm[qi]) + Vector512.LoadUnsafe(ref panelNorms[0], (nuint)j0)
                            - Vector512.Create(2f) * Vector512.Create(scratch, at + r * PanelWidth);
                        ulong wide = Vector512.LessThanOrEqual(d, Vector512.Create(heapD[0])).ExtractMostSignificantBits();
                        while (wide != 0)
                        {
                            int l = System.Numerics.BitOperations.TrailingZeroCount(wide);
                            wide &= wide - 1;
                            int j = j0 + l;
                            float dj = d.GetElement(l);
                            if (!(self && j == qi)) NeighborHeap.PushOrdered(heapD, heapI, MathF.Max(0, dj), j);
                        }
                        continue;
                    }
                    var qn = Vector256.Create(qNorm[qi]);
                    var d0 = qn + Vector256.LoadUnsafe(ref panelNorms[0], (nuint)j0) - Vector256.Create(2f) * Vector256.Create(scratch, at + r * PanelWidth);
                    var d1 = qn + Vector256.LoadUnsafe(ref panelNorms[0], (nuint)(j0 + 8)) - Vector256.Create(2f) * Vector256.Create(scratch, at + r * PanelWidth + 8);
                    var thr = Vector256.Create(heapD[0]);
                    uint mask = Vector256.LessThanOrEqual(d0, thr).ExtractMostSignificantBits() | (Vector256.LessThanOrEqual(d1, thr).ExtractMostSignificantBits() << 8);
                    while (mask != 0)
                    {
                        int l = System.Numerics.BitOperations.TrailingZeroCount(mask);
                        mask &= mask - 1;
                        int j = j0 + l;
                        float dj = l < 8 ? d0.GetElement(l) : d1.GetElement(l - 8);
                        if (!(self && j == qi)) NeighborHeap.PushOrdered(heapD, heapI, MathF.Max(0, dj), j);
                    }
                }
            }
            for (int i = q0; i < q1; i++)
            {
                var heapD = distances.AsSpan(i * k, k);
                NeighborHeap.Sort(heapD, indices.AsSpan(i * k, k));
                for (int t = 0; t < k; t++) heapD[t] = Distance.Report(heapD[t], metric);
            }
            return scratch;
        }, _ => { });
        return new KnnGraph(indices, distances, nq, k);
    }

    /// <summary>
    /// The data as their own queries, each distance computed once for both of its points: the points are cut into
    /// blocks of 512 (a cache block of panels), each block paired with itself and with every other block once, and a
    /// pair's distances offered to the heaps of its query points (rows) and of its panel points (columns), half the dot
    /// products of querying every point against every block. Pairs are taken in rounds in which no block appears twice
    /// (the circle method of a round-robin tournament), so a round's pairs run in parallel without locks, and every
    /// heap sees its offers in the same order whatever the number of threads. A distance is the same sum whichever of
    /// its points asks (‖xᵢ‖² + ‖xⱼ‖² − 2 xᵢ·xⱼ, the dot product in dimension order, fused multiply-adds wherever the
    /// CPU has them, in the vector kernels and the scalar tail alike), and every heap keeps the k first by distance and
    /// then index whatever the order of its offers, so the result is that of querying each point in turn, ties included.
    /// </summary>
    static void SearchSymmetric(Matrix x, int[] order, float[] panels, float[] panelNorms, int panelCount, int k, Metric metric,
        float[] outDistances, int[] outIndices, ParallelOptions options)
    {
        int n = x.Rows, dims = x.Columns, blockPoints = BlockPanels * PanelWidth;
        int blocks = (n + blockPoints - 1) / blockPoints;
        // Points, panels and heaps are in the spatial order, the heaps' entries the data's indices (ties go to the lower,
        // as when each point is queried in turn); each heap is put back at its point's row at the end.
        var norms = panelNorms;
        var distances = new float[n * k];
        var indices = new int[n * k];
        Array.Fill(distances, float.PositiveInfinity);
        Array.Fill(indices, -1);
        // Each heap's worst distance, side by side so that a panel's sixteen are one load; lanes past the last point
        // are −∞, so nothing is offered to them.
        var worst = new float[panelCount * PanelWidth];
        worst.AsSpan(0, n).Fill(float.PositiveInfinity);
        worst.AsSpan(n).Fill(float.NegativeInfinity);
        bool pairs = Vector512.IsHardwareAccelerated;

        Parallel.For(0, blocks, options, () => new float[8 * PanelWidth], (b, _, scratch) => { Pair(b, b, scratch); return scratch; }, _ => { });
        int slots = blocks + (blocks & 1);
        var round = new (int, int)[slots / 2];
        for (int r = 0; r < slots - 1; r++)
        {
            int m = 0;
            for (int t = 0; t < slots / 2; t++)
            {
                int a = t == 0 ? slots - 1 : (r + t) % (slots - 1), b = (r - t + slots - 1) % (slots - 1);
                if (a < blocks && b < blocks) round[m++] = (a, b);
            }
            Parallel.For(0, m, options, () => new float[8 * PanelWidth], (t, _, scratch) => { Pair(round[t].Item1, round[t].Item2, scratch); return scratch; }, _ => { });
        }
        Parallel.For(0, (n + 255) / 256, options, c =>
        {
            for (int r = c * 256, end = Math.Min(n, r + 256); r < end; r++)
            {
                int i = order[r];
                var heapD = outDistances.AsSpan(i * k, k);
                var heapI = outIndices.AsSpan(i * k, k);
                distances.AsSpan(r * k, k).CopyTo(heapD);
                indices.AsSpan(r * k, k).CopyTo(heapI);
                NeighborHeap.Sort(heapD, heapI);
                for (int t = 0; t < k; t++) heapD[t] = Distance.Report(heapD[t], metric);
            }
        });

        // The points of block qb as queries against the panels of block pb.
        void Pair(int qb, int pb, float[] scratch)
        {
            int q0 = qb * blockPoints, q1 = Math.Min(n, q0 + blockPoints);
            int p0 = pb * BlockPanels, p1 = Math.Min(panelCount, p0 + BlockPanels);
            bool diagonal = qb == pb;
            for (int i = q0; i < q1; i += 4)
            {
                int rows = Math.Min(4, q1 - i);
                for (int p = p0; p < p1; p++)
                {
                    if (pairs && rows == 4 && p + 1 < p1)
                    {
                        DotPanelPair(x, i, panels.AsSpan(p * dims * PanelWidth, 2 * dims * PanelWidth), scratch, order);
                        Offer(i, rows, p, scratch, 0, diagonal);
                        Offer(i, rows, ++p, scratch, 4 * PanelWidth, diagonal);
                    }
                    else
                    {
                        DotPanel(x, i, rows, panels.AsSpan(p * dims * PanelWidth, dims * PanelWidth), scratch, order);
                        Offer(i, rows, p, scratch, 0, diagonal);
                    }
                }
            }
        }

        // Queries i..i+rows against panel p (dot products at scratch[at + r·16 + lane]): each lane under the query's
        // worst goes to the query's heap; off the diagonal, each under the panel point's worst to the point's heap. A
        // block with itself offers each pair twice, once from each side, as a row: no columns there.
        void Offer(int i, int rows, int p, float[] scratch, int at, bool diagonal)
        {
            int j0 = p * PanelWidth;
            var pn0 = Vector256.LoadUnsafe(ref panelNorms[0], (nuint)j0);
            var pn1 = Vector256.LoadUnsafe(ref panelNorms[0], (nuint)(j0 + 8));
            var two = Vector256.Create(2f);
            for (int r = 0; r < rows; r++)
            {
                int qi = i + r;
                var qn = Vector256.Create(norms[qi]);
                var d0 = qn + pn0 - two * Vector256.Create(scratch, at + r * PanelWidth);
                var d1 = qn + pn1 - two * Vector256.Create(scratch, at + r * PanelWidth + 8);
                var thr = Vector256.Create(worst[qi]);
                uint mask = Vector256.LessThanOrEqual(d0, thr).ExtractMostSignificantBits() | (Vector256.LessThanOrEqual(d1, thr).ExtractMostSignificantBits() << 8);
                if (mask != 0)
                {
                    var heapD = distances.AsSpan(qi * k, k);
                    var heapI = indices.AsSpan(qi * k, k);
                    while (mask != 0)
                    {
                        int l = System.Numerics.BitOperations.TrailingZeroCount(mask);
                        mask &= mask - 1;
                        int j = j0 + l;
                        float dj = l < 8 ? d0.GetElement(l) : d1.GetElement(l - 8);
                        // Lanes past the last point (+∞) reach a heap that is not yet full; they are not points.
                        if (j != qi && j < n && NeighborHeap.PushOrdered(heapD, heapI, MathF.Max(0, dj), order[j])) worst[qi] = heapD[0];
                    }
                }
                if (diagonal) continue;
                mask = Vector256.LessThanOrEqual(d0, Vector256.LoadUnsafe(ref worst[0], (nuint)j0)).ExtractMostSignificantBits()
                    | (Vector256.LessThanOrEqual(d1, Vector256.LoadUnsafe(ref worst[0], (nuint)(j0 + 8))).ExtractMostSignificantBits() << 8);
                while (mask != 0)
                {
                    int l = System.Numerics.BitOperations.TrailingZeroCount(mask);
                    mask &= mask - 1;
                    int j = j0 + l;
                    float dj = l < 8 ? d0.GetElement(l) : d1.GetElement(l - 8);
                    var heapD = distances.AsSpan(j * k, k);
                    if (NeighborHeap.PushOrdered(heapD, indices.AsSpan(j * k, k), MathF.Max(0, dj), order[qi])) worst[j] = heapD[0];
                }
            }
        }
    }

    /// <summary>
    /// The points in the order of a random projection tree's leaves (at most 64 points each, siblings side by side), so
    /// that a block of 512 consecutive points is one region of the space: its pair with itself, taken first, fills each
    /// heap with near points, and the offers of the other blocks then mostly stop at the vector compare. (Taken in the
    /// data's order, each heap would be updated about k·ln(N/k) times; at k = 90 those updates were a third to half of
    /// the search.) The order changes no distance.
    /// </summary>
    static int[] SpatialOrder(Matrix x, ParallelOptions parallel)
    {
        var tree = new RandomProjectionTree(TreeSpace.Create(x, 0x0DE5UL, parallel), leafSize: 64, seed: 0x0DE5UL + 1);
        var order = new int[x.Rows];
        int at = 0;
        foreach (var leaf in tree.Leaves) { leaf.CopyTo(order, at); at += leaf.Length; }
        return order;
    }

    /// <summary>The data as panels of 16 points (in <paramref name="order"/> where given), each stored dimension-major (panel[d·16 + lane]); missing points are zero.</summary>
    static float[] Pack(Matrix x, int[]? order, out int panelCount)
    {
        int n = x.Rows, dims = x.Columns;
        panelCount = (n + PanelWidth - 1) / PanelWidth;
        var packed = new float[panelCount * dims * PanelWidth];
        for (int j = 0; j < n; j++)
        {
            var row = x.Row(order is null ? j : order[j]);
            int at = (j / PanelWidth) * dims * PanelWidth + j % PanelWidth;
            for (int d = 0; d < dims; d++) packed[at + d * PanelWidth] = row[d];
        }
        return packed;
    }

    /// <summary>Dot products of queries i..i+rows (rows ≤ 4) with the 16 points of a panel, into scratch[r·16 + lane].</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    static void DotPanel(Matrix q, int i, int rows, ReadOnlySpan<float> panel, float[] scratch, int[]? order = null)
    {
        int dims = q.Columns;
        if (Vector256.IsHardwareAccelerated && rows == 4)
        {
            // Four queries by sixteen points: each dimension is two panel loads, four broadcasts and eight independent
            // fused multiply-adds, enough accumulators to keep both FMA pipes busy.
            ref float r0 = ref QueryRow(q, order, i);
            ref float r1 = ref QueryRow(q, order, i + 1);
            ref float r2 = ref QueryRow(q, order, i + 2);
            ref float r3 = ref QueryRow(q, order, i + 3);
            ref float pp = ref MemoryMarshal.GetReference(panel);
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, b0 = default, b1 = default, b2 = default, b3 = default;
            for (int d = 0; d < dims; d++)
            {
                var v = Vector256.LoadUnsafe(ref pp, (nuint)(d * PanelWidth));
                var w = Vector256.LoadUnsafe(ref pp, (nuint)(d * PanelWidth + 8));
                var x0 = Vector256.Create(Unsafe.Add(ref r0, d)); var x1 = Vector256.Create(Unsafe.Add(ref r1, d));
                var x2 = Vector256.Create(Unsafe.Add(ref r2, d)); var x3 = Vector256.Create(Unsafe.Add(ref r3, d));
                a0 = Kernels.MultiplyAdd(x0, v, a0); b0 = Kernels.MultiplyAdd(x0, w, b0);
                a1 = Kernels.MultiplyAdd(x1, v, a1); b1 = Kernels.MultiplyAdd(x1, w, b1);
                a2 = Kernels.MultiplyAdd(x2, v, a2); b2 = Kernels.MultiplyAdd(x2, w, b2);
                a3 = Kernels.MultiplyAdd(x3, v, a3); b3 = Kernels.MultiplyAdd(x3, w, b3);
            }
            a0.CopyTo(scratch, 0); b0.CopyTo(scratch, 8); a1.CopyTo(scratch, 16); b1.CopyTo(scratch, 24);
            a2.CopyTo(scratch, 32); b2.CopyTo(scratch, 40); a3.CopyTo(scratch, 48); b3.CopyTo(scratch, 56);
            return;
        }
        // Fewer than four queries left, or no 256-bit vectors: the same sums one lane at a time.
        for (int r = 0; r < rows; r++)
        {
            var row = q.Row(order is null ? i + r : order[i + r]);
            for (int l = 0; l < PanelWidth; l++)
            {
                float s = 0;
                // Fused where the vector kernel's sums are, so a distance is the same bits from either of its points.
                if (System.Runtime.Intrinsics.X86.Fma.IsSupported)
                    for (int d = 0; d < dims; d++) s = MathF.FusedMultiplyAdd(row[d], panel[d * PanelWidth + l], s);
                else
                    for (int d = 0; d < dims; d++) s += row[d] * panel[d * PanelWidth + l];
                scratch[r * PanelWidth + l] = s;
            }
        }
    }


    /// <summary>
    /// Dot products of queries i..i+3 with the 32 points of two neighbouring panels, on 512-bit vectors: each dimension
    /// is two panel loads, four broadcasts and eight fused multiply-adds of 16 lanes (twice the products per load of
    /// the 256-bit kernel). Panel 0's results go to scratch[r·16 + lane], panel 1's to scratch[64 + r·16 + lane]; each
    /// sum is taken in the same order as <see cref="DotPanel"/>'s.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    static void DotPanelPair(Matrix q, int i, ReadOnlySpan<float> twoPanels, float[] scratch, int[]? order = null)
    {
        int dims = q.Columns, second = dims * PanelWidth;
        ref float r0 = ref QueryRow(q, order, i);
        ref float r1 = ref QueryRow(q, order, i + 1);
        ref float r2 = ref QueryRow(q, order, i + 2);
        ref float r3 = ref QueryRow(q, order, i + 3);
        ref float pp = ref MemoryMarshal.GetReference(twoPanels);
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, b0 = default, b1 = default, b2 = default, b3 = default;
        for (int d = 0; d < dims; d++)
        {
            var v = Vector512.LoadUnsafe(ref pp, (nuint)(d * PanelWidth));
            var w = Vector512.LoadUnsafe(ref pp, (nuint)(second + d * PanelWidth));
            var x0 = Vector512.Create(Unsafe.Add(ref r0, d)); var x1 = Vector512.Create(Unsafe.Add(ref r1, d));
            var x2 = Vector512.Create(Unsafe.Add(ref r2, d)); var x3 = Vector512.Create(Unsafe.Add(ref r3, d));
            a0 = Vector512.FusedMultiplyAdd(x0, v, a0); b0 = Vector512.FusedMultiplyAdd(x0, w, b0);
            a1 = Vector512.FusedMultiplyAdd(x1, v, a1); b1 = Vector512.FusedMultiplyAdd(x1, w, b1);
            a2 = Vector512.FusedMultiplyAdd(x2, v, a2); b2 = Vector512.FusedMultiplyAdd(x2, w, b2);
            a3 = Vector512.FusedMultiplyAdd(x3, v, a3); b3 = Vector512.FusedMultiplyAdd(x3, w, b3);
        }
        a0.CopyTo(scratch, 0); a1.CopyTo(scratch, 16); a2.CopyTo(scratch, 32); a3.CopyTo(scratch, 48);
        b0.CopyTo(scratch, 64); b1.CopyTo(scratch, 80); b2.CopyTo(scratch, 96); b3.CopyTo(scratch, 112);
    }

    /// <summary>The first value of query <paramref name="i"/>: row i of <paramref name="q"/>, or row order[i] in a spatial order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static ref float QueryRow(Matrix q, int[]? order, int i) => ref MemoryMarshal.GetReference(q.Row(order is null ? i : order[i]));

    internal static float[] SquaredNorms(Matrix m)
    {
        var norms = new float[m.Rows];
        for (int i = 0; i < m.Rows; i++) { var r = m.Row(i); norms[i] = TensorPrimitives.Dot(r, r); }
        return norms;
    }
}
