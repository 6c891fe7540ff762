
namespace Percept.Insights;

public static partial class PopulationInsights
{
    /// <summary>
    /// Weak clusters: clusters of at least ten samples (and a five-hundredth of the population) whose error rate is at least
    /// twice the population's and three standard errors above it (binomial), each with the metadata values over-represented
    /// in it: a category twice as common as in the population, or a numeric field's lowest or highest tenth twice as common.
    /// </summary>
    static void WeakClusters(Population population, int[] cluster, List<InsightCard> cards, Func<int, string> name, Func<int, InsightSample> sample)
    {
        var correct = population.Correct!;
        var loss = population.Loss;
        var labels = population.Labels;
        var judged = Enumerable.Range(0, labels.Length).Where(i => correct[i] != null).ToArray();
        double errorRate = judged.Count(i => correct[i] == false) / (double)Math.Max(1, judged.Length);
        double meanLoss = loss != null ? judged.Select(i => (double)loss[i]).Where(double.IsFinite).DefaultIfEmpty(0).Average() : double.NaN;
        if (errorRate <= 0) return;
        int minSize = Math.Max(10, labels.Length / 500);
        var weak = new List<(int Cluster, int[] Members, double Rate, double Z)>();
        foreach (var g in judged.Where(i => cluster[i] >= 0).GroupBy(i => cluster[i]))
        {
            var members = g.ToArray();
            if (members.Length < minSize) continue;
            double rate = members.Count(i => correct[i] == false) / (double)members.Length;
            double z = (rate - errorRate) / Math.Sqrt(errorRate * (1 - errorRate) / members.Length);
            if (rate >= 2 * errorRate && z >= 3) weak.Add((g.Key, members, rate, z));
        }
        foreach (var (id, members, rate, z) in weak.OrderByDescending(w => w.Z).Take(8))
        {
            var over = OverRepresented(population, members);
            var top = members.Where(i => labels[i] >= 0).GroupBy(i => labels[i]).OrderByDescending(g => g.Count()).Take(2).ToArray();
            double clusterLoss = loss != null ? members.Select(i => (double)loss[i]).Where(double.IsFinite).DefaultIfEmpty(0).Average() : double.NaN;
            var evidence = new Dictionary<string, object>
            {
                ["cluster"] = id, ["size"] = members.Length, ["error_rate"] = Math.Round(rate, 4), ["population_error_rate"] = Math.Round(errorRate, 4),
                ["z"] = Math.Round(z, 2), ["over_represented"] = over.Select(o => o.Text).ToArray(),
            };
            if (double.IsFinite(clusterLoss)) { evidence["mean_loss"] = Math.Round(clusterLoss, 4); evidence["population_mean_loss"] = Math.Round(meanLoss, 4); }
            string mostly = top.Length > 0 ? $", mostly {name(top[0].Key)}" : "";
            cards.Add(new InsightCard("weak-cluster", rate >= 0.5 && members.Length >= 0.01 * labels.Length ? "critical" : "warning",
                $"cluster {id} ({members.Length} samples{mostly}): {100 * rate:F0}% errors against {100 * errorRate:F0}% overall{(over.Count > 0 ? $"; {over[0].Text}" : "")}",
                top.Select(g => name(g.Key)).ToArray(), evidence,
                members.OrderByDescending(i => loss != null && float.IsFinite(loss[i]) ? loss[i] : correct[i] == false ? 1 : 0).Take(MaxSamplesPerCard).Select(sample).ToArray(), null,
                over.Count > 0 ? "the model fails on this group: what its samples share (above) says which data to add or fix"
                               : "the model fails on this group: look at its samples for what they share, and add training data like them")
            { Impact = members.Length * (rate - errorRate) });
        }
    }

    /// <summary>The metadata values over-represented among <paramref name="members"/>, strongest first.</summary>
    static List<(string Text, double Ratio)> OverRepresented(Population population, int[] members)
    {
        var found = new List<(string, double)>();
        int n = population.Labels.Length;
        foreach (var column in population.Metadata)
        {
            if (column.Categories is { } cats)
            {
                foreach (var g in members.Where(i => cats[i] != null).GroupBy(i => cats[i]!))
                {
                    if (g.Count() < 5) continue;
                    double share = g.Count() / (double)members.Length, overall = cats.Count(v => v == g.Key) / (double)n;
                    if (share >= 2 * overall) found.Add(($"{column.Name} = {g.Key} is {share / overall:F1}× more common here", share / overall));
                }
            }
            else if (column.Numbers is { } values)
            {
                var all = values.Where(float.IsFinite).Select(v => (double)v).Order().ToArray();
                if (all.Length < 20) continue;
                double lo = Quantile(all, 0.1), hi = Quantile(all, 0.9);
                var inside = members.Select(i => values[i]).Where(float.IsFinite).ToArray();
                if (inside.Length < 5) continue;
                double below = inside.Count(v => v < lo) / (double)inside.Length, belowAll = all.Count(v => v < lo) / (double)all.Length;
                double above = inside.Count(v => v > hi) / (double)inside.Length, aboveAll = all.Count(v => v > hi) / (double)all.Length;
                if (belowAll > 0 && below >= 2 * belowAll && inside.Count(v => v < lo) >= 5)
                    found.Add(($"{column.Name} < {lo:G3} is {below / belowAll:F1}× more common here", below / belowAll));
                if (aboveAll > 0 && above >= 2 * aboveAll && inside.Count(v => v > hi) >= 5)
                    found.Add(($"{column.Name} > {hi:G3} is {above / aboveAll:F1}× more common here", above / aboveAll));
            }
        }
        return found.OrderByDescending(f => f.Item2).ToList();
    }

    /// <summary>For every metadata field, how it goes with the loss (Spearman) and the errors (by tenth, or by category).</summary>
    static List<MetadataAssociation> Associations(Population population)
    {
        var result = new List<MetadataAssociation>();
        var correct = population.Correct!;
        var loss = population.Loss;
        int n = population.Labels.Length;
        double Rate(IEnumerable<int> rows) { var r = rows.Where(i => correct[i] != null).ToArray(); return r.Length == 0 ? double.NaN : Math.Round(r.Count(i => correct[i] == false) / (double)r.Length, 4); }
        foreach (var column in population.Metadata)
        {
            var rates = new Dictionary<string, double>();
            var counts = new Dictionary<string, int>();
            double? spearman = null;
            if (column.Numbers is { } values)
            {
                var rows = Enumerable.Range(0, n).Where(i => float.IsFinite(values[i])).ToArray();
                if (rows.Length < 20) continue;
                if (loss != null)
                {
                    var both = rows.Where(i => float.IsFinite(loss[i])).ToArray();
                    if (both.Length > 2) spearman = Math.Round(Numerics.Spearman(both.Select(i => (double)values[i]).ToArray(), both.Select(i => (double)loss[i]).ToArray()), 4);
                }
                var ordered = rows.OrderBy(i => values[i]).ToArray();
                int tenth = Math.Max(1, ordered.Length / 10);
                rates["lowest 10%"] = Rate(ordered.Take(tenth)); counts["lowest 10%"] = tenth;
                rates["highest 10%"] = Rate(ordered.Skip(ordered.Length - tenth)); counts["highest 10%"] = tenth;
                rates["all"] = Rate(rows); counts["all"] = rows.Length;
                result.Add(new MetadataAssociation(column.Name, "numeric", spearman, rates, counts));
            }
            else if (column.Categories is { } cats)
            {
                foreach (var g in Enumerable.Range(0, n).Where(i => cats[i] != null).GroupBy(i => cats[i]!).OrderByDescending(g => g.Count()).Take(20))
                {
                    rates[g.Key] = Rate(g); counts[g.Key] = g.Count();
                }
                result.Add(new MetadataAssociation(column.Name, "categorical", null, rates, counts));
            }
        }
        return result;
    }
}
