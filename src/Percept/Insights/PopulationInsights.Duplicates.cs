using Percept.Neighbors;

namespace Percept.Insights;

public static partial class PopulationInsights
{
    /// <summary>
    /// Near duplicates (neighbours closer than a hundredth of the median nearest-neighbour distance), exact duplicates (the
    /// same input content), and leakage: duplicates whose two samples are in different splits.
    /// </summary>
    static void Duplicates(Population population, KnnGraph graph, int[] finite, int k, List<InsightCard> cards, Func<int, InsightSample> sample)
    {
        int n = population.Labels.Length;
        var nearest = Enumerable.Range(0, finite.Length).Select(r => (double)graph.DistancesOf(r)[0]).Order().ToArray();
        double threshold = 0.01 * Quantile(nearest, 0.5);
        var pairs = new List<(int A, int B, bool Exact)>();
        var seen = new HashSet<(int, int)>();
        if (population.ContentHashes is { } hashes)
            foreach (var group in Enumerable.Range(0, n).Where(i => hashes[i] != 0).GroupBy(i => hashes[i]).Where(g => g.Count() > 1))
            {
                var members = group.Order().ToArray();
                foreach (int other in members.Skip(1))
                    if (seen.Add((members[0], other))) pairs.Add((members[0], other, true));
            }
        // Near duplicates: neighbours the model perceives as identical, or (with input sketches) neighbours whose inputs
        // differ by less than a tenth of their size: ‖x_a − x_b‖ < 0.1 · (‖x_a‖ + ‖x_b‖)/2, a noisy or re-encoded copy.
        var sketches = population.InputSketches;
        bool CloseInputs(int a, int b)
        {
            if (sketches == null) return false;
            var sa = sketches.Row(a); var sb = sketches.Row(b);
            int w = Population.SketchWidth;
            double d = Math.Sqrt(System.Numerics.Tensors.TensorPrimitives.SumOfSquares<float>(Difference(sa[..w], sb[..w])));
            return d < 0.1 * (sa[w] + sb[w]) / 2;
        }
        for (int r = 0; r < finite.Length; r++)
        {
            var nb = graph.NeighborsOf(r); var dist = graph.DistancesOf(r);
            for (int t = 0; t < k; t++)
            {
                int a = Math.Min(finite[r], finite[nb[t]]), b = Math.Max(finite[r], finite[nb[t]]);
                if ((dist[t] <= threshold || CloseInputs(a, b)) && seen.Add((a, b))) pairs.Add((a, b, false));
            }
        }
        if (pairs.Count == 0) return;
        int exact = pairs.Count(p => p.Exact);
        cards.Add(new InsightCard("near-duplicates", pairs.Count > 0.01 * n ? "warning" : "info",
            exact > 0 ? $"{pairs.Count} pairs of duplicate samples ({exact} with identical inputs, {pairs.Count - exact} the model perceives as identical)"
                      : $"{pairs.Count} pairs of samples the model perceives as (near) identical", [],
            new Dictionary<string, object> { ["pairs"] = pairs.Count, ["exact_pairs"] = exact, ["perceived_pairs"] = pairs.Count - exact, ["distance_threshold"] = threshold },
            [], pairs.Take(MaxSamplesPerCard).Select(p => new[] { sample(p.A), sample(p.B) }).ToArray(),
            "keep one of each pair, and keep pairs out of different splits") { Impact = ImpactOfDuplicate * pairs.Count });
        if (population.Splits is { } splits && splits.Distinct().Count() > 1)
        {
            var leaks = pairs.Where(p => splits[p.A] != splits[p.B]).ToArray();
            if (leaks.Length > 0)
                cards.Add(new InsightCard("leakage", "critical",
                    $"{leaks.Length} duplicate pairs cross splits ({string.Join(" / ", leaks.Select(p => string.Join(" ↔ ", new[] { splits[p.A], splits[p.B] }.Order())).Distinct())})", [],
                    new Dictionary<string, object> { ["pairs"] = leaks.Length, ["exact_pairs"] = leaks.Count(p => p.Exact) },
                    [], leaks.Take(MaxSamplesPerCard).Select(p => new[] { sample(p.A), sample(p.B) }).ToArray(),
                    "the same (or a perceptually identical) sample is in two splits: an evaluation on one measures memory of the other; remove one of each pair")
                    { Impact = leaks.Length });
        }
    }
}
