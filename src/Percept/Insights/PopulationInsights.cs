using Percept.Neighbors;
using Percept.Store;

namespace Percept.Insights;

/// <summary>
/// Insights in perception space (the vectors, never the 2-D map, which can invent structure): which classes the model
/// perceives as close, which labels its confidence and its neighbours disagree with, which small groups of a class sit
/// among another (rare variants), which samples duplicate one another (also across splits), which clusters the model
/// fails on and what their samples share, which sit far from everything. Thresholds are relative to the run's own
/// distributions (quartiles, per-class confidence, the population's error rate), not tuned to one dataset.
/// </summary>
public static partial class PopulationInsights
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
        var notes = population.Notes.Concat(population.ExtraNotes).ToList();
        bool labelled = classes >= 2 && labels.Any(l => l >= 0);
        if (!labelled) notes.Add("no labels: class proximity, suspected mislabels, ambiguous samples, rare variants and weak clusters need them; duplicates, outliers and clusters are here");

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
                "look at them: corrupt or foreign inputs are better removed; rare but valid ones need more examples like them") { Impact = ImpactOfOutlier * outliers.Length });

        Duplicates(population, graph, finite, k, cards, Sample);

        // Clusters of the k-NN graph (for weak clusters, and a field to colour the map by).
        var clusters = Communities.LabelPropagation(graph, minSize: Math.Max(5, finite.Length / 1000));
        for (int r = 0; r < finite.Length; r++) cluster[finite[r]] = clusters[r];

        ClassProximity? proximity = null;
        LabelIssueSummary? labelIssues = null;
        if (labelled)
        {
            proximity = Proximity(population, graph, finite, agreement, cards, Name);
            var variantMembers = RareVariants(population, graph, finite, clusters, agreement, cards, Name, Sample);
            labelIssues = Mislabels(population, runGraph.Compact(Math.Min(LabelEvidence.GraphK, runGraph.Graph.K)), finite, labelIssue, farOut, variantMembers, cards, notes, Name);
        }
        var associations = new List<MetadataAssociation>();
        if (population.Correct is { } correct && correct.Any(c => c != null))
        {
            WeakClusters(population, cluster, cards, Name, Sample);
            associations = Associations(population);
        }
        else if (labelled) notes.Add("no per-sample correctness: weak clusters and the metadata's association with errors need a model with class scores and labels");

        return new InsightsDocument(InsightsDocument.CurrentVersion, k, proximity, Rank(cards), notes, associations, labelIssues, labelIssue, agreement, outlier, cluster);
    }

    /// <summary>Impact of an outlier: half a sample (far out of the distribution, often but not always a foreign input).</summary>
    const double ImpactOfOutlier = 0.5;
    /// <summary>Impact of a duplicate pair inside a split: a quarter (a redundant sample; across splits it is leakage, a whole one).</summary>
    const double ImpactOfDuplicate = 0.25;
    /// <summary>Impact of a confusion between close classes: half (the card explains it in part; mislabel cards claim the rest).</summary>
    const double ImpactOfConfusion = 0.5;

    /// <summary>Cards on the first screen, at most.</summary>
    public const int PrimaryCards = 12;
    /// <summary>Cards of one kind on the first screen, at most (so that one kind does not fill it).</summary>
    public const int PrimaryPerKind = 4;

    /// <summary>
    /// Cards by impact (ties: severity, then kind, then size); up to <see cref="PrimaryCards"/>, at most
    /// <see cref="PrimaryPerKind"/> of a kind, critical ones first and then those of most impact, are marked primary and
    /// come first.
    /// </summary>
    internal static InsightCard[] Rank(IEnumerable<InsightCard> cards)
    {
        var severity = new Dictionary<string, int> { ["critical"] = 0, ["warning"] = 1, ["info"] = 2 };
        string[] kinds = ["suspected-mislabel", "leakage", "weak-cluster", "rare-variant", "close-classes", "ambiguous", "near-duplicates", "outliers"];
        var ordered = cards.OrderByDescending(c => Math.Round(c.Impact, 6)).ThenBy(c => severity[c.Severity]).ThenBy(c => Array.IndexOf(kinds, c.Kind))
            .ThenByDescending(c => c.Samples.Count + (c.Pairs?.Count ?? 0)).ToArray();
        // Critical cards (leakage, a large confident mislabel group) are on the first screen whatever their impact; the
        // others fill it by impact.
        var perKind = new Dictionary<string, int>();
        var chosen = new HashSet<InsightCard>(ReferenceEqualityComparer.Instance);
        foreach (bool critical in new[] { true, false })
            foreach (var card in ordered.Where(c => (c.Severity == "critical") == critical))
            {
                int seen = perKind.GetValueOrDefault(card.Kind);
                if (chosen.Count >= PrimaryCards || seen >= PrimaryPerKind || (card.Impact <= 0 && !critical)) continue;
                chosen.Add(card);
                perKind[card.Kind] = seen + 1;
            }
        return [.. ordered.Where(chosen.Contains).Select(c => c with { Primary = true }), .. ordered.Where(c => !chosen.Contains(c)).Select(c => c with { Primary = false })];
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

