using Percept.Neighbors;

namespace Percept.Insights;

/// <summary>
/// Clusters of the k-NN graph by label propagation (Raghavan, Albert and Kumara 2007): every sample starts in its own
/// cluster and, visiting the samples in a seeded random order, takes the cluster most of its neighbours (both the
/// samples it lists and those that list it, weighted by similarity) are in, until almost nothing moves. Linear in the
/// number of edges (a round visits only the samples next to the last moves), no number of clusters to choose, deterministic
/// for a seed. Clusters smaller than a minimum size
/// are marked −1 (no cluster).
/// </summary>
public static class Communities
{
    /// <param name="graph">The k-NN graph over <paramref name="graph"/>.Count samples (cosine distances).</param>
    /// <param name="minSize">Clusters with fewer samples get −1.</param>
    /// <returns>Each sample's cluster, numbered from the largest (0) down.</returns>
    public static int[] LabelPropagation(KnnGraph graph, int minSize, ulong seed = 1, int maxRounds = 30)
    {
        int n = graph.Count, k = graph.K;
        // Undirected weighted adjacency: i lists j, or j lists i.
        var degree = new int[n];
        for (int i = 0; i < n; i++) foreach (int j in graph.NeighborsOf(i)) { degree[i]++; degree[j]++; }
        var start = new int[n + 1];
        for (int i = 0; i < n; i++) start[i + 1] = start[i] + degree[i];
        var adjacent = new int[start[n]];
        var weight = new float[start[n]];
        var fill = (int[])start.Clone();
        for (int i = 0; i < n; i++)
        {
            var nb = graph.NeighborsOf(i); var d = graph.DistancesOf(i);
            for (int t = 0; t < k; t++)
            {
                float w = Math.Max(1e-3f, 1 - d[t]);
                adjacent[fill[i]] = nb[t]; weight[fill[i]++] = w;
                adjacent[fill[nb[t]]] = i; weight[fill[nb[t]]++] = w;
            }
        }
        var label = Enumerable.Range(0, n).ToArray();
        var order = Enumerable.Range(0, n).ToArray();
        var rng = new SplitMix64(seed);
        // Each label's vote, indexed by label (labels are sample indices), and the labels a sample's neighbours carry: the
        // votes are summed in edge order into a dense array and only the touched entries are read and cleared, a constant
        // time per edge instead of a dictionary's hashing.
        var vote = new float[n];
        var touched = new int[Math.Max(1, degree.DefaultIfEmpty(0).Max())];
        // A sample whose neighbours' labels have not changed since it last voted would vote the same way again and stay:
        // only samples next to a move are visited again (the same clusters as visiting every sample each round, for a
        // fraction of the work once the clusters settle).
        var stale = new bool[n];
        Array.Fill(stale, true);
        for (int round = 0; round < maxRounds; round++)
        {
            rng.Shuffle(order.AsSpan());
            int moved = 0;
            foreach (int i in order)
            {
                if (!stale[i]) continue;
                stale[i] = false;
                int m = 0;
                for (int e = start[i]; e < start[i + 1]; e++)
                {
                    int l = label[adjacent[e]];
                    if (vote[l] == 0) touched[m++] = l;   // weights are at least 1e-3: a touched label's vote is never 0
                    vote[l] += weight[e];
                }
                if (m == 0) continue;
                // The heaviest cluster; ties go to the sample's own, then to the smallest label (deterministic).
                int best = -1;
                float bestVote = float.NegativeInfinity;
                for (int t = 0; t < m; t++)
                {
                    int l = touched[t];
                    float v = vote[l];
                    vote[l] = 0;
                    if (v > bestVote || (v == bestVote && (l == label[i] || (best != label[i] && l < best)))) { best = l; bestVote = v; }
                }
                if (best < 0) continue; // every vote NaN (a broken distance): the sample keeps its cluster
                if (best != label[i])
                {
                    label[i] = best;
                    moved++;
                    for (int e = start[i]; e < start[i + 1]; e++) stale[adjacent[e]] = true;
                }
            }
            if (moved <= n / 1000) break;
        }
        // Number the clusters from the largest; the small ones are no cluster.
        var sizes = label.GroupBy(l => l).Where(g => g.Count() >= minSize).OrderByDescending(g => g.Count()).ThenBy(g => g.Key).Select(g => g.Key).ToArray();
        var number = new Dictionary<int, int>();
        for (int c = 0; c < sizes.Length; c++) number[sizes[c]] = c;
        return label.Select(l => number.TryGetValue(l, out int c) ? c : -1).ToArray();
    }
}
