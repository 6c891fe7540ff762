
namespace Percept.Neighbors;

/// <summary>Options of <see cref="NNDescent"/>.</summary>
public sealed record NNDescentOptions
{
    /// <summary>Random projection trees used to seed the graph (0 = chosen from N).</summary>
    public int Trees { get; init; }
    /// <summary>Most points in a tree leaf (0 = max(k + 1, 30)).</summary>
    public int LeafSize { get; init; }
    /// <summary>Candidates sampled per point and iteration (0 = k clamped to 18..60).</summary>
    public int MaxCandidates { get; init; }
    /// <summary>Most iterations.</summary>
    public int MaxIterations { get; init; } = 12;
    /// <summary>Stop when fewer than Delta·N·k neighbour lists change in an iteration.</summary>
    public double Delta { get; init; } = 0.001;
    public ulong Seed { get; init; }
    /// <summary>Threads (0 = all cores). The result does not depend on it.</summary>
    public int Threads { get; init; }
    /// <summary>Stops the build (checked in every parallel loop and between iterations).</summary>
    public CancellationToken CancellationToken { get; init; }
    /// <summary>For tests: measure every pair, one candidate at a time (the same graph, bit for bit, only slower).</summary>
    internal bool EveryPair { get; init; }
}

/// <summary>
/// Approximate all-points k-nearest-neighbour graph by NN-descent (Dong, Moses and Li, 2011), seeded with random
/// projection trees as in pynndescent: a neighbour of a neighbour is probably a neighbour, so each iteration compares
/// the sampled new (and old) neighbours of every point with each other, and keeps the closer ones. Distance work is
/// spread over threads in fixed blocks and the updates are applied in block order, so the graph is the same for a seed
/// whatever the number of threads.
/// </summary>
public static class NNDescent
{
    const int Block = 256;
    const int GroupSize = 8;   // blocks joined before their updates are applied (fixed: results must not depend on threads)

    /// <summary>Builds the k-NN graph of <paramref name="data"/> (a point is not its own neighbour).</summary>
    public static KnnGraph Build(Matrix data, int k, Metric metric = Metric.Euclidean, NNDescentOptions? options = null) =>
        BuildPrepared(Distance.Prepare(data, metric), k, metric, options ?? new(), out _);

    internal static KnnGraph BuildPrepared(Matrix x, int k, Metric metric, NNDescentOptions o, out List<RandomProjectionTree> forest)
    {
        int n = x.Rows;
        if (k < 1 || k >= n) throw new PerceptException($"k = {k} needs at least {k + 1} points; there are {n}");
        GraphBuilds.Record(n, x.Columns, k, exact: false);
        int leafSize = o.LeafSize > 0 ? o.LeafSize : Math.Max(k + 1, 30);
        int trees = o.Trees > 0 ? o.Trees : Math.Min(32, 4 + (int)Math.Round(Math.Sqrt(n) / 80));
        // 18 for the usual k = 15 (pynndescent takes k): on 70,000 Fashion-MNIST images (784-d), 4 % faster than 20 at a
        // recall@15 of 0.9865 against 0.9881–0.9895, pynndescent's own 0.986–0.988 (bench/README.md, "Issue 27, third pass").
        int maxCandidates = o.MaxCandidates > 0 ? o.MaxCandidates : Math.Clamp(k, 18, 60);
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = o.Threads > 0 ? o.Threads : Environment.ProcessorCount, CancellationToken = o.CancellationToken };

        var dist = new float[n * k];
        var idx = new int[n * k];
        var isNew = new bool[n * k];
        Array.Fill(dist, float.PositiveInfinity);
        Array.Fill(idx, -1);

        // Seed: all pairs inside the leaves of a few random projection trees.
        var built = new RandomProjectionTree[trees];
        var space = TreeSpace.Create(x, o.Seed * 1000003UL, parallel);
        Parallel.For(0, trees, parallel, t => built[t] = new RandomProjectionTree(space, leafSize, o.Seed * 1000003UL + (ulong)t + 1));
        forest = [.. built];

        // The descent works on a copy of the data in the order of the first tree's leaves, so that the rows a point is
        // compared with (its neighbours and theirs) lie near each other in memory: wide data do not fit in cache, and
        // random rows cost more to fetch than to compare. Indices are mapped back at the end.
        var order = built[0].Leaves.SelectMany(l => l).ToArray();
        var rank = new int[n];
        for (int r = 0; r < n; r++) rank[order[r]] = r;
        var original = x;
        x = new Matrix(n, original.Columns);
        Parallel.For(0, (n + Block - 1) / Block, parallel, b =>
        {
            for (int r = b * Block, end = Math.Min(n, r + Block); r < end; r++) original.Row(order[r]).CopyTo(x.Row(r));
        });
        var norms = ExactKnn.SquaredNorms(x);
        foreach (var tree in built)
        {
            var leaves = tree.Leaves;
            var updates = new List<(int, int, float)>[leaves.Count];
            int longest = leaves.Max(l => l.Length);
            Parallel.For(0, leaves.Count, parallel, () => new JoinScratch(longest), (l, _, scratch) =>
            {
                var leaf = leaves[l].Select(v => rank[v]).ToArray();
                var list = new List<(int, int, float)>(leaf.Length * (leaf.Length - 1) / 2);
                // All pairs of the leaf, as a join of points that are all new; from the second tree on, pairs already
                // in a heap are skipped and only pairs that would enter one are queued.
                JoinPoint(x, norms, leaf, [], idx, dist, k, list, scratch, o.EveryPair);
                updates[l] = list;
                return scratch;
            }, _ => { });
            ApplyParallel(updates, 0, updates.Length, dist, idx, isNew, k, parallel);
        }
        // Any slot still empty gets a random point.
        var rng = new SplitMix64(o.Seed ^ 0x5EEDUL);
        var one = new float[1];
        for (int i = 0; i < n; i++)
            for (int t = 0; t < k && idx[i * k] < 0; t++)
            {
                int j = (int)(rng.Next() % (ulong)n);
                if (j == i) continue;
                // Both ways and measured as the joins measure (see JoinPoint).
                Distance.SquaredToMany(x, norms, i, [j], one);
                Push(i, j, one[0], dist, idx, isNew, k);
                Push(j, i, one[0], dist, idx, isNew, k);
            }

        var newCand = new int[n * maxCandidates];
        var oldCand = new int[n * maxCandidates];
        var newPri = new float[n * maxCandidates];
        var oldPri = new float[n * maxCandidates];
        var hasNew = new bool[n];
        int blocks = (n + Block - 1) / Block;
        // Blocks are joined a group at a time and the group's updates applied before the next group, which bounds the
        // memory held by pending updates and lets later groups prune against tighter thresholds. The group's update lists
        // are reused from group to group (new ones, each past the large-object threshold, kept the collector busy).
        var groupUpdates = new List<(int, int, float)>[GroupSize];
        for (int t = 0; t < GroupSize; t++) groupUpdates[t] = [];
        for (int iter = 0; iter < o.MaxIterations; iter++)
        {
            o.CancellationToken.ThrowIfCancellationRequested();
            BuildCandidates(n, k, maxCandidates, idx, isNew, hasNew, newCand, oldCand, newPri, oldPri, rng.Next(), parallel);
            long changes = 0;
            for (int g0 = 0; g0 < blocks; g0 += GroupSize)
            {
                int g1 = Math.Min(blocks, g0 + GroupSize);
                Parallel.For(g0, g1, parallel, blk =>
                {
                    var list = groupUpdates[blk - g0];
                    list.Clear();
                    int i1 = Math.Min(n, (blk + 1) * Block);
                    var join = new JoinScratch(2 * maxCandidates);
                    for (int i = blk * Block; i < i1; i++)
                        JoinPoint(x, norms, newCand.AsSpan(i * maxCandidates, maxCandidates), oldCand.AsSpan(i * maxCandidates, maxCandidates),
                            idx, dist, k, list, join, o.EveryPair);
                });
                changes += ApplyParallel(groupUpdates, 0, g1 - g0, dist, idx, isNew, k, parallel);
            }
            if (changes <= o.Delta * n * k) break;
        }

        // Back to the caller's order, each list sorted closest first.
        var outIdx = new int[n * k];
        var outDist = new float[n * k];
        Parallel.For(0, (n + Block - 1) / Block, parallel, b =>
        {
            for (int i = b * Block, end = Math.Min(n, i + Block); i < end; i++)
            {
                int r = rank[i];
                var d = outDist.AsSpan(i * k, k);
                var j = outIdx.AsSpan(i * k, k);
                dist.AsSpan(r * k, k).CopyTo(d);
                idx.AsSpan(r * k, k).CopyTo(j);
                NeighborHeap.Sort(d, j);
                for (int t = 0; t < k; t++) { d[t] = Distance.Report(d[t], metric); j[t] = order[j[t]]; }
            }
        });
        return new KnnGraph(outIdx, outDist, n, k);
    }

    sealed class JoinScratch(int length)
    {
        public readonly int[] Partners = new int[length], Gathered = new int[length], Both = new int[length], OnlyP = new int[length], OnlyS = new int[length];
        public readonly float[] Found = new float[length], Found2 = new float[length], Dist = new float[length], Dist2 = new float[length];
        public readonly bool[] NeedP = new bool[length], NeedS = new bool[length];
    }

    /// <summary>
    /// Joins one point's sampled neighbours: each new candidate with the later new ones and with all old ones, two new
    /// candidates at a time so that the rows they meet are read once for both. A pair already in the first point's heap
    /// is not measured again: its push there would be a duplicate, and the other heap was offered the same distance when
    /// the pair first met (every update is pushed both ways, and a heap's bound only falls), so skipping it leaves every
    /// heap as it would be. The pairs measured are queued in the order of one candidate at a time.
    /// </summary>
    static void JoinPoint(Matrix x, float[] norms, ReadOnlySpan<int> nc, ReadOnlySpan<int> oc, int[] idx, float[] dist, int k,
        List<(int, int, float)> list, JoinScratch w, bool everyPair)
    {
        int na = nc.IndexOf(-1);
        if (na < 0) na = nc.Length;
        int no = oc.IndexOf(-1);
        if (no < 0) no = oc.Length;
        var partners = w.Partners;
        for (int a = 0; a < na; a += everyPair ? 1 : 2)
        {
            // The partners of nc[a + 1] are those of nc[a] less nc[a + 1] itself (the first of them).
            int p = nc[a], m = na - a - 1 + no;
            if (m == 0) break;
            nc[(a + 1)..na].CopyTo(partners);
            oc[..no].CopyTo(partners.AsSpan(na - a - 1));
            if (everyPair)
            {
                // The reference: this candidate alone, every partner measured.
                for (int t = 0; t < m; t++) w.NeedP[t] = partners[t] != p;
                Distance.SquaredToMany(x, norms, p, partners.AsSpan(0, m), w.Found);
                Offer(list, p, partners.AsSpan(0, m), w.Found, w.NeedP, dist, k);
                continue;
            }
            bool pair = a + 1 < na;
            int s = pair ? nc[a + 1] : -1;
            ReadOnlySpan<int> hp = idx.AsSpan(p * k, k), hs = pair ? idx.AsSpan(s * k, k) : default;
            int nb = 0, np = 0, ns = 0;
            for (int t = 0; t < m; t++)
            {
                int q = partners[t];
                bool forP = q != p && !hp.Contains(q);
                bool forS = pair && q != s && !hs.Contains(q);
                w.NeedP[t] = forP; w.NeedS[t] = forS;
                if (forP && forS) w.Both[nb++] = t;
                else if (forP) w.OnlyP[np++] = t;
                else if (forS) w.OnlyS[ns++] = t;
            }
            if (nb > 0)
            {
                for (int u = 0; u < nb; u++) w.Gathered[u] = partners[w.Both[u]];
                Distance.SquaredToMany2(x, norms, p, s, w.Gathered.AsSpan(0, nb), w.Dist, w.Dist2);
                for (int u = 0; u < nb; u++) { w.Found[w.Both[u]] = w.Dist[u]; w.Found2[w.Both[u]] = w.Dist2[u]; }
            }
            if (np > 0)
            {
                for (int u = 0; u < np; u++) w.Gathered[u] = partners[w.OnlyP[u]];
                Distance.SquaredToMany(x, norms, p, w.Gathered.AsSpan(0, np), w.Dist);
                for (int u = 0; u < np; u++) w.Found[w.OnlyP[u]] = w.Dist[u];
            }
            if (ns > 0)
            {
                for (int u = 0; u < ns; u++) w.Gathered[u] = partners[w.OnlyS[u]];
                Distance.SquaredToMany(x, norms, s, w.Gathered.AsSpan(0, ns), w.Dist);
                for (int u = 0; u < ns; u++) w.Found2[w.OnlyS[u]] = w.Dist[u];
            }
            Offer(list, p, partners.AsSpan(0, m), w.Found, w.NeedP, dist, k);
            if (pair) Offer(list, s, partners.AsSpan(0, m), w.Found2, w.NeedS, dist, k);
        }
    }

    /// <summary>Queues the pairs (p, q) measured (where <paramref name="need"/> says so) that would enter either heap.</summary>
    static void Offer(List<(int, int, float)> list, int p, ReadOnlySpan<int> partners, ReadOnlySpan<float> found, ReadOnlySpan<bool> need, float[] dist, int k)
    {
        float dp = dist[p * k];
        for (int t = 0; t < partners.Length; t++)
        {
            if (!need[t]) continue;
            int q = partners[t];
            float d = found[t];
            // Heaps are not written while a group is joined, so these thresholds are stable.
            if (d < dp || d < dist[q * k]) list.Add((p, q, d));
        }
    }

    static int Push(int p, int q, float d, float[] dist, int[] idx, bool[] isNew, int k)
    {
        var hd = dist.AsSpan(p * k, k);
        if (d >= hd[0]) return 0;
        var hi = idx.AsSpan(p * k, k);
        for (int t = 0; t < k; t++) if (hi[t] == q) return 0;
        // Sift down from the root carrying the "new" flags along.
        var hn = isNew.AsSpan(p * k, k);
        int i = 0;
        while (true)
        {
            int l = 2 * i + 1, r = l + 1;
            if (l >= k) break;
            int c = r < k && hd[r] > hd[l] ? r : l;
            if (hd[c] <= d) break;
            hd[i] = hd[c]; hi[i] = hi[c]; hn[i] = hn[c];
            i = c;
        }
        hd[i] = d; hi[i] = q; hn[i] = true;
        return 1;
    }

    /// <summary>
    /// Applies the updates of blocks [b0, b1) in block order. Each update pushes into the heaps of both its points; the
    /// points are dealt to the threads in stripes of 256 and each thread makes the pushes that land in its stripes, in
    /// the same order as a single thread would, so the heaps end the same whatever the number of threads. (Stripes, not
    /// halves: the data are in leaf order, so a group's updates land near the points that made them, and halves would
    /// give them all to one thread.)
    /// </summary>
    static long ApplyParallel(List<(int P, int Q, float D)>[] blocks, int b0, int b1, float[] dist, int[] idx, bool[] isNew, int k, ParallelOptions parallel)
    {
        int ranges = Math.Max(1, parallel.MaxDegreeOfParallelism);
        var counts = new long[ranges];
        Parallel.For(0, ranges, parallel, r =>
        {
            long c = 0;
            for (int blk = b0; blk < b1; blk++)
                foreach (var (p, q, d) in blocks[blk])
                {
                    if ((p >> 8) % ranges == r) c += Push(p, q, d, dist, idx, isNew, k);
                    if ((q >> 8) % ranges == r) c += Push(q, p, d, dist, idx, isNew, k);
                }
            counts[r] = c;
        });
        return counts.Sum();
    }

    /// <summary>
    /// For every point, samples up to <paramref name="max"/> new and old candidates from its neighbours and its reverse
    /// neighbours (random priorities keep the lowest), and marks sampled new neighbours as old. An edge's priority is a
    /// hash of the round's seed and the edge, so the point ranges can be filled by different threads (each scans every
    /// edge and keeps those that land in its range) with the same result as one.
    /// </summary>
    static void BuildCandidates(int n, int k, int max, int[] idx, bool[] isNew, bool[] hasNew, int[] newCand, int[] oldCand,
        float[] newPri, float[] oldPri, ulong seed, ParallelOptions parallel)
    {
        int ranges = Math.Max(1, parallel.MaxDegreeOfParallelism);
        Parallel.For(0, ranges, parallel, r =>
        {
            int lo = (int)((long)n * r / ranges), hi = (int)((long)n * (r + 1) / ranges);
            newCand.AsSpan(lo * max, (hi - lo) * max).Fill(-1); oldCand.AsSpan(lo * max, (hi - lo) * max).Fill(-1);
            newPri.AsSpan(lo * max, (hi - lo) * max).Fill(float.PositiveInfinity); oldPri.AsSpan(lo * max, (hi - lo) * max).Fill(float.PositiveInfinity);
            // Old candidates are only ever joined with new ones: a point that will have no new candidate (no new edge
            // from or to it) needs none, which in the later rounds is most points.
            hasNew.AsSpan(lo, hi - lo).Clear();
            for (int i = 0; i < n; i++)
                for (int t = 0; t < k; t++)
                {
                    if (!isNew[i * k + t]) continue;
                    int j = idx[i * k + t];
                    if (i >= lo && i < hi) hasNew[i] = true;
                    if (j >= lo && j < hi) hasNew[j] = true;
                }
            for (int i = 0; i < n; i++)
                for (int t = 0; t < k; t++)
                {
                    int j = idx[i * k + t];
                    if (j < 0) continue;
                    bool mine = i >= lo && i < hi, theirs = j >= lo && j < hi;
                    if (!isNew[i * k + t]) { mine &= hasNew[i]; theirs = theirs && hasNew[j]; }
                    if (!mine && !theirs) continue;
                    var h = new SplitMix64(seed ^ ((ulong)(uint)i << 32 | (uint)t));
                    float pr = (float)h.NextDouble();
                    var (pri, cand) = isNew[i * k + t] ? (newPri, newCand) : (oldPri, oldCand);
                    if (mine) NeighborHeap.Push(pri.AsSpan(i * max, max), cand.AsSpan(i * max, max), pr, j, checkDuplicate: true);
                    if (theirs) NeighborHeap.Push(pri.AsSpan(j * max, max), cand.AsSpan(j * max, max), pr, i, checkDuplicate: true);
                }
        });
        // Only once every range is sampled (the scans above read every point's flags) are the flags changed.
        Parallel.For(0, ranges, parallel, r =>
        {
            int lo = (int)((long)n * r / ranges), hi = (int)((long)n * (r + 1) / ranges);
            for (int i = lo; i < hi; i++)
            {
                var nc = newCand.AsSpan(i * max, max);
                for (int t = 0; t < k; t++)
                {
                    if (!isNew[i * k + t]) continue;
                    if (nc.Contains(idx[i * k + t])) isNew[i * k + t] = false;
                }
                Compact(nc);
                Compact(oldCand.AsSpan(i * max, max));
            }
        });
    }

    /// <summary>Moves the valid (≥ 0) entries to the front so loops can stop at the first −1.</summary>
    static void Compact(Span<int> c)
    {
        int w = 0;
        for (int r = 0; r < c.Length; r++) if (c[r] >= 0) c[w++] = c[r];
        c[w..].Fill(-1);
    }
}
