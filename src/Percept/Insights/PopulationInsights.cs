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
/// <param name="Kind"><c>close-classes</c>, <c>suspected-mislabel</c>, <c>ambiguous</c>, <c>near-duplicates</c> or <c>outliers</c>.</param>
/// <param name="Severity"><c>info</c>, <c>warning</c> or <c>critical</c>.</param>
public sealed record InsightCard(string Kind, string Severity, string Title, IReadOnlyList<string> Classes, IReadOnlyDictionary<string, object> Evidence,
    IReadOnlyList<InsightSample> Samples, IReadOnlyList<InsightSample[]>? Pairs, string Action);

/// <summary>How close the model perceives the classes: row a, column b is the share of class a's neighbour edges that land in class b.</summary>
public sealed record ClassProximity(IReadOnlyList<string> Classes, double[][] Matrix, double Spearman);

/// <summary>
/// What Percept finds in a run's perception vectors, and the per-sample scores behind it. Stored in the run as
/// <c>insights.json</c>; the document is described in docs/insights.md.
/// </summary>
public sealed record InsightsDocument(int Version, int Neighbors, ClassProximity? ClassProximity, IReadOnlyList<InsightCard> Insights,
    [property: JsonIgnore] float[] LabelIssue, [property: JsonIgnore] float[] NeighborAgreement, [property: JsonIgnore] float[] OutlierScore)
{
    public const int CurrentVersion = 1;
    public const string FileName = "insights.json";

    static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);
}

/// <summary>
/// Insights in perception space (the vectors, never the 2-D map, which can invent structure): which classes the model
/// perceives as close, which labels its confidence and its neighbours disagree with, which samples duplicate one
/// another, which sit far from everything. Thresholds are relative to the run's own distributions (quartiles, per-class
/// confidence), not tuned to one dataset.
/// </summary>
public static class PopulationInsights
{
    /// <summary>Cards of one kind at most; the rest are counted in the card.</summary>
    const int MaxSamplesPerCard = 50;

    /// <summary>Insights of a finished run (labels, predictions and probabilities from its samples table and files).</summary>
    public static InsightsDocument Compute(Run run, int k = 10)
    {
        using var reader = new RunReader(run);
        var embedding = reader.Embedding();
        var labels = run.ReadColumn("label").Select(v => v == null ? -1 : Convert.ToInt32(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        var m = run.Manifest;
        float[]? probabilities = m.NumClasses >= 2 && m.Files.ContainsKey("probabilities") ? run.ReadMatrix("probabilities", out _, out _) : null;
        return Compute(embedding, labels, probabilities, m.NumClasses, reader.Ids(), reader.ClassNames, k);
    }

    /// <summary>Insights of perception vectors with their labels (−1: none) and, when the model gives class scores, probabilities (N × classes).</summary>
    public static InsightsDocument Compute(Matrix vectors, int[] labels, float[]? probabilities, int classes, IReadOnlyList<string> ids,
        IReadOnlyList<string>? classNames, int k = 10)
    {
        int n = vectors.Rows;
        var finite = Enumerable.Range(0, n).Where(i => Numerics.AllFinite(vectors.Row(i))).ToArray();
        k = Math.Min(k, finite.Length - 1);
        if (k < 1) throw new PerceptException($"{finite.Length} samples with finite perception vectors are too few for insights");
        var compact = new Matrix(finite.Length, vectors.Columns);
        for (int r = 0; r < finite.Length; r++) vectors.Row(finite[r]).CopyTo(compact.Row(r));
        var graph = finite.Length <= 20_000 ? ExactKnn.Search(compact, k, Metric.Cosine)
            : NNDescent.Build(compact, k, Metric.Cosine, new NNDescentOptions { Seed = 1 });
        string Name(int c) => classNames != null && c >= 0 && c < classNames.Count ? classNames[c] : $"class {c}";
        InsightSample Sample(int i) => new(i, ids[i]);

        var agreement = Filled(n, float.NaN);
        var labelIssue = Filled(n, float.NaN);
        var outlier = Filled(n, float.NaN);
        var cards = new List<InsightCard>();
        bool labelled = classes >= 2 && labels.Any(l => l >= 0);

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

        // Near duplicates: neighbours closer than a hundredth of the median nearest-neighbour distance.
        var nearest = Enumerable.Range(0, finite.Length).Select(r => (double)graph.DistancesOf(r)[0]).Order().ToArray();
        double duplicate = 0.01 * Quantile(nearest, 0.5);
        var pairs = new List<InsightSample[]>();
        for (int r = 0; r < finite.Length; r++)
        {
            var nb = graph.NeighborsOf(r); var dist = graph.DistancesOf(r);
            for (int t = 0; t < k; t++)
                if (dist[t] <= duplicate && r < nb[t]) pairs.Add([Sample(finite[r]), Sample(finite[nb[t]])]);
        }
        if (pairs.Count > 0)
            cards.Add(new InsightCard("near-duplicates", pairs.Count > 0.01 * n ? "warning" : "info", $"{pairs.Count} pairs of samples the model perceives as (near) identical", [],
                new Dictionary<string, object> { ["pairs"] = pairs.Count, ["distance_threshold"] = duplicate },
                [], pairs.Take(MaxSamplesPerCard).ToArray(), "keep one of each pair, and keep pairs out of different splits"));

        ClassProximity? proximity = null;
        if (labelled)
        {
            // Class proximity: where each class's neighbour edges land.
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
            // Does closeness predict confusion? Spearman over the pairs of classes.
            int[]? predictions = probabilities != null ? Enumerable.Range(0, n).Select(i => ArgMax(probabilities.AsSpan(i * classes, classes))).ToArray() : null;
            var confusion = new double[classes, classes];
            if (predictions != null)
                for (int i = 0; i < n; i++)
                    if (labels[i] >= 0 && labels[i] < classes && predictions[i] >= 0) confusion[labels[i], predictions[i]]++;
            var pairsOfClasses = new List<(int A, int B, double Close, double Confused)>();
            for (int a = 0; a < classes; a++)
                for (int b = a + 1; b < classes; b++)
                    pairsOfClasses.Add((a, b, matrix[a][b] + matrix[b][a], confusion[a, b] + confusion[b, a]));
            double spearman = predictions != null && pairsOfClasses.Count > 2 ? Numerics.Spearman(pairsOfClasses.Select(p => p.Close).ToArray(), pairsOfClasses.Select(p => p.Confused).ToArray()) : double.NaN;
            proximity = new ClassProximity(Enumerable.Range(0, classes).Select(Name).ToArray(), matrix, Math.Round(spearman, 4));
            // The closest pairs: more than twice the cross-class share an even spread would give.
            foreach (var p in pairsOfClasses.OrderByDescending(p => p.Close).Where(p => p.Close > 0 && p.Close >= 2 * pairsOfClasses.Average(q => q.Close)).Take(8))
                cards.Add(new InsightCard("close-classes", p.Close > 0.2 ? "warning" : "info",
                    $"{Name(p.A)} ↔ {Name(p.B)}: {100 * p.Close / 2:F1}% of neighbours cross{(predictions != null ? $"; {p.Confused:N0} confusions" : "")}",
                    [Name(p.A), Name(p.B)],
                    new Dictionary<string, object> { ["share_a_to_b"] = matrix[p.A][p.B], ["share_b_to_a"] = matrix[p.B][p.A], ["confusions"] = p.Confused, ["spearman_proximity_confusion"] = Math.Round(spearman, 4) },
                    [], null, "the model sees these classes as alike: look at the samples between them for what tells them apart, and add such examples"));

            if (probabilities != null)
            {
                // Confident learning: each class's threshold is the mean probability the model gives it on the samples labelled with it.
                var threshold = new double[classes];
                var counts = new int[classes];
                for (int i = 0; i < n; i++)
                    if (labels[i] >= 0 && labels[i] < classes && float.IsFinite(probabilities[i * classes])) { threshold[labels[i]] += probabilities[i * classes + labels[i]]; counts[labels[i]]++; }
                for (int c = 0; c < classes; c++) threshold[c] = counts[c] > 0 ? threshold[c] / counts[c] : 1;
                var flagged = new List<(int Index, int Label, int Perceived, float Score, bool Clear)>();
                for (int row = 0; row < finite.Length; row++)
                {
                    int i = finite[row];
                    if (labels[i] < 0 || labels[i] >= classes || float.IsNaN(agreement[i])) continue;
                    var p = probabilities.AsSpan(i * classes, classes);
                    double self = Math.Min(1, p[labels[i]] / Math.Max(threshold[labels[i]], 1e-6));
                    // The two witnesses of the label, weighed equally: the model's confidence in it (relative to its class's
                    // threshold) and the share of the sample's neighbours that carry it.
                    // An outlier's neighbours are far and say little about it: only the model speaks for its label.
                    float score = farOut.Contains(i) ? (float)(1 - self) : (float)(0.5 * (1 - self) + 0.5 * (1 - agreement[i]));
                    labelIssue[i] = score;
                    int other = ArgMaxExcept(p, labels[i]);
                    bool modelDisagrees = p[other] >= threshold[other] && p[labels[i]] < threshold[labels[i]];
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
                        $"labelled {Name(label)}, perceived as {Name(perceived)}: {group.Count()} samples{(clear ? "" : " (mixed evidence)")}",
                        [Name(label), Name(perceived)],
                        new Dictionary<string, object> { ["count"] = group.Count(), ["mean_label_issue"] = Math.Round(group.Average(f => f.Score), 4), ["threshold_label"] = Math.Round(threshold[label], 4), ["threshold_perceived"] = Math.Round(threshold[perceived], 4) },
                        group.OrderByDescending(f => f.Score).Take(MaxSamplesPerCard).Select(f => Sample(f.Index)).ToArray(), null,
                        clear ? $"check these labels: the model and most of their neighbours say {Name(perceived)}"
                              : "these inputs are ambiguous between the two classes: review them, or accept either label"));
                }
            }
        }
        // Ranked by severity, then by kind (what the model perceives before what the data hold), then by size.
        var severity = new Dictionary<string, int> { ["critical"] = 0, ["warning"] = 1, ["info"] = 2 };
        string[] kinds = ["suspected-mislabel", "close-classes", "ambiguous", "near-duplicates", "outliers"];
        return new InsightsDocument(InsightsDocument.CurrentVersion, k, proximity,
            cards.OrderBy(c => severity[c.Severity]).ThenBy(c => Array.IndexOf(kinds, c.Kind)).ThenByDescending(c => c.Samples.Count + (c.Pairs?.Count ?? 0)).ToArray(),
            labelIssue, agreement, outlier);
    }

    static float[] Filled(int n, float value) { var a = new float[n]; a.AsSpan().Fill(value); return a; }

    static int ArgMax(ReadOnlySpan<float> p) { int best = 0; for (int c = 1; c < p.Length; c++) if (p[c] > p[best]) best = c; return float.IsFinite(p[best]) ? best : -1; }

    static int ArgMaxExcept(ReadOnlySpan<float> p, int except) { int best = except == 0 ? 1 : 0; for (int c = 0; c < p.Length; c++) if (c != except && p[c] > p[best]) best = c; return best; }

    static double Quantile(double[] sorted, double q) => sorted.Length == 0 ? 0 : sorted[(int)Math.Round(q * (sorted.Length - 1))];

    static int LowerBound(double[] sorted, double v) { int lo = 0, hi = sorted.Length; while (lo < hi) { int mid = (lo + hi) / 2; if (sorted[mid] < v) lo = mid + 1; else hi = mid; } return lo; }
}
