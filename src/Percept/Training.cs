using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Percept.Insights;
using Percept.IO;
using Percept.Neighbors;
using Percept.Projection;
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

    /// <summary>The N × epochs matrices of a training folder (<c>history/NAME.npy</c>), exportable as fields.</summary>
    public static readonly string[] HistoryMatrices = ["loss_history", "prediction_history", "correct_history"];

    /// <summary>One of <see cref="HistoryMatrices"/> of the training in <paramref name="directory"/> (N × epochs), or null before its first epoch.</summary>
    public static Matrix? ReadHistory(string directory, string name)
    {
        string path = HistoryPath(directory, name);
        if (!File.Exists(path)) return null;
        var values = Npy.ReadFloat32(path, out var shape);
        return new Matrix(values, (int)shape[0], shape.Length > 1 ? (int)shape[1] : 1);
    }

    /// <summary>Copies one of <see cref="HistoryMatrices"/> to <paramref name="outPath"/> (.npy); returns its shape.</summary>
    /// <exception cref="PerceptException">The training has none yet.</exception>
    public static long[] ExportHistory(string directory, string name, string outPath)
    {
        string source = HistoryPath(directory, name);
        if (!File.Exists(source)) throw new PerceptException($"training {directory} has no {name} yet");
        File.Copy(source, outPath, overwrite: true);
        return Npy.ReadHeader(source).Shape;
    }

    static string HistoryPath(string directory, string name) =>
        HistoryMatrices.Contains(name) ? Path.Combine(directory, HistoryFolder, name + ".npy") : throw new ArgumentException($"no history '{name}'", nameof(name));

    /// <summary>Whether <paramref name="directory"/> is a training folder.</summary>
    /// <remarks>A <c>training.json</c> of something else (a training script's log beside its checkpoints) does not make one.</remarks>
    public static bool IsTraining(string directory)
    {
        string path = Path.Combine(directory, ManifestFile);
        if (!File.Exists(path)) return false;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("format", out var f)
                && f.ValueKind == JsonValueKind.String && f.GetString() == TrainingManifest.FormatName;
        }
        catch (JsonException) { return false; }
    }

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
            throw new PerceptException($"{root} exists and is not a training folder; choose another {Terms.Option("out")}");
        Directory.CreateDirectory(root);
        var manifest = IsTraining(root) ? Open(root) : new TrainingManifest(TrainingManifest.FormatName, 1, Path.GetFullPath(template.Data.Path), []);
        string sha = RunSources.Fingerprint(checkpoint);
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
        if (previous?.Manifest.Map != null && template.Map.Method != MapMethod.None)
        {
            before = previous.ReadMatrix(MapFields.Map);
            options = options with { Map = options.Map with { Initial = before, AlignTo = before, Dimensions = before.Columns } };
        }
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var run = Analysis.Run(options, progress, warn, cancellationToken);
        double? displacement = null;
        if (before != null && run.Manifest.Map != null)
            displacement = MeanDisplacement(before, run.ReadMatrix(MapFields.Map));
        var entry = new EpochEntry(epoch, Path.GetFullPath(checkpoint), sha, relative.Replace('\\', '/'), run.Manifest.Summary?.Accuracy, run.Manifest.Summary?.MeanLoss,
            displacement, Math.Round(clock.Elapsed.TotalSeconds, 3));
        manifest = manifest with { Epochs = [.. manifest.Epochs, entry] };
        run = WriteHistories(root, manifest);
        if (template.Insights)
        {
            progress?.Report(new AnalysisProgress("insights", 0, 1));
            try { InsightsStore.Save(run, PopulationInsights.Compute(run, cancellationToken: cancellationToken)); }
            catch (PerceptException e) { warn?.Invoke($"insights left out ({e.Message}); {Terms.Command("insights", run.Directory)} computes them"); }
            progress?.Report(new AnalysisProgress("insights", 1, 1));
        }
        AtomicFile.Replace(Path.Combine(root, ManifestFile), tmp => File.WriteAllText(tmp, JsonSerializer.Serialize(manifest, TrainingManifest.Json)));
        log?.Invoke($"epoch {epoch}: {Path.GetFileName(checkpoint)}" +
                    (entry.Accuracy is double a ? $", accuracy {a.ToString("P2", CultureInfo.InvariantCulture)}" : "") +
                    (entry.MeanLoss is double l ? $", mean loss {l.ToString("F4", CultureInfo.InvariantCulture)}" : "") +
                    (displacement is double d ? $", dots moved {d.ToString("F3", CultureInfo.InvariantCulture)} of the map's scale on average" : ""));
        return manifest;
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
    /// Recomputes the histories from every epoch's samples table: the N × epochs matrices in the training folder, and in
    /// the newest epoch's run its history fields (<see cref="TrainingFields"/>) and each label's probability at every
    /// epoch so far (which <c>label_issue</c> reads). Returns the newest epoch's run as it now is.
    /// </summary>
    static Run WriteHistories(string root, TrainingManifest manifest)
    {
        var runs = manifest.Epochs.Select(e => Store.Run.Open(Path.Combine(root, e.Run))).ToArray();
        int n = runs[^1].Count, epochs = runs.Length;
        if (runs.Any(r => r.Count != n)) throw new PerceptException("the epochs of a training must analyse the same samples; this checkpoint's run has a different count");
        var loss = new float[n * epochs];
        var prediction = new float[n * epochs];
        var correct = new float[n * epochs];
        for (int e = 0; e < epochs; e++)
        {
            using var samples = runs[e].OpenSamples();
            var l = samples.ReadFloat32(Perception.PerceptionFields.Loss);
            var p = samples.ReadInt32(Perception.PerceptionFields.Prediction);
            var c = samples.ReadBool(Perception.PerceptionFields.Correct);
            for (int i = 0; i < n; i++)
            {
                loss[i * epochs + e] = l[i];
                prediction[i * epochs + e] = p[i];
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
        // The share of each sample's 10 nearest neighbours in perception space replaced since the previous epoch, from
        // each epoch's own neighbour graph.
        change.AsSpan().Fill(float.NaN);
        if (epochs >= 2 && runs[^1].Manifest.Neighbors != null && runs[^2].Manifest.Neighbors != null)
        {
            var now = RunGraph.Read(runs[^1]).First(10);
            var then = RunGraph.Read(runs[^2]).First(10);
            for (int i = 0; i < n; i++)
            {
                var a = now.NeighborsOf(i); var b = then.NeighborsOf(i);
                if (a[0] < 0 || b[0] < 0) continue;
                int kept = 0;
                foreach (int j in a) if (b.Contains(j)) kept++;
                change[i] = 1 - kept / (float)a.Length;
            }
        }
        // Each label's probability at every epoch, exp(−loss).
        var probability = new float[n * epochs];
        for (int t = 0; t < probability.Length; t++) probability[t] = float.IsNaN(loss[t]) ? float.NaN : MathF.Exp(-loss[t]);
        var (margins, agreements, reliable) = LabelHistories(runs);
        using var update = runs[^1].Update();
        update.Write(TrainingFields.FirstLearned, first);
        update.Write(TrainingFields.Forgotten, forgotten);
        update.Write(TrainingFields.NeverLearned, never);
        update.Write(TrainingFields.NeighborhoodChange, change);
        if (epochs >= 2)
        {
            update.Write(InsightFields.LabelHistory, probability, epochs);
            if (margins != null) update.Write(InsightFields.MarginHistory, margins, epochs);
            if (agreements != null) update.Write(InsightFields.AgreementHistory, agreements, epochs);
            if (reliable != null) update.Write(InsightFields.ReliableAgreementHistory, reliable, epochs);
        }
        return update.Commit();
    }

    /// <summary>
    /// Each sample's label margin (probability of the label minus the highest other) and the share of its neighbours that
    /// carry its label, at every epoch (N × epochs, NaN for none), from each epoch's probabilities and neighbour graph;
    /// null where an epoch lacks them.
    /// </summary>
    static (float[]? Margins, float[]? Agreements, float[]? Reliable) LabelHistories(Store.Run[] runs)
    {
        int n = runs[^1].Count, epochs = runs.Length;
        int[] labels;
        using (var samples = runs[^1].OpenSamples()) labels = samples.ReadInt32(Perception.PerceptionFields.Label);
        float[]? margins = runs.All(r => r.Has(Perception.PerceptionFields.Probabilities)) ? new float[n * epochs] : null;
        float[]? agreements = runs.All(r => r.Manifest.Neighbors != null) ? new float[n * epochs] : null;
        float[]? reliable = agreements != null ? new float[n * epochs] : null;
        for (int e = 0; e < epochs; e++)
        {
            if (margins != null)
            {
                using var reader = runs[e].Open(Perception.PerceptionFields.Probabilities);
                int classes = reader.Columns, chunk = Math.Max(1, (1 << 20) / Math.Max(1, classes));
                var buffer = new float[chunk * classes];
                for (int start = 0; start < n; start += chunk)
                {
                    int count = Math.Min(chunk, n - start);
                    reader.Read(start, count, buffer.AsSpan(0, count * classes));
                    for (int t = 0; t < count; t++)
                    {
                        int i = start + t, y = labels[i];
                        var p = buffer.AsSpan(t * classes, classes);
                        if (y < 0 || y >= classes || !float.IsFinite(p[y])) { margins[i * epochs + e] = float.NaN; continue; }
                        float other = float.NegativeInfinity;
                        for (int c = 0; c < classes; c++) if (c != y && p[c] > other) other = p[c];
                        margins[i * epochs + e] = p[y] - (classes > 1 ? other : 0);
                    }
                }
            }
            if (agreements != null)
            {
                var full = RunGraph.Read(runs[e]);
                var graph = full.First(Math.Min(Insights.LabelEvidence.GraphK, full.Graph.K));
                for (int i = 0; i < n; i++)
                {
                    int same = 0, known = 0;
                    if (labels[i] >= 0)
                        foreach (int j in graph.NeighborsOf(i))
                        {
                            if (j < 0 || labels[j] < 0) continue;
                            known++;
                            if (labels[j] == labels[i]) same++;
                        }
                    agreements[i * epochs + e] = known > 0 ? same / (float)known : float.NaN;
                }
                var votes = LabelEvidence.ReliableAgreement(graph, labels);
                for (int i = 0; i < n; i++) reliable![i * epochs + e] = (float)votes[i];
            }
        }
        return (margins, agreements, reliable);
    }
}

/// <summary>The fields a training's analysis writes into each epoch's run: how each sample fared over the epochs so far.</summary>
public static class TrainingFields
{
    const string Owner = "Training";
    const string MadeBy = "checkpoints";

    public static readonly Field FirstLearned = new()
    {
        Name = "first_learned", Type = FieldType.Float32, Kind = FieldKind.Count, Owner = Owner, MadeBy = MadeBy,
        Description = "the epoch (1-based) from which the sample stays correct (NaN: not correct at the last epoch, or unlabelled)",
    };
    public static readonly Field Forgotten = new()
    {
        Name = "forgotten", Type = FieldType.Float32, Kind = FieldKind.Count, Owner = Owner, MadeBy = MadeBy,
        Description = "how often the sample went from correct to wrong between epochs",
    };
    public static readonly Field NeverLearned = new()
    {
        Name = "never_learned", Type = FieldType.Float32, Kind = FieldKind.Category, Owner = Owner, MadeBy = MadeBy,
        Categories = ["learned", "never learned"], Description = "1 when the sample was never correct at any epoch so far",
    };
    public static readonly Field NeighborhoodChange = new()
    {
        Name = "neighborhood_change", Type = FieldType.Float32, Kind = FieldKind.Number, Owner = Owner, MadeBy = MadeBy,
        Description = "the share of the sample's 10 nearest neighbours in perception space replaced since the previous epoch",
    };

    /// <summary>Every field a training declares.</summary>
    public static IReadOnlyList<Field> All => [FirstLearned, Forgotten, NeverLearned, NeighborhoodChange];
}
