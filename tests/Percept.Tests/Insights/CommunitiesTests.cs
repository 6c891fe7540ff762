using Percept.Core;
using Percept.Insights;
using Percept.Neighbors;

namespace Percept.Tests.Insights;

/// <summary>Label propagation over the k-NN graph: the same clusters as a plain dictionary-of-votes implementation, and planted groups found.</summary>
public class CommunitiesTests
{
    /// <summary>The algorithm as first written: votes in a dictionary, visited in insertion order.</summary>
    static int[] Reference(KnnGraph graph, int minSize, ulong seed = 1, int maxRounds = 30)
    {
        int n = graph.Count, k = graph.K;
        var adjacent = Enumerable.Range(0, n).Select(_ => new List<(int J, float W)>()).ToArray();
        for (int i = 0; i < n; i++)
        {
            var nb = graph.NeighborsOf(i); var d = graph.DistancesOf(i);
            for (int t = 0; t < k; t++)
            {
                float w = Math.Max(1e-3f, 1 - d[t]);
                adjacent[i].Add((nb[t], w));
                adjacent[nb[t]].Add((i, w));
            }
        }
        // The lists above are in the order the CSR arrays are filled: for each i in order, its own edge, then the reverse one.
        var label = Enumerable.Range(0, n).ToArray();
        var order = Enumerable.Range(0, n).ToArray();
        var rng = new SplitMix64(seed);
        var votes = new Dictionary<int, float>();
        for (int round = 0; round < maxRounds; round++)
        {
            rng.Shuffle(order.AsSpan());
            int moved = 0;
            foreach (int i in order)
            {
                votes.Clear();
                foreach (var (j, w) in adjacent[i]) votes[label[j]] = votes.GetValueOrDefault(label[j]) + w;
                if (votes.Count == 0) continue;
                int best = -1;
                float bestVote = float.NegativeInfinity;
                foreach (var (l, v) in votes)
                    if (v > bestVote || (v == bestVote && (l == label[i] || (best != label[i] && l < best)))) { best = l; bestVote = v; }
                if (best != label[i]) { label[i] = best; moved++; }
            }
            if (moved <= n / 1000) break;
        }
        var sizes = label.GroupBy(l => l).Where(g => g.Count() >= minSize).OrderByDescending(g => g.Count()).ThenBy(g => g.Key).Select(g => g.Key).ToArray();
        var number = new Dictionary<int, int>();
        for (int c = 0; c < sizes.Length; c++) number[sizes[c]] = c;
        return label.Select(l => number.TryGetValue(l, out int c) ? c : -1).ToArray();
    }

    /// <summary>Points around <paramref name="groups"/> centres in <paramref name="dims"/> dimensions, and their exact cosine k-NN graph.</summary>
    static (KnnGraph Graph, int[] Group) Planted(int n, int groups, int dims, int k, int seed, double spread)
    {
        var rng = new Random(seed);
        var centres = Enumerable.Range(0, groups).Select(_ => Enumerable.Range(0, dims).Select(_ => rng.NextDouble() * 2 - 1).ToArray()).ToArray();
        var group = Enumerable.Range(0, n).Select(i => i % groups).ToArray();
        var x = new Matrix(n, dims);
        for (int i = 0; i < n; i++)
            for (int d = 0; d < dims; d++) x.Row(i)[d] = (float)(centres[group[i]][d] + spread * (rng.NextDouble() * 2 - 1));
        return (ExactKnn.Search(x, k, Metric.Cosine), group);
    }

    [Theory]
    [InlineData(1, 500, 4, 8, 10, 0.3)]
    [InlineData(2, 1203, 7, 16, 10, 0.6)]
    [InlineData(3, 997, 3, 5, 6, 1.5)]     // loose groups: many ties and small clusters
    [InlineData(4, 64, 2, 3, 4, 0.2)]
    public void The_clusters_are_the_dictionary_implementations(int seed, int n, int groups, int dims, int k, double spread)
    {
        var (graph, _) = Planted(n, groups, dims, k, seed, spread);
        foreach (int minSize in new[] { 1, 5, n / 10 })
            foreach (ulong s in new ulong[] { 1, 7 })
                Assert.Equal(Reference(graph, minSize, s), Communities.LabelPropagation(graph, minSize, s));
    }

    [Fact]
    public void Well_separated_groups_are_never_mixed_in_a_cluster()
    {
        var (graph, group) = Planted(900, 3, 8, 10, 5, 0.1);
        var found = Communities.LabelPropagation(graph, minSize: 20);
        // A blob with no structure inside comes out as several clusters (label propagation splits it where chance puts the
        // first votes), but no cluster mixes two planted groups.
        foreach (var c in Enumerable.Range(0, 900).Where(i => found[i] >= 0).GroupBy(i => found[i]))
            Assert.Single(c.Select(i => group[i]).Distinct());
        Assert.True(found.Max() + 1 >= 3);
    }
}
