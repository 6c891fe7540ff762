using Percept.Neighbors;

namespace Percept.Insights;

public static partial class PopulationInsights
{
    /// <summary>
    /// Rare variants: small groups of a class that the model perceives among another class. Two shapes: samples of class c
    /// whose neighbours are mostly class b and who are neighbours of one another (a group, not scattered points: at least
    /// three, a fifth of their neighbour edges inside the group), and clusters of the k-NN graph made mostly of class c
    /// that hold under a fifth of c and whose edges leave mostly for class b. Returns the samples in such groups.
    /// </summary>
    static HashSet<int> RareVariants(Population population, KnnGraph graph, int[] finite, int[] clusters, float[] agreement, List<InsightCard> cards,
        Func<int, string> name, Func<int, InsightSample> sample)
    {
        var (_, labels, _, classes, _, _) = population;
        var classCount = new int[classes];
        foreach (int l in labels) if (l >= 0 && l < classes) classCount[l]++;
        var votes = new Votes(labels, finite, classes);
        var groups = NeighborPockets(labels, graph, finite, classes, agreement, classCount, votes);
        groups.AddRange(ClusterPockets(labels, graph, finite, classes, clusters, classCount, votes));
        groups.AddRange(BesidePockets(labels, graph, finite, classes, classCount, votes));
        return VariantCards(population, groups, finite, classCount, agreement, cards, name, sample);
    }

    /// <summary>The class most common among the given graph rows' labels, leaving one class out (−1: none); rows −1 are skipped.</summary>
    sealed class Votes(int[] labels, int[] finite, int classes)
    {
        readonly int[] _votes = new int[classes];
        readonly List<int> _touched = [];

        public int Majority(IEnumerable<int> rows, int exclude)
        {
            foreach (int j in rows)
            {
                if (j < 0) continue;
                int l = labels[finite[j]];
                if (l < 0 || l >= classes || l == exclude) continue;
                if (_votes[l]++ == 0) _touched.Add(l);
            }
            int best = -1;
            foreach (int c in _touched) if (best < 0 || _votes[c] > _votes[best] || (_votes[c] == _votes[best] && c < best)) best = c;
            foreach (int c in _touched) _votes[c] = 0;
            _touched.Clear();
            return best;
        }
    }

    /// <summary>
    /// The first shape: samples of class c whose neighbours mostly carry another label b, grouped by (c, b) into groups
    /// connected in the graph (either direction), grown by their edge, kept when at least three, under a fifth of c, and a
    /// fifth of their neighbour edges inside the group.
    /// </summary>
    static List<(int Class, int Among, int[] Rows, double Cohesion, bool Beside)> NeighborPockets(int[] labels, KnnGraph graph, int[] finite, int classes,
        float[] agreement, int[] classCount, Votes votes)
    {
        var groups = new List<(int Class, int Among, int[] Rows, double Cohesion, bool Beside)>();
        // Samples whose neighbours mostly carry another label b, grouped by (label, b).
        var candidates = new Dictionary<(int, int), HashSet<int>>();
        for (int r = 0; r < finite.Length; r++)
        {
            int c = labels[finite[r]];
            if (c < 0 || c >= classes || !(agreement[finite[r]] < 0.5f)) continue;
            int b = votes.Majority(graph.NeighborsOf(r).ToArray(), c);
            int among = graph.NeighborsOf(r).ToArray().Count(j => j >= 0 && labels[finite[j]] == b);
            if (b < 0 || among * 2 <= graph.K) continue;
            if (!candidates.TryGetValue((c, b), out var set)) candidates[(c, b)] = set = [];
            set.Add(r);
        }
        foreach (var ((c, b), set) in candidates)
        {
            var visited = new HashSet<int>();
            foreach (var component in Components(set, graph, visited))
            {
                // The pocket's edge: samples of the class that list at least two of the group among their neighbours and
                // whose neighbours are at most half their own class, the rest mostly b (a member may see as many of its
                // own as of the class around it).
                var members = component.ToHashSet();
                for (bool grew = component.Count >= 2; grew;)
                {
                    grew = false;
                    foreach (int r in component.ToArray())
                        foreach (int j in graph.NeighborsOf(r))
                            if (j >= 0 && !members.Contains(j) && labels[finite[j]] == c && agreement[finite[j]] <= 0.5f
                                && votes.Majority(graph.NeighborsOf(j).ToArray(), c) == b && graph.NeighborsOf(j).ToArray().Count(members.Contains) >= 2)
                            { members.Add(j); component.Add(j); visited.Add(j); grew = true; }
                }
                if (component.Count < 3 || component.Count > 0.2 * classCount[c]) continue;
                double cohesion = component.Average(r => graph.NeighborsOf(r).ToArray().Count(members.Contains) / (double)graph.K);
                if (cohesion >= 0.2) groups.Add((c, b, [.. component], cohesion, false));
            }
        }
        return groups;
    }

    /// <summary>
    /// The second shape: clusters of the k-NN graph made mostly of one class c, apart from that class's main cluster,
    /// holding under a fifth of c, whose edges leave mostly for another class.
    /// </summary>
    static IEnumerable<(int Class, int Among, int[] Rows, double Cohesion, bool Beside)> ClusterPockets(int[] labels, KnnGraph graph, int[] finite, int classes,
        int[] clusters, int[] classCount, Votes votes)
    {
        var byCluster = Enumerable.Range(0, finite.Length).Where(r => clusters[r] >= 0).GroupBy(r => clusters[r]).ToDictionary(g => g.Key, g => g.ToArray());
        // Each class's main cluster: the one holding most of it (ties: the one met first).
        var main = new int[classes];
        var mainCount = new int[classes];
        Array.Fill(main, -1);
        foreach (var (id, rows) in byCluster)
            foreach (var g in rows.Where(r => labels[finite[r]] >= 0 && labels[finite[r]] < classes).GroupBy(r => labels[finite[r]]))
                if (g.Count() > mainCount[g.Key]) { mainCount[g.Key] = g.Count(); main[g.Key] = id; }
        foreach (var (id, rows) in byCluster)
        {
            var known = rows.Where(r => labels[finite[r]] >= 0 && labels[finite[r]] < classes).ToArray();
            if (known.Length < 3) continue;
            int c = known.GroupBy(r => labels[finite[r]]).MaxBy(g => g.Count())!.Key;
            var ofClass = known.Where(r => labels[finite[r]] == c).ToArray();
            if (ofClass.Length < 0.6 * known.Length || id == main[c] || ofClass.Length >= 0.2 * classCount[c] || ofClass.Length < 3) continue;
            var inside = rows.ToHashSet();
            int b = votes.Majority(ofClass.SelectMany(r => graph.NeighborsOf(r).ToArray()).Where(j => j >= 0 && !inside.Contains(j)), -1);
            if (b < 0 || b == c) continue;
            double cohesion = ofClass.Average(r => graph.NeighborsOf(r).ToArray().Count(inside.Contains) / (double)graph.K);
            yield return (c, b, ofClass, cohesion, false);
        }
    }

    /// <summary>
    /// The third shape: a tight group of class c beside another class b, apart from the rest of c, though the model may
    /// get it right (the seed's 4s with a closed top beside the 9s). Samples of c with at least <see cref="BesideShare"/> of
    /// their neighbours labelled b, connected in the graph (either direction), kept when at least three and under a fifth
    /// of c, when on average at least <see cref="BesideShare"/> of their neighbours are the group itself, as many are b, and
    /// at most <see cref="BesideRest"/> are the rest of c.
    /// </summary>
    static IEnumerable<(int Class, int Among, int[] Rows, double Cohesion, bool Beside)> BesidePockets(int[] labels, KnnGraph graph, int[] finite, int classes,
        int[] classCount, Votes votes)
    {
        var candidates = new Dictionary<(int, int), HashSet<int>>();
        for (int r = 0; r < finite.Length; r++)
        {
            int c = labels[finite[r]];
            if (c < 0 || c >= classes) continue;
            var nb = graph.NeighborsOf(r).ToArray();
            int b = votes.Majority(nb.Where(j => j >= 0), c);
            if (b < 0 || nb.Count(j => j >= 0 && labels[finite[j]] == b) < BesideShare * graph.K) continue;
            if (!candidates.TryGetValue((c, b), out var set)) candidates[(c, b)] = set = [];
            set.Add(r);
        }
        foreach (var ((c, b), set) in candidates)
            foreach (var component in Components(set, graph, []))
            {
                if (component.Count < 3 || component.Count > 0.2 * classCount[c]) continue;
                var members = component.ToHashSet();
                double inside = 0, foreign = 0, rest = 0;
                foreach (int r in component)
                    foreach (int j in graph.NeighborsOf(r))
                    {
                        if (j < 0) continue;
                        if (members.Contains(j)) inside++;
                        else if (labels[finite[j]] == b) foreign++;
                        else if (labels[finite[j]] == c) rest++;
                    }
                double edges = component.Count * (double)graph.K;
                if (inside / edges >= BesideShare && foreign / edges >= BesideShare && rest / edges <= BesideRest)
                    yield return (c, b, [.. component], inside / edges, true);
            }
    }

    /// <summary>
    /// The groups of <paramref name="set"/> connected in the graph, either direction (edges point one way: within the set,
    /// the samples that list one count as its neighbours too), seeded in row order; a row the caller adds to
    /// <paramref name="visited"/> between groups seeds none.
    /// </summary>
    static IEnumerable<List<int>> Components(HashSet<int> set, KnnGraph graph, HashSet<int> visited)
    {
        var listedBy = new Dictionary<int, List<int>>();
        foreach (int r in set)
            foreach (int j in graph.NeighborsOf(r))
                if (j >= 0 && set.Contains(j)) { if (!listedBy.TryGetValue(j, out var list)) listedBy[j] = list = []; list.Add(r); }
        foreach (int seed in set.Order())
        {
            if (!visited.Add(seed)) continue;
            var component = new List<int> { seed };
            for (int q = 0; q < component.Count; q++)
            {
                foreach (int j in graph.NeighborsOf(component[q])) if (j >= 0 && set.Contains(j) && visited.Add(j)) component.Add(j);
                if (listedBy.TryGetValue(component[q], out var back)) foreach (int j in back) if (visited.Add(j)) component.Add(j);
            }
            yield return component;
        }
    }

    /// <summary>A pocket beside another class: the least share of its neighbours that are the group, and that are the other class.</summary>
    const double BesideShare = 0.3;
    /// <summary>A pocket beside another class: the most share of its neighbours that are the rest of its own class.</summary>
    const double BesideRest = 0.2;

    /// <summary>Samples shown beside a variant, at most.</summary>
    const int TypicalSamples = 8;

    /// <summary>
    /// The typical samples of class <paramref name="c"/>, to show beside a variant of it: those whose neighbours all carry the
    /// label, then the model's most confident (when it gives class scores).
    /// </summary>
    static InsightSample[] Typical(Population population, int c, float[] agreement, Func<int, InsightSample> sample)
    {
        var (_, labels, probabilities, classes, _, _) = population;
        double Confidence(int i) => probabilities != null && float.IsFinite(probabilities[i * classes + c]) ? probabilities[i * classes + c] : 0;
        return Enumerable.Range(0, labels.Length).Where(i => labels[i] == c && !float.IsNaN(agreement[i]))
            .OrderByDescending(i => agreement[i]).ThenByDescending(Confidence).ThenBy(i => i).Take(TypicalSamples).Select(sample).ToArray();
    }

    /// <summary>One card per (class, class perceived among) with every pocket of it, largest first; returns the samples in them.</summary>
    static HashSet<int> VariantCards(Population population, List<(int Class, int Among, int[] Rows, double Cohesion, bool Beside)> groups, int[] finite,
        int[] classCount, float[] agreement, List<InsightCard> cards, Func<int, string> name, Func<int, InsightSample> sample)
    {
        // The groups of one class among another make one card (a class may have several such pockets).
        var taken = new HashSet<int>();
        var found = new List<(int Class, int Among, int[] Members, double Cohesion, bool Beside)>();
        foreach (var (c, b, rows, cohesion, beside) in groups.OrderByDescending(g => g.Rows.Length))
        {
            var fresh = rows.Where(r => !taken.Contains(finite[r])).Select(r => finite[r]).ToArray();
            if (fresh.Length < 3) continue;
            taken.UnionWith(fresh);
            found.Add((c, b, fresh, cohesion, beside));
        }
        bool?[]? correct = population.Correct;
        foreach (var g in found.GroupBy(f => (f.Class, f.Among)).OrderByDescending(g => g.Sum(f => f.Members.Length)).Take(8))
        {
            var (c, b) = g.Key;
            var members = g.OrderByDescending(f => f.Members.Length).SelectMany(f => f.Members).ToArray();
            var evidence = new Dictionary<string, object>
            {
                ["count"] = members.Length, ["groups"] = g.Count(), ["largest_group"] = g.Max(f => f.Members.Length), ["class_count"] = classCount[c],
                ["share_of_class"] = Math.Round(members.Length / (double)Math.Max(1, classCount[c]), 4), ["perceived_among"] = name(b),
                ["cohesion"] = Math.Round(g.Average(f => f.Cohesion), 3), ["mean_neighbor_agreement"] = Math.Round(members.Average(i => float.IsNaN(agreement[i]) ? 0 : agreement[i]), 3),
            };
            if (correct != null && members.Any(i => correct[i] != null))
                evidence["accuracy"] = Math.Round(members.Count(i => correct[i] == true) / (double)members.Count(i => correct[i] != null), 3);
            cards.Add(new InsightCard("rare-variant", "warning",
                $"{members.Length} samples of {name(c)} sit {(g.All(f => f.Beside) ? "beside" : "among")} {name(b)}{(g.Count() > 1 ? $" in {g.Count()} groups" : "")}: a variant with few examples",
                [name(c), name(b)], evidence, members.Take(MaxSamplesPerCard).Select(sample).ToArray(), null,
                $"if they are {name(c)}, add more examples like them (the model has few to learn this variant from); if they are {name(b)}, relabel them")
            {
                // Its errors, and half of each sample for the errors a variant with few examples invites.
                Impact = members.Length * (0.5 + (evidence.TryGetValue("accuracy", out var accuracy) ? 1 - (double)accuracy : 0.5)),
                Typical = Typical(population, c, agreement, sample),
            });
        }
        return taken;
    }
}
