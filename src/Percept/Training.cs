using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Percept.IO;
using Percept.Model;
using Percept.Neighbors;
using Percept.Store;

namespace Percept;

/// <summary>One analysed epoch of a training: its checkpoint, its run (relative to the training folder) and its totals.</summary>
/// <param name="MeanDisplacement">Mean distance a dot moved on the map since the previous epoch, over the map's scale (the
/// root-mean-square distance of the dots from their centre); null for the first epoch.</param>
public sealed record EpochEntry(int Epoch, string Checkpoint, string Sha256, string Run, double? Accuracy, double? MeanLoss, double? MeanDisplacement, double Seconds);

/// <summary>The manifest of a training folder, <c>training.json</c>.</summary>
public sealed record TrainingManifest(string Format, int Version, string Data, IReadOnlyList<EpochEntry> Epochs)
{
    public const string FormatName = "percept-training";

    internal static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };
}

/// <summary>
/// The analysis of a training, one checkpoint per epoch: a folder holding <c>training.json</c>, a complete run per epoch
/// (<c>epochs/epoch-K</c>, each map started from the previous epoch's and aligned to it, so a dot moves only when the
/// model's view of it changes), and the per-sample histories (<c>history/</c>): loss, prediction and correctness per
/// epoch (N × epochs), and as fields of every epoch's run the first epoch a sample was learned (correct from then on),
/// how often it was forgotten (correct → wrong), whether it was never learned, and how much of its neighbourhood in
/// perception space changed since the previous epoch. Epochs are written one at a time, each atomically, so memory does
/// not grow with the number of epochs, an interrupted analysis keeps every finished epoch, and a second analysis resumes.
/// </summary>
public static partial class Training
{
    public const string ManifestFile = "training.json";
    public const string EpochsFolder = "epochs";
    public const string HistoryFolder = "history";

    /// <summary>The per-sample history fields written into every epoch's run (<c>history/NAME.npy</c>).</summary>
    public static IReadOnlyList<string> HistoryFields => Run.HistoryFields;

    /// <summary>The N × epochs matrices of a training folder (<c>history/NAME.npy</c>), exportable as fields.</summary>
    public static readonly string[] HistoryMatrices = ["loss_history", "prediction_history", "correct_history"];

    /// <summary>Whether <paramref name="directory"/> is a training folder.</summary>
    public static bool IsTraining(string directory) => File.Exists(Path.Combine(directory, ManifestFile));

    /// <summary>Reads a training folder's manifest.</summary>
    /// <exception cref="PerceptException">Not a training folder, or a manifest that does not parse.</exception>
    public static TrainingManifest Open(string directory)
    {
        string path = Path.Combine(directory, ManifestFile);
        if (!File.Exists(path)) throw new PerceptException($"{directory} is not a training folder (no {ManifestFile})");
        try
        {
            var m = JsonSerializer.Deserialize<TrainingManifest>(File.ReadAllText(path), TrainingManifest.Json) ?? throw new PerceptException($"{path} is empty");
            if (m.Format != TrainingManifest.FormatName) throw new PerceptException($"{path} is not a Percept training manifest");
            return m;
        }
        catch (JsonException e) { throw new PerceptException($"{path} is not a valid training manifest: {e.Message.Split('\n')[0]}"); }
    }

    /// <summary>The run folder of epoch <paramref name="epoch"/> (1-based; null: the last) of a training folder.</summary>
    /// <exception cref="PerceptException">An epoch the training does not have.</exception>
    public static string EpochDirectory(string directory, int? epoch = null)
    {
        var m = Open(directory);
        if (m.Epochs.Count == 0) throw new PerceptException($"training {directory} has no analysed epoch yet");
        int e = epoch ?? m.Epochs[^1].Epoch;
        var entry = m.Epochs.FirstOrDefault(x => x.Epoch == e)
            ?? throw new PerceptException($"training {directory} has no epoch {e} (epochs 1 to {m.Epochs.Count})");
        return Path.Combine(directory, entry.Run);
    }

    /// <summary>
    /// The checkpoints a user names: a folder's <c>*.onnx</c> files in natural order (epoch2 before epoch10), or the files
    /// given, in the order given.
    /// </summary>
    /// <exception cref="PerceptException">A missing file, a folder without checkpoints.</exception>
    public static IReadOnlyList<string> FindCheckpoints(IReadOnlyList<string> given)
    {
        if (given.Count == 1 && Directory.Exists(given[0]))
        {
            var found = NaturalOrder(Directory.GetFiles(given[0], "*.onnx"));
            return found.Count > 0 ? found : throw new PerceptException($"no .onnx checkpoint in {given[0]}");
        }
        foreach (var f in given) if (!File.Exists(f)) throw new PerceptException($"checkpoint not found: {f}");
        return given;
    }

    /// <summary>File names in natural order: the numbers in them compare as numbers.</summary>
    public static List<string> NaturalOrder(IEnumerable<string> paths) =>
        paths.OrderBy(p => Digits().Replace(Path.GetFileName(p), m => m.Value.PadLeft(20, '0')), StringComparer.Ordinal).ToList();

    [GeneratedRegex("[0-9]+")]
    private static partial Regex Digits();

    /// <summary>
    /// Analyses every checkpoint in order into the training folder <c>template.OutputDirectory</c>, skipping the epochs it
    /// already holds for the same checkpoint file contents (a resumed or repeated analysis recomputes nothing).
    /// </summary>
    /// <param name="template">The analysis of each epoch: data, preprocessing, layers, map (its model and output folder are set per epoch).</param>
    /// <param name="log">One line per epoch.</param>
    public static TrainingManifest Analyse(IReadOnlyList<string> checkpoints, AnalysisOptions template, Action<string>? log = null,
        IProgress<AnalysisProgress>? progress = null, Action<string>? warn = null, CancellationToken cancellationToken = default)
    {
        TrainingManifest? manifest = null;
        foreach (var checkpoint in checkpoints) manifest = AnalyseNext(checkpoint, template, log, progress, warn, cancellationToken);
        return manifest ?? Open(template.OutputDirectory);
    }

    /// <summary>
    /// Analyses one checkpoint as the training's next epoch (or finds it already analysed), then updates the histories.
    /// The epoch's map starts from the previous epoch's map and is aligned to it.
    /// </summary>
    public static TrainingManifest AnalyseNext(string checkpoint, AnalysisOptions template, Action<string>? log = null,
        IProgress<AnalysisProgress>? progress = null, Action<string>? warn = null, CancellationToken cancellationToken = default)
    {
        string root = template.OutputDirectory;
        if (File.Exists(root)) throw new PerceptException($"{root} is a file; a training is written into a folder");
        if (Directory.Exists(root) && !IsTraining(root) && Directory.EnumerateFileSystemEntries(root).Any())
            throw new PerceptException($"{root} exists and is not a training folder; choose another --out");
        Directory.CreateDirectory(root);
        var manifest = IsTraining(root) ? Open(root) : new TrainingManifest(TrainingManifest.FormatName, 1, Path.GetFullPath(template.Data.Path), []);
        string sha = Analysis.Sha256(checkpoint);
        if (manifest.Epochs.FirstOrDefault(e => e.Sha256 == sha) is { } done && Directory.Exists(Path.Combine(root, done.Run)))
        {
            log?.Invoke($"epoch {done.Epoch}: {Path.GetFileName(checkpoint)} already analysed");
            return manifest;
        }
        int epoch = manifest.Epochs.Count + 1;
        string relative = Path.Combine(EpochsFolder, $"epoch-{epoch}");
        var previous = manifest.Epochs.Count > 0 ? Store.Run.Open(Path.Combine(root, manifest.Epochs[^1].Run)) : null;
        // Insights come after the histories, which they read.
        var options = template with { ModelPath = checkpoint, OutputDirectory = Path.Combine(root, relative), Overwrite = true, Insights = false };
        Matrix? before = null;
        if (previous?.Manifest.Map != null && template.Map.Method != Projection.MapMethod.None)
        {
            before = new Matrix(previous.ReadMatrix("map", out int rows, out int dims), rows, dims);
            options = options with { Map = options.Map with { Initial = before, AlignTo = before, Dimensions = dims } };
        }
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var run = Analysis.Run(options, progress, warn, cancellationToken);
        double? displacement = null;
        if (before != null && run.Manifest.Map != null)
            displacement = MeanDisplacement(before, new Matrix(run.ReadMatrix("map", out int r2, out int d2), r2, d2));
        var entry = new EpochEntry(epoch, Path.GetFullPath(checkpoint), sha, relative.Replace('\\', '/'), run.Manifest.Summary?.Accuracy, run.Manifest.Summary?.MeanLoss,
            displacement, Math.Round(clock.Elapsed.TotalSeconds, 3));
        manifest = manifest with { Epochs = [.. manifest.Epochs, entry] };
        WriteHistories(root, manifest);
        if (template.Insights)
        {
            progress?.Report(new AnalysisProgress("insights", 0, 1));
            try { Insights.InsightsStore.Save(run.Directory, Insights.PopulationInsights.Compute(WithHistory(Insights.Population.FromRun(run, cancellationToken), root, epoch))); }
            catch (PerceptException e) { warn?.Invoke($"insights left out ({e.Message}); 'percept insights {run.Directory}' computes them"); }
            progress?.Report(new AnalysisProgress("insights", 1, 1));
        }
        AtomicFile.Replace(Path.Combine(root, ManifestFile), tmp => File.WriteAllText(tmp, JsonSerializer.Serialize(manifest, TrainingManifest.Json)));
        log?.Invoke($"epoch {epoch}: {Path.GetFileName(checkpoint)}" +
                    (entry.Accuracy is double a ? $", accuracy {a.ToString("P2", CultureInfo.InvariantCulture)}" : "") +
                    (entry.MeanLoss is double l ? $", mean loss {l.ToString("F4", CultureInfo.InvariantCulture)}" : "") +
                    (displacement is double d ? $", dots moved {d.ToString("F3", CultureInfo.InvariantCulture)} of the map's scale on average" : ""));
        return manifest;
    }

    /// <summary>The population of epoch <paramref name="epoch"/> with each label's probability at every epoch so far (exp(−loss)).</summary>
    static Insights.Population WithHistory(Insights.Population population, string root, int epoch)
    {
        string path = Path.Combine(root, HistoryFolder, "loss_history.npy");
        if (epoch < 2 || !File.Exists(path)) return population;
        var loss = Npy.ReadFloat32(path, out var shape);
        int n = (int)shape[0], epochs = (int)shape[1];
        var p = new Matrix(n, epochs);
        for (int i = 0; i < n * epochs; i++) p.Data[i] = float.IsNaN(loss[i]) ? float.NaN : MathF.Exp(-loss[i]);
        return population with { LabelProbabilityHistory = p };
    }

    /// <summary>Mean distance between matching points of two maps, over the root-mean-square distance of the second map's points from their centre.</summary>
    public static double MeanDisplacement(Matrix a, Matrix b)
    {
        int n = Math.Min(a.Rows, b.Rows), dims = Math.Min(a.Columns, b.Columns), counted = 0;
        var centre = new double[dims];
        for (int i = 0; i < n; i++) for (int d = 0; d < dims; d++) centre[d] += b.Row(i)[d];
        for (int d = 0; d < dims; d++) centre[d] /= Math.Max(1, n);
        double moved = 0, spread = 0;
        for (int i = 0; i < n; i++)
        {
            double m = 0, s = 0;
            var ra = a.Row(i); var rb = b.Row(i);
            for (int d = 0; d < dims; d++) { double u = ra[d] - rb[d], v = rb[d] - centre[d]; m += u * u; s += v * v; }
            if (!double.IsFinite(m)) continue;
            moved += Math.Sqrt(m); spread += s; counted++;
        }
        return counted == 0 ? double.NaN : moved / counted / Math.Sqrt(spread / counted);
    }

    /// <summary>
    /// Recomputes the histories from every epoch's samples table: the N × epochs matrices in the training folder and the
    /// per-sample fields in the newest epoch's run.
    /// </summary>
    static void WriteHistories(string root, TrainingManifest manifest)
    {
        var runs = manifest.Epochs.Select(e => Store.Run.Open(Path.Combine(root, e.Run))).ToArray();
        int n = runs[^1].Count, epochs = runs.Length;
        if (runs.Any(r => r.Count != n)) throw new PerceptException("the epochs of a training must analyse the same samples; this checkpoint's run has a different count");
        var loss = new float[n * epochs];
        var prediction = new float[n * epochs];
        var correct = new float[n * epochs];
        for (int e = 0; e < epochs; e++)
        {
            var l = runs[e].ReadColumn("loss"); var p = runs[e].ReadColumn("prediction"); var c = runs[e].ReadColumn("correct");
            for (int i = 0; i < n; i++)
            {
                loss[i * epochs + e] = l[i] == null ? float.NaN : Convert.ToSingle(l[i], CultureInfo.InvariantCulture);
                prediction[i * epochs + e] = p[i] == null ? -1 : Convert.ToSingle(p[i], CultureInfo.InvariantCulture);
                correct[i * epochs + e] = c[i] is bool b ? (b ? 1 : 0) : float.NaN;
            }
        }
        string history = Path.Combine(root, HistoryFolder);
        Directory.CreateDirectory(history);
        foreach (var (name, data) in new[] { ("loss_history", loss), ("prediction_history", prediction), ("correct_history", correct) })
            AtomicFile.Replace(Path.Combine(history, name + ".npy"), tmp => Npy.Write(tmp, data, n, epochs));

        // Per sample: the first epoch from which it stays correct, how often it went from correct to wrong, never learned.
        var first = new float[n]; var forgotten = new float[n]; var never = new float[n]; var change = new float[n];
        for (int i = 0; i < n; i++)
        {
            var row = correct.AsSpan(i * epochs, epochs);
            if (float.IsNaN(row[^1])) { first[i] = forgotten[i] = never[i] = float.NaN; continue; }
            int from = epochs;
            while (from > 0 && row[from - 1] == 1) from--;
            first[i] = from < epochs ? from + 1 : float.NaN;
            int drops = 0;
            for (int e = 1; e < epochs; e++) if (row[e - 1] == 1 && row[e] == 0) drops++;
            forgotten[i] = drops;
            never[i] = row.IndexOf(1f) < 0 ? 1 : 0;
        }
        // The share of each sample's 10 nearest neighbours in perception space replaced since the previous epoch.
        change.AsSpan().Fill(float.NaN);
        // Each epoch's graph is computed once and kept in its run, for the next epoch's comparison.
        var now = Neighbours(runs[^1]);
        if (epochs >= 2)
        {
            var then = Neighbours(runs[^2]);
            if (now != null && then != null)
                for (int i = 0; i < n; i++)
                {
                    var a = now.NeighborsOf(i); var b = then.NeighborsOf(i);
                    int kept = 0;
                    foreach (int j in a) if (b.Contains(j)) kept++;
                    change[i] = 1 - kept / (float)a.Length;
                }
        }
        string fields = runs[^1].PathOf(HistoryFolder);
        Directory.CreateDirectory(fields);
        foreach (var (name, data) in new[] { ("first_learned", first), ("forgotten", forgotten), ("never_learned", never), ("neighborhood_change", change) })
            AtomicFile.Replace(Path.Combine(fields, name + ".npy"), tmp => Npy.Write(tmp, data, n));
    }

    /// <summary>The 10-NN graph of a run's perception vectors (cosine; exact up to 20,000 samples), or null when a vector is not finite.</summary>
    /// <remarks>Kept in the run as <c>history/neighbors.npy</c> (int64 N × 10) once computed.</remarks>
    static KnnGraph? Neighbours(Run run)
    {
        string kept = run.PathOf(Path.Combine(HistoryFolder, "neighbors.npy"));
        if (File.Exists(kept))
        {
            var indices = Npy.ReadInt64(kept, out var shape);
            return new KnnGraph(indices.Select(v => (int)v).ToArray(), new float[indices.Length], (int)shape[0], (int)shape[1]);
        }
        var x = new Matrix(run.ReadMatrix("embedding", out int rows, out int cols), rows, cols);
        if (!Numerics.AllFinite(x.Data) || rows < 11) return null;
        var graph = rows <= 20_000 ? ExactKnn.Search(x, 10, Metric.Cosine) : NNDescent.Build(x, 10, Metric.Cosine, new NNDescentOptions { Seed = 1 });
        Directory.CreateDirectory(run.PathOf(HistoryFolder));
        AtomicFile.Replace(kept, tmp => Npy.Write(tmp, graph.Indices.Select(i => (long)i).ToArray(), rows, 10));
        return graph;
    }

}
