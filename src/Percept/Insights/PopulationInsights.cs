using System.Text.Json;
using System.Text.Json.Serialization;
using Percept.Neighbors;
using Percept.Store;

namespace Percept.Insights;

/// <summary>A sample a card points at.</summary>
public sealed record InsightSample(int Index, string Id);

/// <summary>
/// One finding about the population, with its numbers and the samples it is about, most telling first.
/// </summary>
/// <param name="Kind"><c>close-classes</c>, <c>suspected-mislabel</c>, <c>ambiguous</c>, <c>rare-variant</c>, <c>near-duplicates</c>,
/// <c>leakage</c>, <c>weak-cluster</c> or <c>outliers</c>.</param>
/// <param name="Severity"><c>info</c>, <c>warning</c> or <c>critical</c>.</param>
public sealed record InsightCard(string Kind, string Severity, string Title, IReadOnlyList<string> Classes, IReadOnlyDictionary<string, object> Evidence,
    IReadOnlyList<InsightSample> Samples, IReadOnlyList<InsightSample[]>? Pairs, string Action);

/// <summary>
/// How one metadata field goes with the loss and the errors: for a numeric field, the Spearman correlation with the loss
/// and the error rates of its lowest and highest tenth; for a categorical one, the error rate of each value.
/// </summary>
public sealed record MetadataAssociation(string Field, string Kind, double? SpearmanWithLoss, IReadOnlyDictionary<string, double> ErrorRate,
    IReadOnlyDictionary<string, int> Count);

/// <summary>How close the model perceives the classes: row a, column b is the share of class a's neighbour edges that land in class b.</summary>
public sealed record ClassProximity(IReadOnlyList<string> Classes, double[][] Matrix, double Spearman);

/// <summary>
/// What Percept finds in a run's perception vectors, and the per-sample scores behind it. Stored in the run as
/// <c>insights.json</c>; the document is described in docs/insights.md.
/// </summary>
/// <param name="Notes">What could not be computed, and why (no labels, no class scores, inputs that could not be read again).</param>
/// <param name="MetadataAssociations">For every metadata field, how it goes with the loss and the errors.</param>
/// <param name="LabelIssue">Per sample, in [0, 1]: how likely its label is wrong (NaN: unlabelled, or no class scores).</param>
/// <param name="NeighborAgreement">Per sample: the share of its neighbours that carry its label (NaN: unlabelled).</param>
/// <param name="OutlierScore">Per sample: the percentile of its mean distance to its neighbours.</param>
/// <param name="Cluster">Per sample: its cluster of the k-NN graph (−1: in none).</param>
public sealed record InsightsDocument(int Version, int Neighbors, ClassProximity? ClassProximity, IReadOnlyList<InsightCard> Insights,
    IReadOnlyList<string> Notes, IReadOnlyList<MetadataAssociation> MetadataAssociations,
    [property: JsonIgnore] float[] LabelIssue, [property: JsonIgnore] float[] NeighborAgreement, [property: JsonIgnore] float[] OutlierScore,
    [property: JsonIgnore] int[] Cluster)
{
    public const int CurrentVersion = 1;

    static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);
}

/// <summary>
/// Insights in perception space (the vectors, never the 2-D map, which can invent structure): which classes the model
/// perceives as close, which labels its confidence and its neighbours disagree with, which small groups of a class sit
/// among another (rare variants), which samples duplicate one another (also across splits), which clusters the model
/// fails on and what their samples share, which sit far from everything. Thresholds are relative to the run's own
/// distributions (quartiles, per-class confidence, the population's error rate), not tuned to one dataset.
/// </summary>
public static class PopulationInsights
{
    /// <summary>Samples listed in one card at most (enough for a gallery of the group); the card's evidence counts them all.</summary>
    const int MaxSamplesPerCard = 200;

    /// <summary>Insights of a finished run: its vectors, labels, probabilities, losses, splits, metadata and inputs.</summary>
    public static InsightsDocument Compute(Run run, int k = 10, CancellationToken cancellationToken = default) =>
        Compute(Population.FromRun(run, cancellationToken), k);

    /// <summary>Insights of perception vectors with their labels (−1: none) and, when the model gives class scores, probabilities (N × classes).</summary>
    public static InsightsDocument Compute(Matrix vectors, int[] labels, float[]? probabilities, int classes, IReadOnlyList<string> ids,
        IReadOnlyList<string>? classNames, int k = 10) =>
        Compute(new Population(vectors, labels, probabilities, classes, ids, classNames), k);

    /// <summary>Every insight the population's inputs allow; the document's notes say which could not be computed and why.</summary>
    /// <exception cref="PerceptException">Too few samples with finite perception vectors.</exception>
    public static InsightsDocument Compute(Population population, int k = 10)
    {
        var (_, labels, probabilities, classes, ids, classNames) = population;
        int n = labels.Length;
        var runGraph = population.Neighbors(k);
        var finite = runGraph.Finite;
        k = Math.Min(k, Math.Min(runGraph.Graph.K, finite.Length - 1));
        if (k < 1) throw new PerceptException($"{finite.Length} samples with finite perception vectors are too few for insights");
        var graph = runGraph.Compact(k);
        string Name(int c) => classNames != null && c >= 0 && c < classNames.Count ? classNames[c] : $"class {c}";
        InsightSample Sample(int i) => new(i, ids[i]);

        var agreement = Filled(n, float.NaN);
        var labelIssue = Filled(n, float.NaN);
        var outlier = Filled(n, float.NaN);
        var cluster = new int[n];
        cluster.AsSpan().Fill(-1);
        var cards = new List<InsightCard>();
        var notes = population.Notes.ToList();
        bool labelled = classes >= 2 && labels.Any(l => l >= 0);
        if (population.LabelProbabilityHistory is { } h)
            notes.Add($"label_issue uses the model's mean probability of each label over the {h.Columns} epochs of its training, not the last epoch's alone");
        if (!labelled) notes.Add("no labels (or no class scores): class proximity, suspected mislabels, ambiguous samples, rare variants and weak clusters need them; duplicates, outliers and clusters are here");
        else if (probabilities == null) notes.Add("the model gives no class scores: label_issue and the mislabel cards need them");

        // Outliers: the mean distance to the k nearest, as a percentile; far-out beyond Q3 + 3 IQR (Tukey).
        var meanDistance = new double[finite.Length];
        for (int r = 0; r < finite.Length; r++) { double s = 0; foreach (var d in graph.DistancesOf(r)) s += d; meanDistance[r] = s / k; }
        var sorted = meanDistance.Order().ToArray();
        double q1 = Quantile(sorted, 0.25), q3 = Quantile(sorted, 0.75), far = q3 + 3 * (q3 - q1);
        for (int r = 0; r < finite.Length; r++) outlier[finite[r]] = (float)(LowerBound(sorted, meanDistance[r]) / (double)Math.Max(1, sorted.Length - 1));
        var outliers = Enumerable.Range(0, finite.Length).Where(r => meanDistance[r] > far && q3 > q1).OrderByDescending(r => meanDistance[r]).ToArray();
        var farOut = outliers.Select(r => finite[r]).ToHashSet();
        if (outliers.Length > 0)
            cards.Add(new InsightCard("outliers", outliers.Length > 0.01 * n ? "warning" : "info",
                $"{outliers.Length} samples sit far from every other sample (likely out of distribution)", [],
                new Dictionary<string, object> { ["count"] = outliers.Length, ["mean_neighbor_distance_threshold"] = Math.Round(far, 5), ["median_mean_neighbor_distance"] = Math.Round(Quantile(sorted, 0.5), 5) },
                outliers.Take(MaxSamplesPerCard).Select(r => Sample(finite[r])).ToArray(), null,
                "look at them: corrupt or foreign inputs are better removed; rare but valid ones need more examples like them"));

        Duplicates(population, graph, finite, k, cards, Sample);

        // Clusters of the k-NN graph (for weak clusters, and a field to colour the map by).
        var clusters = Communities.LabelPropagation(graph, minSize: Math.Max(5, finite.Length / 1000));
        for (int r = 0; r < finite.Length; r++) cluster[finite[r]] = clusters[r];

        ClassProximity? proximity = null;
        var variantMembers = new HashSet<int>();
        if (labelled)
        {
            proximity = Proximity(population, graph, finite, agreement, cards, Name);
            variantMembers = RareVariants(population, graph, finite, clusters, agreement, cards, Name, Sample);
            if (probabilities != null) Mislabels(population, graph, finite, k, agreement, labelIssue, farOut, variantMembers, cards, Name, Sample);
        }
        var associations = new List<MetadataAssociation>();
        if (population.Correct is { } correct && correct.Any(c => c != null))
        {
            WeakClusters(population, cluster, cards, Name, Sample);
            associations = Associations(population);
        }
        else if (labelled) notes.Add("no per-sample correctness: weak clusters and the metadata's association with errors need a model with class scores and labels");

        // Ranked by severity, then by kind (what the model perceives before what the data hold), then by size.
        var severity = new Dictionary<string, int> { ["critical"] = 0, ["warning"] = 1, ["info"] = 2 };
        string[] kinds = ["suspected-mislabel", "leakage", "weak-cluster", "rare-variant", "close-classes", "ambiguous", "near-duplicates", "outliers"];
        return new InsightsDocument(InsightsDocument.CurrentVersion, k, proximity,
            cards.OrderBy(c => severity[c.Severity]).ThenBy(c => Array.IndexOf(kinds, c.Kind)).ThenByDescending(c => c.Samples.Count + (c.Pairs?.Count ?? 0)).ToArray(),
            notes, associations, labelIssue, agreement, outlier, cluster);
    }

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
            "keep one of each pair, and keep pairs out of different splits"));
        if (population.Splits is { } splits && splits.Distinct().Count() > 1)
        {
            var leaks = pairs.Where(p => splits[p.A] != splits[p.B]).ToArray();
            if (leaks.Length > 0)
                cards.Add(new InsightCard("leakage", "critical",
                    $"{leaks.Length} duplicate pairs cross splits ({string.Join(" / ", leaks.Select(p => string.Join(" ↔ ", new[] { splits[p.A], splits[p.B] }.Order())).Distinct())})", [],
                    new Dictionary<string, object> { ["pairs"] = leaks.Length, ["exact_pairs"] = leaks.Count(p => p.Exact) },
                    [], leaks.Take(MaxSamplesPerCard).Select(p => new[] { sample(p.A), sample(p.B) }).ToArray(),
                    "the same (or a perceptually identical) sample is in two splits: an evaluation on one measures memory of the other; remove one of each pair"));
        }
    }

    /// <summary>Class proximity: where each class's neighbour edges land, and whether closeness predicts confusion (Spearman over pairs of classes).</summary>
    static ClassProximity Proximity(Population population, KnnGraph graph, int[] finite, float[] agreement, List<InsightCard> cards, Func<int, string> name)
    {
        var (_, labels, probabilities, classes, _, _) = population;
        int n = labels.Length;
        var edges = new double[classes, classes];
        for (int r = 0; r < finite.Length; r++)
        {
            int a = labels[finite[r]];
            if (a < 0 || a >= classes) continue;
            int same = 0, known = 0;
            foreach (int j in graph.NeighborsOf(r))
            {
                int b = labels[finite[j]];
                if (b < 0 || b >= classes) continue;
                edges[a, b]++;
                known++;
                if (b == a) same++;
            }
            if (known > 0) agreement[finite[r]] = same / (float)known;
        }
        var matrix = new double[classes][];
        for (int a = 0; a < classes; a++)
        {
            double total = 0;
            for (int b = 0; b < classes; b++) total += edges[a, b];
            matrix[a] = new double[classes];
            for (int b = 0; b < classes; b++) matrix[a][b] = total > 0 ? Math.Round(edges[a, b] / total, 5) : 0;
        }
        int[]? predictions = probabilities != null ? Enumerable.Range(0, n).Select(i => ArgMax(probabilities.AsSpan(i * classes, classes))).ToArray() : null;
        var confusion = new double[classes, classes];
        if (predictions != null)
            for (int i = 0; i < n; i++)
                if (labels[i] >= 0 && labels[i] < classes && predictions[i] >= 0) confusion[labels[i], predictions[i]]++;
        var pairs = new List<(int A, int B, double Close, double Confused)>();
        for (int a = 0; a < classes; a++)
            for (int b = a + 1; b < classes; b++)
                pairs.Add((a, b, matrix[a][b] + matrix[b][a], confusion[a, b] + confusion[b, a]));
        double spearman = predictions != null && pairs.Count > 2 ? Numerics.Spearman(pairs.Select(p => p.Close).ToArray(), pairs.Select(p => p.Confused).ToArray()) : double.NaN;
        // The closest pairs: more than twice the cross-class share an even spread would give. Each card lists the samples
        // between the two classes: those of either whose neighbours cross most to the other.
        foreach (var p in pairs.OrderByDescending(p => p.Close).Where(p => p.Close > 0 && p.Close >= 2 * pairs.Average(q => q.Close)).Take(8))
        {
            var between = new List<(int Index, int Cross)>();
            for (int r = 0; r < finite.Length; r++)
            {
                int a = labels[finite[r]];
                if (a != p.A && a != p.B) continue;
                int other = a == p.A ? p.B : p.A, cross = 0;
                foreach (int j in graph.NeighborsOf(r)) if (labels[finite[j]] == other) cross++;
                if (cross > 0) between.Add((finite[r], cross));
            }
            cards.Add(new InsightCard("close-classes", p.Close > 0.2 ? "warning" : "info",
                $"{name(p.A)} ↔ {name(p.B)}: {100 * p.Close / 2:F1}% of neighbours cross{(predictions != null ? $"; {p.Confused:N0} confusions" : "")}",
                [name(p.A), name(p.B)],
                new Dictionary<string, object> { ["share_a_to_b"] = matrix[p.A][p.B], ["share_b_to_a"] = matrix[p.B][p.A], ["confusions"] = p.Confused, ["spearman_proximity_confusion"] = Math.Round(spearman, 4), ["samples_between"] = between.Count },
                between.OrderByDescending(b => b.Cross).ThenBy(b => b.Index).Take(MaxSamplesPerCard).Select(b => new InsightSample(b.Index, population.Ids[b.Index])).ToArray(), null,
                "the model sees these classes as alike: look at the samples between them (listed) for what tells them apart, and add such examples"));
        }
        return new ClassProximity(Enumerable.Range(0, classes).Select(name).ToArray(), matrix, Math.Round(spearman, 4));
    }

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
        int Majority(IEnumerable<int> rows, int exclude)
        {
            var votes = new int[classes];
            foreach (int j in rows) { int l = labels[finite[j]]; if (l >= 0 && l < classes && l != exclude) votes[l]++; }
            int best = 0;
            for (int c = 1; c < classes; c++) if (votes[c] > votes[best]) best = c;
            return votes[best] > 0 ? best : -1;
        }
        var groups = new List<(int Class, int Among, int[] Rows, double Cohesion)>();
        // 1. Samples whose neighbours mostly carry another label b, grouped by (label, b) into connected groups.
        var candidates = new Dictionary<(int, int), HashSet<int>>();
        for (int r = 0; r < finite.Length; r++)
        {
            int c = labels[finite[r]];
            if (c < 0 || c >= classes || !(agreement[finite[r]] < 0.5f)) continue;
            int b = Majority(graph.NeighborsOf(r).ToArray(), c);
            var votes = graph.NeighborsOf(r).ToArray().Count(j => labels[finite[j]] == b);
            if (b < 0 || votes * 2 <= graph.K) continue;
            if (!candidates.TryGetValue((c, b), out var set)) candidates[(c, b)] = set = [];
            set.Add(r);
        }
        foreach (var ((c, b), set) in candidates)
        {
            // Edges point one way: within the set, the samples that list each one count as its neighbours too.
            var listedBy = new Dictionary<int, List<int>>();
            foreach (int r in set)
                foreach (int j in graph.NeighborsOf(r))
                {
                    if (!listedBy.TryGetValue(j, out var list)) listedBy[j] = list = [];
                    list.Add(r);
                }
            var visited = new HashSet<int>();
            foreach (int seed in set.Order())
            {
                if (!visited.Add(seed)) continue;
                var component = new List<int> { seed };
                for (int q = 0; q < component.Count; q++)
                {
                    foreach (int j in graph.NeighborsOf(component[q])) if (set.Contains(j) && visited.Add(j)) component.Add(j);
                    if (listedBy.TryGetValue(component[q], out var back)) foreach (int j in back) if (visited.Add(j)) component.Add(j);
                }
                // The pocket's edge: samples of the class that list at least two of the group among their neighbours and
                // whose neighbours are at most half their own class, the rest mostly b (a member may see as many of its
                // own as of the class around it).
                var members = component.ToHashSet();
                for (bool grew = component.Count >= 2; grew;)
                {
                    grew = false;
                    foreach (int r in component.ToArray())
                        foreach (int j in graph.NeighborsOf(r))
                            if (!members.Contains(j) && labels[finite[j]] == c && agreement[finite[j]] <= 0.5f
                                && Majority(graph.NeighborsOf(j).ToArray(), c) == b && graph.NeighborsOf(j).ToArray().Count(members.Contains) >= 2)
                            { members.Add(j); component.Add(j); visited.Add(j); grew = true; }
                }
                if (component.Count < 3 || component.Count > 0.2 * classCount[c]) continue;
                double cohesion = component.Average(r => graph.NeighborsOf(r).ToArray().Count(members.Contains) / (double)graph.K);
                if (cohesion >= 0.2) groups.Add((c, b, [.. component], cohesion));
            }
        }
        // 2. Clusters made mostly of one class, apart from that class's main cluster, whose outside edges go to another class.
        var byCluster = Enumerable.Range(0, finite.Length).Where(r => clusters[r] >= 0).GroupBy(r => clusters[r]).ToDictionary(g => g.Key, g => g.ToArray());
        var main = new int[classes];
        for (int c = 0; c < classes; c++)
            main[c] = byCluster.OrderByDescending(kv => kv.Value.Count(r => labels[finite[r]] == c)).Select(kv => kv.Key).DefaultIfEmpty(-1).First();
        foreach (var (id, rows) in byCluster)
        {
            var known = rows.Where(r => labels[finite[r]] >= 0 && labels[finite[r]] < classes).ToArray();
            if (known.Length < 3) continue;
            int c = known.GroupBy(r => labels[finite[r]]).MaxBy(g => g.Count())!.Key;
            var ofClass = known.Where(r => labels[finite[r]] == c).ToArray();
            if (ofClass.Length < 0.6 * known.Length || id == main[c] || ofClass.Length >= 0.2 * classCount[c] || ofClass.Length < 3) continue;
            var inside = rows.ToHashSet();
            int b = Majority(ofClass.SelectMany(r => graph.NeighborsOf(r).ToArray()).Where(j => !inside.Contains(j)), -1);
            if (b < 0 || b == c) continue;
            double cohesion = ofClass.Average(r => graph.NeighborsOf(r).ToArray().Count(inside.Contains) / (double)graph.K);
            groups.Add((c, b, ofClass, cohesion));
        }
        // The groups of one class among another make one card (a class may have several such pockets).
        var taken = new HashSet<int>();
        var found = new List<(int Class, int Among, int[] Members, double Cohesion)>();
        foreach (var (c, b, rows, cohesion) in groups.OrderByDescending(g => g.Rows.Length))
        {
            var fresh = rows.Where(r => !taken.Contains(finite[r])).Select(r => finite[r]).ToArray();
            if (fresh.Length < 3) continue;
            taken.UnionWith(fresh);
            found.Add((c, b, fresh, cohesion));
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
                $"{members.Length} samples of {name(c)} sit among {name(b)}{(g.Count() > 1 ? $" in {g.Count()} groups" : "")}: a variant with few examples",
                [name(c), name(b)], evidence, members.Take(MaxSamplesPerCard).Select(sample).ToArray(), null,
                $"if they are {name(c)}, add more examples like them (the model has few to learn this variant from); if they are {name(b)}, relabel them"));
        }
        return taken;
    }

    /// <summary>
    /// Suspected mislabels and ambiguous samples: label_issue combines the model's confidence in the given label (against
    /// its class's threshold, confident-learning style) and the share of neighbours that carry it; samples the model puts
    /// in another class are grouped by (label, perceived class), clear cases apart from mixed evidence.
    /// </summary>
    static void Mislabels(Population population, KnnGraph graph, int[] finite, int k, float[] agreement, float[] labelIssue, HashSet<int> farOut,
        HashSet<int> variants, List<InsightCard> cards, Func<int, string> name, Func<int, InsightSample> sample)
    {
        var (_, labels, probabilities, classes, _, _) = population;
        int n = labels.Length;
        // Each class's threshold is the mean probability the model gives it on the samples labelled with it.
        var threshold = new double[classes];
        var counts = new int[classes];
        for (int i = 0; i < n; i++)
            if (labels[i] >= 0 && labels[i] < classes && float.IsFinite(probabilities![i * classes])) { threshold[labels[i]] += probabilities[i * classes + labels[i]]; counts[labels[i]]++; }
        for (int c = 0; c < classes; c++) threshold[c] = counts[c] > 0 ? threshold[c] / counts[c] : 1;
        // Across training, when the run is an epoch of one: the mean probability of the label over the epochs.
        var history = population.LabelProbabilityHistory;
        double Confidence(int i, ReadOnlySpan<float> p)
        {
            if (history == null) return p[labels[i]];
            double sum = 0; int count = 0;
            foreach (float v in history.Row(i)) if (float.IsFinite(v)) { sum += v; count++; }
            return count > 0 ? sum / count : p[labels[i]];
        }
        var flagged = new List<(int Index, int Label, int Perceived, float Score, bool Clear)>();
        var fitted = new List<(int Index, int Label, int Perceived, float Score, bool Clear)>();
        for (int row = 0; row < finite.Length; row++)
        {
            int i = finite[row];
            if (labels[i] < 0 || labels[i] >= classes || float.IsNaN(agreement[i])) continue;
            var p = probabilities.AsSpan(i * classes, classes);
            // How likely the label is right: the model's probability of it, discounted by the neighbours that do not carry
            // it (by half when none does). An outlier's neighbours are far and say little about it: only the model speaks.
            double confidence = Confidence(i, p);
            double right = farOut.Contains(i) ? confidence : confidence * (0.5 + 0.5 * agreement[i]);
            float score = (float)Math.Clamp(1 - right, 0, 1);
            labelIssue[i] = score;
            int other = ArgMaxExcept(p, labels[i]);
            bool modelDisagrees = p[other] >= threshold[other] && p[labels[i]] < threshold[labels[i]];
            // Members of a rare variant are reported as such, not as mislabels (their score stays).
            if (variants.Contains(i) || farOut.Contains(i)) continue;
            if (!modelDisagrees && ArgMax(p) == labels[i] && agreement[i] <= 0.2f)
            {
                // The model fits the label but the neighbours say another class: at least 70% of them one class. On data
                // the model was trained on, that is how a memorised wrong label looks.
                var others = new int[classes];
                foreach (int j in graph.NeighborsOf(row)) { int l = labels[finite[j]]; if (l >= 0 && l < classes && l != labels[i]) others[l]++; }
                int b = Array.IndexOf(others, others.Max());
                if (others[b] >= 0.7 * k) fitted.Add((i, labels[i], b, score, true));
                continue;
            }
            if (score < 0.5 || !modelDisagrees) continue;
            // A clear case: the model is confident in the other class and most neighbours carry its label.
            int votes = 0;
            foreach (int j in graph.NeighborsOf(row)) if (labels[finite[j]] == other) votes++;
            flagged.Add((i, labels[i], other, score, votes > k / 2));
        }
        foreach (var group in flagged.GroupBy(f => (f.Label, f.Perceived, f.Clear)).OrderByDescending(g => g.Count()).Take(12))
        {
            var (label, perceived, clear) = group.Key;
            // Critical when the group is a noticeable share (5%) of the class's labelled samples.
            cards.Add(new InsightCard(clear ? "suspected-mislabel" : "ambiguous", clear && group.Count() >= 0.05 * counts[label] ? "critical" : "warning",
                $"labelled {name(label)}, perceived as {name(perceived)}: {group.Count()} samples{(clear ? "" : " (mixed evidence)")}",
                [name(label), name(perceived)],
                new Dictionary<string, object> { ["count"] = group.Count(), ["mean_label_issue"] = Math.Round(group.Average(f => f.Score), 4), ["threshold_label"] = Math.Round(threshold[label], 4), ["threshold_perceived"] = Math.Round(threshold[perceived], 4) },
                group.OrderByDescending(f => f.Score).Take(MaxSamplesPerCard).Select(f => sample(f.Index)).ToArray(), null,
                clear ? $"check these labels: the model and most of their neighbours say {name(perceived)}"
                      : "these inputs are ambiguous between the two classes: review them, or accept either label"));
        }
        // Labels the model fits against its neighbours: a warning on training data (where a model memorises), else information.
        var splits = population.Splits;
        foreach (var group in fitted.GroupBy(f => (f.Label, f.Perceived)).OrderByDescending(g => g.Count()).Take(8))
        {
            var (label, perceived) = group.Key;
            bool training = splits != null && group.Count(f => splits[f.Index].Contains("train", StringComparison.OrdinalIgnoreCase)) * 2 > group.Count();
            cards.Add(new InsightCard("suspected-mislabel", training ? "warning" : "info",
                $"labelled {name(label)}, perceived as {name(perceived)} by their neighbours: {group.Count()} samples the model fits as labelled",
                [name(label), name(perceived)],
                new Dictionary<string, object> { ["count"] = group.Count(), ["evidence"] = "neighbours", ["mean_neighbor_agreement"] = Math.Round(group.Average(f => agreement[f.Index]), 4), ["training_data"] = training },
                group.OrderByDescending(f => f.Score).Take(MaxSamplesPerCard).Select(f => sample(f.Index)).ToArray(), null,
                training ? $"the model has learnt these labels, but at least 70% of each sample's neighbours are {name(perceived)}: labels a model memorises look like this; check them"
                         : $"at least 70% of each sample's neighbours are {name(perceived)} though the model agrees with the label: check them, or see what sets them apart"));
        }
    }

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
                               : "the model fails on this group: look at its samples for what they share, and add training data like them"));
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

    static float[] Difference(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        var d = new float[a.Length];
        System.Numerics.Tensors.TensorPrimitives.Subtract(a, b, d);
        return d;
    }

    static float[] Filled(int n, float value) { var a = new float[n]; a.AsSpan().Fill(value); return a; }

    static int ArgMax(ReadOnlySpan<float> p) { int best = 0; for (int c = 1; c < p.Length; c++) if (p[c] > p[best]) best = c; return float.IsFinite(p[best]) ? best : -1; }

    static int ArgMaxExcept(ReadOnlySpan<float> p, int except) { int best = except == 0 ? 1 : 0; for (int c = 0; c < p.Length; c++) if (c != except && p[c] > p[best]) best = c; return best; }

    static double Quantile(double[] sorted, double q) => sorted.Length == 0 ? 0 : sorted[(int)Math.Round(q * (sorted.Length - 1))];

    static int LowerBound(double[] sorted, double v) { int lo = 0, hi = sorted.Length; while (lo < hi) { int mid = (lo + hi) / 2; if (sorted[mid] < v) lo = mid + 1; else hi = mid; } return lo; }
}
