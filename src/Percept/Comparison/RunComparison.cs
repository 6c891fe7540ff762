using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Percept.Core;
using Percept.Insights;
using Percept.Neighbors;
using Percept.Perception;
using Percept.Store;

namespace Percept.Comparison;

/// <summary>A run as a comparison names it.</summary>
public sealed record ComparedRun(string Run, string Model, int Count, double? Accuracy, double? MeanLoss);

/// <summary>How the samples of the two runs were matched: by sample id (<c>id</c>), or not at all (<c>none</c>: two datasets).</summary>
/// <param name="Matched">Samples in both runs.</param>
/// <param name="OnlyA">Samples of A that B lacks; <paramref name="OnlyB"/>, the reverse.</param>
public sealed record SampleMatch(string By, int Matched, int OnlyA, int OnlyB);

/// <summary>One (label, prediction in A, prediction in B) with how many matched samples have it.</summary>
public sealed record PredictionChange(string Label, string PredictionA, string PredictionB, int Count);

/// <summary>
/// Predictions of the matched labelled samples: fixed (wrong in A, right in B), broken (right in A, wrong in B), right in
/// both, wrong in both (and of those, how many changed their wrong answer); the largest fixed and broken groups.
/// </summary>
public sealed record PredictionComparison(int Labelled, int Fixed, int Broken, int RightInBoth, int WrongInBoth, int WrongChanged,
    IReadOnlyList<PredictionChange> FixedMost, IReadOnlyList<PredictionChange> BrokenMost);

/// <summary>A class's accuracy and mean loss over the matched samples that carry its label, in A and in B.</summary>
/// <param name="Count">Matched samples with the label; in a comparison of two datasets, A's samples with it, and <paramref name="CountB"/> B's.</param>
public sealed record ClassComparison(string Class, int Count, double? AccuracyA, double? AccuracyB, double? LossA, double? LossB, int? CountB = null);

/// <summary>A matched sample and how much of its neighbourhood in perception space stayed (the share of its k nearest in A that are among its k nearest in B).</summary>
public sealed record ChangedSample(int IndexA, int IndexB, string Id, double Overlap, string? Label, string? PredictionA, string? PredictionB);

/// <summary>How the perception of the matched samples changed: the mean and median overlap of their k-NN in A and B, and those that changed most.</summary>
public sealed record PerceptionChange(int K, double MeanOverlap, double MedianOverlap, IReadOnlyList<ChangedSample> ChangedMost);

/// <summary>A pair of classes and the share of their samples' neighbours that cross between them, in A and in B.</summary>
public sealed record ProximityChange(string ClassA, string ClassB, double ShareA, double ShareB);

/// <summary>An insight card present in one run and not the other (matched by kind and samples, or classes).</summary>
public sealed record CardChange(string Kind, IReadOnlyList<string> Classes, string Title);

/// <summary>Insight cards that appeared in B or vanished from A; null when a run holds no insights.</summary>
public sealed record InsightChanges(IReadOnlyList<CardChange> Appeared, IReadOnlyList<CardChange> Vanished);

/// <summary>
/// Two runs compared (docs/compare.md). Over the same samples (two models, two epochs of a training, two trainings),
/// matched by id, every figure is over the matched samples. Over two datasets seen by one model, <see cref="Domain"/>
/// says which regions of A's perception space B fills, leaves empty or adds, and the per-class figures are each run's own.
/// </summary>
public sealed record ComparisonDocument(string Format, int Version, ComparedRun A, ComparedRun B, SampleMatch Samples,
    PredictionComparison? Predictions, IReadOnlyList<ClassComparison> PerClass, PerceptionChange? Perception,
    IReadOnlyList<ProximityChange> ClassProximity, InsightChanges? Insights, IReadOnlyList<string> Notes, DomainGap? Domain = null)
{
    public const string FormatName = "percept-comparison";

    static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);
}

/// <summary>Whether two runs hold the same samples or two datasets.</summary>
public enum SampleMatching
{
    /// <summary>Decided from the runs' sample ids and data files (<see cref="RunComparison.Decide"/>).</summary>
    Auto,
    /// <summary>The same samples, matched by id.</summary>
    Samples,
    /// <summary>Two datasets seen by one model (a domain comparison).</summary>
    Datasets,
}

/// <summary>Compares two runs over the same samples: predictions fixed and broken, per-class accuracy and loss, perception change, class proximity, insight cards.</summary>
public static class RunComparison
{
    /// <summary>Most groups listed of fixed and broken predictions, changed samples and proximity changes.</summary>
    const int Listed = 10, ChangedListed = 50;

    /// <param name="k">Neighbours per sample for the perception change and class proximity (at most the runs' graphs' k).</param>
    /// <param name="matching">Whether the runs hold the same samples (matched by id) or two datasets; <see cref="SampleMatching.Auto"/> decides by <see cref="Decide"/>.</param>
    /// <exception cref="PerceptException">Runs that share no sample id, or whose classes differ in number.</exception>
    public static ComparisonDocument Compare(Run a, Run b, int k = 10, SampleMatching matching = SampleMatching.Auto, CancellationToken ct = default)
    {
        if (k < 1) throw new PerceptException("k must be at least 1");
        var notes = new List<string>();
        var (idsA, labelsA, predA, lossA) = Read(a);
        var (idsB, labelsB, predB, lossB) = Read(b);
        var classes = Classes(a, b, notes);
        if (matching == SampleMatching.Auto) matching = Decide(a, b, idsA, idsB);
        if (matching == SampleMatching.Datasets) return CompareDatasets(a, b, k, classes, labelsA, predA, lossA, labelsB, predB, lossB, notes, ct);

        // Matched by id: B's index of each of A's samples (−1: none).
        var indexB = new Dictionary<string, int>(idsB.Length, StringComparer.Ordinal);
        for (int j = 0; j < idsB.Length; j++) indexB.TryAdd(idsB[j] ?? "", j);
        var toB = new int[idsA.Length];
        int matched = 0;
        for (int i = 0; i < idsA.Length; i++) { toB[i] = indexB.TryGetValue(idsA[i] ?? "", out int j) ? j : -1; if (toB[i] >= 0) matched++; }
        if (matched == 0)
            throw new PerceptException($"the runs share no sample id ({a.Directory}: {idsA.FirstOrDefault()}, …; {b.Directory}: {idsB.FirstOrDefault()}, …): compare runs over the same samples");
        var match = new SampleMatch("id", matched, idsA.Length - matched, idsB.Length - matched);
        if (match.OnlyA > 0 || match.OnlyB > 0) notes.Add($"{match.OnlyA} samples only in A and {match.OnlyB} only in B are left out");
        int labelDisagree = 0;
        for (int i = 0; i < toB.Length; i++) if (toB[i] >= 0 && labelsA[i] != labelsB[toB[i]]) labelDisagree++;
        if (labelDisagree > 0) notes.Add($"{labelDisagree} matched samples carry different labels in A and B: A's labels are used");
        ct.ThrowIfCancellationRequested();

        string Name(int c) => c < 0 ? "none" : c < classes.Count ? classes[c] : c.ToString(CultureInfo.InvariantCulture);
        var predictions = ComparePredictions(toB, labelsA, predA, predB, Name);
        var perClass = ComparePerClass(toB, labelsA, predA, predB, lossA, lossB, classes.Count, Name);
        PerceptionChange? perception = null;
        IReadOnlyList<ProximityChange> proximity = [];
        if (a.Manifest.Neighbors != null && b.Manifest.Neighbors != null)
        {
            var graphA = RunGraph.Read(a).Graph; var graphB = RunGraph.Read(b).Graph;
            int kk = Math.Min(k, Math.Min(graphA.K, graphB.K));
            if (kk < k) notes.Add($"the runs' neighbour graphs hold {kk} neighbours per sample: k = {kk}");
            perception = ComparePerception(toB, graphA.First(kk), graphB.First(kk), idsA, labelsA, predA, predB, Name);
            proximity = CompareProximity(toB, graphA.First(kk), graphB.First(kk), labelsA, labelsB, classes.Count, Name);
        }
        else notes.Add("a run has no neighbour graph: no perception change or class proximity");
        var insights = CompareInsights(a, b);
        if (insights == null) notes.Add($"a run holds no insights: {Terms.Command("insights")} on both compares their cards too");
        return new ComparisonDocument(ComparisonDocument.FormatName, 1, Describe(a), Describe(b), match, predictions, perClass, perception,
            proximity, insights, notes);
    }

    /// <summary>
    /// Two datasets when the runs share no sample id, or when they were read from different data files and name their
    /// samples by position (IDX, <c>.npy</c>: sample 0 of one file is not sample 0 of another); else the same samples.
    /// </summary>
    public static SampleMatching Decide(Run a, Run b, string?[] idsA, string?[] idsB)
    {
        var setB = new HashSet<string>(idsB.Select(x => x ?? ""), StringComparer.Ordinal);
        if (!idsA.Any(x => setB.Contains(x ?? ""))) return SampleMatching.Datasets;
        static string? DataHash(Run r) => r.Manifest.Source?.Files?.FirstOrDefault(f => f.Role == "data")?.Sha256;
        bool positional = Enumerable.Range(0, idsA.Length).All(i => idsA[i] == i.ToString(CultureInfo.InvariantCulture));
        return positional && DataHash(a) is { } ha && DataHash(b) is { } hb && ha != hb ? SampleMatching.Datasets : SampleMatching.Samples;
    }

    static ComparisonDocument CompareDatasets(Run a, Run b, int k, IReadOnlyList<string> classes, int[] labelsA, int[] predA, float[] lossA,
        int[] labelsB, int[] predB, float[] lossB, List<string> notes, CancellationToken ct)
    {
        var gap = DomainComparison.Compare(a, b, k, ct: ct);
        string Name(int c) => c < classes.Count ? classes[c] : c.ToString(CultureInfo.InvariantCulture);
        var perA = PerClassOf(labelsA, predA, lossA, classes.Count);
        var perB = PerClassOf(labelsB, predB, lossB, classes.Count);
        var perClass = Enumerable.Range(0, Math.Max(perA.Length, perB.Length))
            .Where(c => (c < perA.Length && perA[c].N > 0) || (c < perB.Length && perB[c].N > 0))
            .Select(c =>
            {
                var x = c < perA.Length ? perA[c] : default; var y = c < perB.Length ? perB[c] : default;
                return new ClassComparison(Name(c), x.N, x.Accuracy, y.Accuracy, x.Loss, y.Loss, y.N);
            }).ToArray();
        notes.Add($"two datasets seen by one model: B's perception vectors rebuilt with A's feature statistics, then the {gap.K}-NN graph of both");
        return new ComparisonDocument(ComparisonDocument.FormatName, 1, Describe(a), Describe(b), new SampleMatch("none", 0, a.Count, b.Count),
            null, perClass, null, [], null, notes, gap);
    }

    /// <summary>Per class of one run's own labels: samples, accuracy, mean loss.</summary>
    static (int N, double? Accuracy, double? Loss)[] PerClassOf(int[] labels, int[] predictions, float[] loss, int classes)
    {
        int c = Math.Max(classes, labels.DefaultIfEmpty(-1).Max() + 1);
        var n = new int[c]; var predicted = new int[c]; var right = new int[c]; var sum = new double[c]; var finite = new int[c];
        for (int i = 0; i < labels.Length; i++)
        {
            int y = labels[i];
            if (y < 0) continue;
            n[y]++;
            if (predictions[i] >= 0) { predicted[y]++; if (predictions[i] == y) right[y]++; }
            if (float.IsFinite(loss[i])) { sum[y] += loss[i]; finite[y]++; }
        }
        return Enumerable.Range(0, c).Select(y => (n[y], predicted[y] > 0 ? right[y] / (double)predicted[y] : (double?)null,
            finite[y] > 0 ? sum[y] / finite[y] : (double?)null)).ToArray();
    }

    static ComparedRun Describe(Run r) =>
        new(r.Directory, Path.GetFileName(r.Manifest.Model.Path), r.Count, r.Manifest.Summary?.Accuracy, r.Manifest.Summary?.MeanLoss);

    /// <summary>A run's ids, labels and predictions (−1: none) and losses (NaN: none), from its samples table.</summary>
    internal static (string?[] Ids, int[] Labels, int[] Predictions, float[] Loss) Read(Run run)
    {
        using var samples = run.OpenSamples();
        var ids = samples.ReadText(SampleKeys.IdField.Name);
        var labels = samples.Has(PerceptionFields.Label.Name) ? samples.ReadInt32(PerceptionFields.Label) : Filled(run.Count, -1);
        var predictions = samples.Has(PerceptionFields.Prediction.Name) ? samples.ReadInt32(PerceptionFields.Prediction) : Filled(run.Count, -1);
        var loss = samples.Has(PerceptionFields.Loss.Name) ? samples.ReadFloat32(PerceptionFields.Loss) : [.. Enumerable.Repeat(float.NaN, run.Count)];
        return (ids, labels, predictions, loss);
    }

    static int[] Filled(int n, int v) { var x = new int[n]; Array.Fill(x, v); return x; }

    static IReadOnlyList<string> Classes(Run a, Run b, List<string> notes)
    {
        var ca = a.Manifest.Classes; var cb = b.Manifest.Classes;
        if (a.Manifest.NumClasses != b.Manifest.NumClasses && a.Manifest.NumClasses > 0 && b.Manifest.NumClasses > 0)
            throw new PerceptException($"the models have {a.Manifest.NumClasses} and {b.Manifest.NumClasses} classes: compare models of the same classes");
        if (ca != null && cb != null && !ca.SequenceEqual(cb)) notes.Add("the runs name their classes differently: A's names are used");
        return ca ?? cb ?? Enumerable.Range(0, Math.Max(a.Manifest.NumClasses, b.Manifest.NumClasses)).Select(c => c.ToString(CultureInfo.InvariantCulture)).ToArray();
    }

    static PredictionComparison? ComparePredictions(int[] toB, int[] labels, int[] predA, int[] predB, Func<int, string> name)
    {
        int labelled = 0, fixedCount = 0, broken = 0, both = 0, neither = 0, wrongChanged = 0;
        var fixedGroups = new Dictionary<(int, int, int), int>();
        var brokenGroups = new Dictionary<(int, int, int), int>();
        for (int i = 0; i < toB.Length; i++)
        {
            int j = toB[i];
            if (j < 0 || labels[i] < 0 || predA[i] < 0 || predB[j] < 0) continue;
            labelled++;
            bool rightA = predA[i] == labels[i], rightB = predB[j] == labels[i];
            var key = (labels[i], predA[i], predB[j]);
            if (!rightA && rightB) { fixedCount++; fixedGroups[key] = fixedGroups.GetValueOrDefault(key) + 1; }
            else if (rightA && !rightB) { broken++; brokenGroups[key] = brokenGroups.GetValueOrDefault(key) + 1; }
            else if (rightA) both++;
            else { neither++; if (predA[i] != predB[j]) wrongChanged++; }
        }
        if (labelled == 0) return null;
        IReadOnlyList<PredictionChange> Top(Dictionary<(int, int, int), int> groups) => groups.OrderByDescending(g => g.Value).ThenBy(g => g.Key)
            .Take(Listed).Select(g => new PredictionChange(name(g.Key.Item1), name(g.Key.Item2), name(g.Key.Item3), g.Value)).ToArray();
        return new PredictionComparison(labelled, fixedCount, broken, both, neither, wrongChanged, Top(fixedGroups), Top(brokenGroups));
    }

    static IReadOnlyList<ClassComparison> ComparePerClass(int[] toB, int[] labels, int[] predA, int[] predB, float[] lossA, float[] lossB,
        int classes, Func<int, string> name)
    {
        int c = Math.Max(classes, labels.DefaultIfEmpty(-1).Max() + 1);
        var count = new int[c]; var rightA = new int[c]; var rightB = new int[c]; var predictedA = new int[c]; var predictedB = new int[c];
        var sumA = new double[c]; var sumB = new double[c]; var nA = new int[c]; var nB = new int[c];
        for (int i = 0; i < toB.Length; i++)
        {
            int j = toB[i], y = labels[i];
            if (j < 0 || y < 0) continue;
            count[y]++;
            if (predA[i] >= 0) { predictedA[y]++; if (predA[i] == y) rightA[y]++; }
            if (predB[j] >= 0) { predictedB[y]++; if (predB[j] == y) rightB[y]++; }
            if (float.IsFinite(lossA[i])) { sumA[y] += lossA[i]; nA[y]++; }
            if (float.IsFinite(lossB[j])) { sumB[y] += lossB[j]; nB[y]++; }
        }
        return Enumerable.Range(0, c).Where(y => count[y] > 0).Select(y => new ClassComparison(name(y), count[y],
            predictedA[y] > 0 ? rightA[y] / (double)predictedA[y] : null, predictedB[y] > 0 ? rightB[y] / (double)predictedB[y] : null,
            nA[y] > 0 ? sumA[y] / nA[y] : null, nB[y] > 0 ? sumB[y] / nB[y] : null)).ToArray();
    }

    static PerceptionChange? ComparePerception(int[] toB, KnnGraph a, KnnGraph b, string?[] ids, int[] labels, int[] predA, int[] predB, Func<int, string> name)
    {
        var overlaps = new List<(int I, double Overlap)>();
        var neighboursB = new HashSet<int>();
        for (int i = 0; i < toB.Length; i++)
        {
            int j = toB[i];
            if (j < 0) continue;
            var na = a.NeighborsOf(i); var nb = b.NeighborsOf(j);
            if (na[0] < 0 || nb[0] < 0) continue;
            neighboursB.Clear();
            foreach (int x in nb) if (x >= 0) neighboursB.Add(x);
            int kept = 0, counted = 0;
            foreach (int x in na)
            {
                if (x < 0 || toB[x] < 0) continue;
                counted++;
                if (neighboursB.Contains(toB[x])) kept++;
            }
            if (counted > 0) overlaps.Add((i, kept / (double)counted));
        }
        if (overlaps.Count == 0) return null;
        var sorted = overlaps.Select(o => o.Overlap).Order().ToArray();
        double median = sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
        var most = overlaps.OrderBy(o => o.Overlap).ThenBy(o => o.I).Take(ChangedListed).Select(o => new ChangedSample(o.I, toB[o.I], ids[o.I] ?? "",
            Math.Round(o.Overlap, 4), labels[o.I] >= 0 ? name(labels[o.I]) : null, predA[o.I] >= 0 ? name(predA[o.I]) : null,
            predB[toB[o.I]] >= 0 ? name(predB[toB[o.I]]) : null)).ToArray();
        return new PerceptionChange(a.K, Math.Round(sorted.Average(), 4), Math.Round(median, 4), most);
    }

    /// <summary>Per pair of classes, the share of neighbours of either class's samples that carry the other's label, in A and in B; the largest changes first.</summary>
    static IReadOnlyList<ProximityChange> CompareProximity(int[] toB, KnnGraph a, KnnGraph b, int[] labelsA, int[] labelsB, int classes, Func<int, string> name)
    {
        if (classes < 2) return [];
        var shareA = Crossing(a, labelsA, classes, i => toB[i] >= 0);
        var fromB = new bool[labelsB.Length];
        foreach (int j in toB) if (j >= 0) fromB[j] = true;
        var shareB = Crossing(b, labelsB, classes, j => fromB[j]);
        var pairs = new List<ProximityChange>();
        for (int x = 0; x < classes; x++)
            for (int y = x + 1; y < classes; y++)
                pairs.Add(new ProximityChange(name(x), name(y), Math.Round((shareA[x, y] + shareA[y, x]) / 2, 4), Math.Round((shareB[x, y] + shareB[y, x]) / 2, 4)));
        return pairs.OrderByDescending(p => Math.Abs(p.ShareB - p.ShareA)).ThenBy(p => p.ClassA, StringComparer.Ordinal).Take(Listed).ToArray();
    }

    /// <summary>share[x, y]: of the neighbours of the samples labelled x, the share labelled y.</summary>
    static double[,] Crossing(KnnGraph g, int[] labels, int classes, Func<int, bool> keep)
    {
        var counts = new double[classes, classes];
        var totals = new double[classes];
        for (int i = 0; i < g.Count; i++)
        {
            int x = labels[i];
            if (x < 0 || x >= classes || !keep(i)) continue;
            foreach (int j in g.NeighborsOf(i))
            {
                if (j < 0 || labels[j] < 0 || labels[j] >= classes) continue;
                counts[x, labels[j]]++; totals[x]++;
            }
        }
        for (int x = 0; x < classes; x++) for (int y = 0; y < classes; y++) counts[x, y] = totals[x] > 0 ? counts[x, y] / totals[x] : 0;
        return counts;
    }

    /// <summary>
    /// Cards of one run without a counterpart in the other: a card of the same kind about mostly the same samples (a
    /// third of their ids shared, Jaccard), or about the same classes and some of the same samples (a tenth), or, for
    /// cards without samples of their own, about the same classes. Clusters and pooled cards are numbered and titled per
    /// run, so their samples say whether they are the same.
    /// </summary>
    static InsightChanges? CompareInsights(Run a, Run b)
    {
        var cardsA = Cards(a); var cardsB = Cards(b);
        if (cardsA == null || cardsB == null) return null;
        bool Same((CardChange Card, HashSet<string> Ids) x, (CardChange Card, HashSet<string> Ids) y)
        {
            if (x.Card.Kind != y.Card.Kind) return false;
            bool sameClasses = x.Card.Classes.Order(StringComparer.Ordinal).SequenceEqual(y.Card.Classes.Order(StringComparer.Ordinal));
            if (x.Ids.Count == 0 || y.Ids.Count == 0) return sameClasses;
            int shared = x.Ids.Count(y.Ids.Contains);
            double jaccard = shared / (double)(x.Ids.Count + y.Ids.Count - shared);
            return jaccard >= 1 / 3.0 || (sameClasses && jaccard >= 0.1);
        }
        return new InsightChanges(cardsB.Where(y => !cardsA.Any(x => Same(x, y))).Select(y => y.Card).ToArray(),
            cardsA.Where(x => !cardsB.Any(y => Same(x, y))).Select(x => x.Card).ToArray());
    }

    static List<(CardChange Card, HashSet<string> Ids)>? Cards(Run run)
    {
        if (InsightsStore.ReadJson(run) is not { } json) return null;
        using var doc = JsonDocument.Parse(json);
        if (!doc.RootElement.TryGetProperty("insights", out var cards) || cards.ValueKind != JsonValueKind.Array) return null;
        var list = new List<(CardChange, HashSet<string>)>();
        static IEnumerable<string> Ids(JsonElement e) => e.ValueKind == JsonValueKind.Array
            ? e.EnumerateArray().SelectMany(x => x.ValueKind == JsonValueKind.Array ? Ids(x) : x.TryGetProperty("id", out var id) ? [id.ToString()] : [])
            : [];
        foreach (var c in cards.EnumerateArray())
        {
            var classes = c.TryGetProperty("classes", out var cl) && cl.ValueKind == JsonValueKind.Array
                ? cl.EnumerateArray().Select(x => x.GetString() ?? "").ToArray() : [];
            var ids = new HashSet<string>(StringComparer.Ordinal);
            if (c.TryGetProperty("samples", out var samples)) ids.UnionWith(Ids(samples));
            if (c.TryGetProperty("pairs", out var pairs)) ids.UnionWith(Ids(pairs));
            list.Add((new CardChange(c.GetProperty("kind").GetString() ?? "", classes, c.GetProperty("title").GetString() ?? ""), ids));
        }
        return list;
    }

    /// <summary>The comparison as text for a terminal.</summary>
    public static string Summary(ComparisonDocument d)
    {
        var s = new StringBuilder();
        string Pct(double? v) => v is { } x ? (100 * x).ToString("F2", CultureInfo.InvariantCulture) + "%" : "—";
        string F(double? v, string format = "F3") => v is { } x ? x.ToString(format, CultureInfo.InvariantCulture) : "—";
        string N(int v) => v.ToString("N0", CultureInfo.InvariantCulture);
        s.AppendLine($"A: {d.A.Run} ({d.A.Model}), {N(d.A.Count)} samples, accuracy {Pct(d.A.Accuracy)}");
        s.AppendLine($"B: {d.B.Run} ({d.B.Model}), {N(d.B.Count)} samples, accuracy {Pct(d.B.Accuracy)}");
        if (d.Domain is { } g)
        {
            s.AppendLine($"two datasets seen by one model: {N(d.Samples.OnlyA)} samples in A, {N(d.Samples.OnlyB)} in B, in A's perception space ({g.Space}, {g.K} neighbours)" +
                (g.MeasuredA < d.Samples.OnlyA || g.MeasuredB < d.Samples.OnlyB ? $"; {N(g.MeasuredA)} and {N(g.MeasuredB)} of them measured" : ""));
            s.AppendLine(g.Card);
            s.AppendLine($"separability {F(g.Separability, "F2")} (0.5: B is drawn like A; 1: they never meet); {N(g.UnfilledA)} samples of A have no B sample near them, {N(g.AddedB)} of B no A sample");
            if (g.Regions.Count > 0)
            {
                int w = Math.Max(6, g.Regions.Take(8).Max(r => r.Name.Length));
                s.AppendLine($"  {"region".PadRight(w)}  {"A",7}  {"B",7}  {"B/A",6}  {"unfilled",8}  verdict");
                foreach (var r in g.Regions.Take(8))
                    s.AppendLine($"  {r.Name.PadRight(w)}  {Pct(r.ShareA),7}  {Pct(r.ShareB),7}  {F(r.Ratio, "F2"),6}  {N(r.Unfilled),8}  {r.Verdict}");
            }
            foreach (var x in g.Added.Take(5)) s.AppendLine($"  added: {N(x.Count)} predicted {x.Class} ({Pct(x.ShareOfB)} of B), e.g. {string.Join(", ", x.ExamplesB.Take(4))}");
            if (d.PerClass.Count > 0)
            {
                int width = Math.Max(5, d.PerClass.Max(c => c.Class.Length));
                s.AppendLine($"  {"class".PadRight(width)}  {"in A",6}  {"in B",6}  {"acc A",8}  {"acc B",8}  {"loss A",7}  {"loss B",7}");
                foreach (var c in d.PerClass)
                    s.AppendLine($"  {c.Class.PadRight(width)}  {N(c.Count),6}  {N(c.CountB ?? 0),6}  {Pct(c.AccuracyA),8}  {Pct(c.AccuracyB),8}  {F(c.LossA),7}  {F(c.LossB),7}");
            }
            foreach (var n in d.Notes) s.AppendLine($"note: {n}");
            return s.ToString();
        }
        s.AppendLine($"matched by id: {N(d.Samples.Matched)} samples" + (d.Samples.OnlyA + d.Samples.OnlyB > 0 ? $" ({N(d.Samples.OnlyA)} only in A, {N(d.Samples.OnlyB)} only in B)" : ""));
        if (d.Predictions is { } p)
        {
            s.AppendLine($"predictions of {N(p.Labelled)} labelled samples: {N(p.Fixed)} fixed, {N(p.Broken)} broken (net {(p.Fixed - p.Broken >= 0 ? "+" : "")}{N(p.Fixed - p.Broken)}); " +
                $"right in both {N(p.RightInBoth)}, wrong in both {N(p.WrongInBoth)} ({N(p.WrongChanged)} of them changed their answer)");
            if (p.FixedMost.Count > 0) s.AppendLine("  fixed most:  " + string.Join("; ", p.FixedMost.Take(5).Select(c => $"{c.Label} (was {c.PredictionA}) {N(c.Count)}")));
            if (p.BrokenMost.Count > 0) s.AppendLine("  broken most: " + string.Join("; ", p.BrokenMost.Take(5).Select(c => $"{c.Label} (now {c.PredictionB}) {N(c.Count)}")));
        }
        if (d.PerClass.Count > 0)
        {
            int width = Math.Max(5, d.PerClass.Max(c => c.Class.Length));
            s.AppendLine($"  {"class".PadRight(width)}  {"count",6}  {"acc A",8}  {"acc B",8}  {"loss A",7}  {"loss B",7}");
            foreach (var c in d.PerClass)
                s.AppendLine($"  {c.Class.PadRight(width)}  {N(c.Count),6}  {Pct(c.AccuracyA),8}  {Pct(c.AccuracyB),8}  {F(c.LossA),7}  {F(c.LossB),7}");
        }
        if (d.Perception is { } q)
        {
            s.AppendLine($"perception: {F(q.MeanOverlap, "F2")} of each sample's {q.K} nearest neighbours stay on average (median {F(q.MedianOverlap, "F2")}); changed most: " +
                string.Join(", ", q.ChangedMost.Take(6).Select(c => $"#{c.IndexA} ({c.Label}, {F(c.Overlap, "F2")})")));
        }
        if (d.ClassProximity.Count > 0)
            s.AppendLine("class proximity (neighbours crossing, A → B): " + string.Join("; ", d.ClassProximity.Take(4).Select(c => $"{c.ClassA} ↔ {c.ClassB} {Pct(c.ShareA)} → {Pct(c.ShareB)}")));
        if (d.Insights is { } i)
        {
            s.AppendLine($"insight cards: {i.Appeared.Count} appeared, {i.Vanished.Count} vanished");
            foreach (var c in i.Appeared.Take(5)) s.AppendLine($"  + {c.Title}");
            foreach (var c in i.Vanished.Take(5)) s.AppendLine($"  − {c.Title}");
        }
        foreach (var n in d.Notes) s.AppendLine($"note: {n}");
        return s.ToString();
    }
}
