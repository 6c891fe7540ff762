using Percept.Core;
using System.Diagnostics;
using System.Globalization;
using Percept;
using Percept.Data;
using Percept.Insights;
using Percept.IO;
using Percept.Store;

/// <summary>
/// Planted faults: how well insights find labels flipped to a look-alike class and noisy copies, against ranking by loss.
///   insights                   the 10k test split, 3% look-alike flips and 50 noisy copies, the demo model
///   insights --noisy DIR       the 60k training split with the noisy labels a model was trained on (tools/train_noisy_model.py)
///   insights --cost            the time and memory of insights on all 70,000 images against the map's
///   insights --ambiguous       the 10k test split with 300 look-alike flips and 300 images blended with a look-alike class's at known ratios
/// </summary>
static class InsightsBench
{
    /// <summary>Look-alike classes of Fashion-MNIST (the same map as tools/train_noisy_model.py).</summary>
    static readonly Dictionary<int, int> LookAlike = new() { [0] = 6, [6] = 0, [2] = 4, [4] = 2, [5] = 7, [7] = 5, [1] = 3, [3] = 1, [9] = 7, [8] = 6 };

    static readonly string Classes = Path.Combine(Paths.Root, "data", "fashion-mnist", "classes.txt");

    public static int Run(string[] args)
    {
        ulong seed = args.SkipWhile(a => a != "--seed").Skip(1).Select(a => ulong.Parse(a, CultureInfo.InvariantCulture)).FirstOrDefault();
        string? keep = args.SkipWhile(a => a != "--keep").Skip(1).FirstOrDefault();
        string scratch = keep ?? Path.Combine(Path.GetTempPath(), "percept-insights-bench-" + Environment.ProcessId);
        Directory.CreateDirectory(scratch);
        try
        {
            if (args.Contains("--noisy")) return Noisy(args.SkipWhile(a => a != "--noisy").Skip(1).First(), scratch);
            if (args.Contains("--cost")) return Cost(scratch);
            if (args.Contains("--ambiguous")) return Ambiguous(seed, scratch);
            return Planted(seed, scratch);
        }
        finally { if (keep == null) Directory.Delete(scratch, true); }
    }

    /// <summary>Pixels as the model takes them, in [0, 1] (a float .npy is fed as it is).</summary>
    static float[] Floats(byte[] pixels) => pixels.Select(b => b / 255f).ToArray();

    static (byte[] Pixels, long[] Labels) ReadIdx(string images, string labels)
    {
        using var ds = new IdxDataset(images, labels);
        var pixels = new byte[ds.Count * 784];
        var y = new long[ds.Count];
        int row = 0;
        foreach (var b in ds.ReadBatches(1000))
            for (int i = 0; i < b.Count; i++, row++)
            {
                for (int p = 0; p < 784; p++) pixels[row * 784 + p] = (byte)b.Values[i * 784 + p];
                y[row] = b.Labels[i];
            }
        return (pixels, y);
    }

    /// <summary>The run of the images with the labels (kept in a --keep folder, and taken from it again: insights are what is measured).</summary>
    static Run Analyse(string scratch, string name, string images, string labels, string? model = null) =>
        Percept.Store.Run.IsRun(Path.Combine(scratch, name)) ? Percept.Store.Run.Open(Path.Combine(scratch, name)) : Analysis.Run(new AnalysisOptions
        {
            ModelPath = model ?? Paths.Model,
            Data = new DataSource { Path = images, LabelsPath = labels, ClassNamesPath = Classes },
            OutputDirectory = Path.Combine(scratch, name),
            Insights = false,
        });

    /// <summary>Precision and recall of the top <paramref name="k"/> of a score against the planted set.</summary>
    static (double Precision, double Recall) TopK(float[] score, HashSet<int> planted, int k)
    {
        var top = Enumerable.Range(0, score.Length).OrderByDescending(i => float.IsNaN(score[i]) ? float.NegativeInfinity : score[i]).Take(k).ToArray();
        int hit = top.Count(planted.Contains);
        return (hit / (double)k, hit / (double)planted.Count);
    }

    static void Report(Run run, InsightsDocument doc, HashSet<int> flipped, string what)
    {
        float[] loss;
        using (var samples = run.OpenSamples()) loss = samples.ReadFloat32(Percept.Perception.PerceptionFields.Loss);
        int k = flipped.Count;
        var (pl, rl) = TopK(doc.LabelIssue, flipped, k);
        var (pb, rb) = TopK(loss, flipped, k);
        var labelCards = doc.Insights.Where(c => c.Kind is "suspected-mislabel" or "ambiguous").ToArray();
        var flagged = labelCards.SelectMany(c => c.Samples.Select(s => s.Index)).ToHashSet();
        Console.WriteLine($"\n{what}: {k} labels flipped to a look-alike class");
        Console.WriteLine("| ranking | precision at the planted count | recall at the planted count |");
        Console.WriteLine("|---|---|---|");
        Console.WriteLine($"| label_issue | {pl:F3} | {rl:F3} |");
        Console.WriteLine($"| loss | {pb:F3} | {rb:F3} |");
        Console.WriteLine($"suspected-mislabel and ambiguous cards: {labelCards.Length} of {doc.Insights.Count} cards, {flagged.Count} samples, " +
                          $"precision {flagged.Count(flipped.Contains) / (double)Math.Max(1, flagged.Count):F3}, recall {flagged.Count(flipped.Contains) / (double)k:F3}; " +
                          $"one-sample cards {labelCards.Count(c => c.Samples.Count == 1)}");
        var variants = doc.Insights.Where(c => c.Kind == "rare-variant").SelectMany(c => c.Samples.Select(s => s.Index)).ToHashSet();
        Console.WriteLine($"cards: {doc.Insights.Count} ({doc.Insights.Count(c => c.Primary)} primary: {string.Join(", ", doc.Insights.Where(c => c.Primary).Select(c => c.Kind))}); " +
                          $"label_issue basis {doc.LabelIssues?.Basis}, fits against neighbours {doc.LabelIssues?.FitsAgainstNeighbours} of {doc.LabelIssues?.SamplesMeasured}, " +
                          $"estimated label issues {doc.LabelIssues?.EstimatedIssues} (planted {k}); flips in rare-variant cards {variants.Count(flipped.Contains)} of {variants.Count}");
        // Each card's own precision against the estimate it carries (the card lists at most 200 samples).
        foreach (var card in labelCards.Where(c => c.Precision != null))
            Console.WriteLine($"  {card.Title}: precision {card.Samples.Count(s => flipped.Contains(s.Index)) / (double)card.Samples.Count:F2}, estimated {card.Precision:F2}");
        double expected = labelCards.Sum(c => (c.Precision ?? 0) * c.Samples.Count);
        Console.WriteLine($"  all label cards: flips expected {expected:F0}, found {flagged.Count(flipped.Contains)}");
    }

    /// <summary>Blends per ratio of the image's own class (the rest is a look-alike class's image).</summary>
    static readonly double[] BlendRatios = [0.5, 0.6, 0.7, 0.8];

    /// <summary>
    /// Label errors against ambiguity: 300 labels flipped to a look-alike class (clear errors) and 300 images blended with
    /// an image of the look-alike class at known ratios, keeping their label (genuinely between two classes at ½). Where
    /// does each land: a suspected-mislabel card, an ambiguous card, or none?
    /// </summary>
    static int Ambiguous(ulong seed, string scratch)
    {
        var (pixels, clean) = ReadIdx(Paths.TestImages, Paths.TestLabels);
        int n = clean.Length;
        var rng = new SplitMix64(seed + 101);
        var chosen = Sample(ref rng, n, 600);
        var flipped = chosen[..300].ToHashSet();
        var blended = chosen[300..];
        var labels = clean.ToArray();
        foreach (int i in flipped) labels[i] = LookAlike[(int)clean[i]];
        var byClass = Enumerable.Range(0, 10).Select(c => Enumerable.Range(0, n).Where(i => clean[i] == c && !flipped.Contains(i)).ToArray()).ToArray();
        var ratio = new Dictionary<int, double>();
        var mixed = (byte[])pixels.Clone();
        for (int t = 0; t < blended.Length; t++)
        {
            int i = blended[t];
            var donors = byClass[LookAlike[(int)clean[i]]];
            int j = donors[(int)(rng.Next() % (ulong)donors.Length)];
            double a = BlendRatios[t % BlendRatios.Length];
            ratio[i] = a;
            for (int p = 0; p < 784; p++) mixed[i * 784 + p] = (byte)Math.Round(a * pixels[i * 784 + p] + (1 - a) * pixels[j * 784 + p]);
        }
        string images = Path.Combine(scratch, "images.npy"), y = Path.Combine(scratch, "labels.npy");
        Npy.Write(images, Floats(mixed), n, 28, 28);
        Npy.Write(y, labels.AsSpan(), n);
        Console.WriteLine($"Fashion-MNIST test split, seed {seed}: {flipped.Count} labels flipped to a look-alike class; {blended.Length} images blended with a look-alike class's " +
                          $"image at {string.Join(", ", BlendRatios.Select(r => $"{r:P0}"))} of their own (label kept); demo model {Path.GetFileName(Paths.Model)}");
        File.WriteAllLines(Path.Combine(scratch, "planted.txt"), [string.Join(",", flipped.Order()), .. BlendRatios.Select(a => string.Join(",", blended.Where(i => ratio[i] == a).Order()))]);
        var run = Analyse(scratch, "ambiguous", images, y);
        var doc = PopulationInsights.Compute(run);
        var mislabel = doc.Insights.Where(c => c.Kind == "suspected-mislabel").SelectMany(c => c.Samples.Select(s => s.Index)).ToHashSet();
        var ambiguous = doc.Insights.Where(c => c.Kind == "ambiguous").SelectMany(c => c.Samples.Select(s => s.Index)).ToHashSet();
        var variant = doc.Insights.Where(c => c.Kind == "rare-variant").SelectMany(c => c.Samples.Select(s => s.Index)).ToHashSet();
        var rank = Enumerable.Range(0, n).OrderByDescending(i => float.IsNaN(doc.LabelIssue[i]) ? float.NegativeInfinity : doc.LabelIssue[i]).ToArray();
        var top = rank.Take(flipped.Count).ToHashSet();
        Console.WriteLine($"cards: {doc.Insights.Count} ({doc.Insights.Count(c => c.Kind == "suspected-mislabel")} suspected-mislabel, {doc.Insights.Count(c => c.Kind == "ambiguous")} ambiguous)");
        Console.WriteLine("| planted | samples | in a suspected-mislabel card | in an ambiguous card | in a rare-variant card | in the top 300 of label_issue | mean label_issue |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        void Row(string what, int[] rows) => Console.WriteLine(
            $"| {what} | {rows.Length} | {rows.Count(mislabel.Contains) / (double)rows.Length:P0} | {rows.Count(ambiguous.Contains) / (double)rows.Length:P0} | " +
            $"{rows.Count(variant.Contains) / (double)rows.Length:P0} | {rows.Count(top.Contains) / (double)rows.Length:P0} | {rows.Average(i => doc.LabelIssue[i]):F3} |");
        Row("label flipped", [.. flipped]);
        foreach (double a in BlendRatios) Row($"blended, {a:P0} own class", [.. blended.Where(i => ratio[i] == a)]);
        var untouched = Enumerable.Range(0, n).Where(i => !flipped.Contains(i) && !ratio.ContainsKey(i)).ToArray();
        Row("untouched", untouched);
        return 0;
    }

    /// <summary>The 10k test split with 3% look-alike flips and 50 noisy copies of random images appended.</summary>
    static int Planted(ulong seed, string scratch)
    {
        var (pixels, clean) = ReadIdx(Paths.TestImages, Paths.TestLabels);
        int n = clean.Length, copies = 50;
        var rng = new SplitMix64(seed + 1);
        var flipped = Sample(ref rng, n, (int)Math.Round(0.03 * n)).ToHashSet();
        var labels = clean.ToList();
        foreach (int i in flipped) labels[i] = LookAlike[(int)clean[i]];
        var sources = Sample(ref rng, n, copies);
        var all = new byte[(n + copies) * 784];
        pixels.CopyTo(all, 0);
        for (int c = 0; c < copies; c++)
        {
            // Gaussian noise of 4/255 on every pixel: the same garment, not the same bytes.
            for (int p = 0; p < 784; p++)
                all[(n + c) * 784 + p] = (byte)Math.Clamp(Math.Round(pixels[sources[c] * 784 + p] + 4 * rng.NextGaussian()), 0, 255);
            labels.Add(labels[sources[c]]);
        }
        string images = Path.Combine(scratch, "images.npy"), y = Path.Combine(scratch, "labels.npy");
        Npy.Write(images, Floats(all), n + copies, 28, 28);
        Npy.Write(y, labels.ToArray().AsSpan(), n + copies);
        Console.WriteLine($"Fashion-MNIST test split, seed {seed}: {flipped.Count} labels flipped to a look-alike class, {copies} noisy copies (σ = 4/255) appended; demo model {Path.GetFileName(Paths.Model)}");
        var clock = Stopwatch.StartNew();
        var run = Analyse(scratch, "planted", images, y);
        double analysed = clock.Elapsed.TotalSeconds;
        clock.Restart();
        var doc = PopulationInsights.Compute(run);
        double insights = clock.Elapsed.TotalSeconds;
        Console.WriteLine($"analysis {analysed:F1} s (map {run.Manifest.Map!.Seconds:F1} s), insights {insights:F1} s");
        Report(run, doc, flipped, "Planted look-alike flips");
        var pairs = doc.Insights.Where(c => c.Kind == "near-duplicates").SelectMany(c => c.Pairs ?? []).Select(p => (Math.Min(p[0].Index, p[1].Index), Math.Max(p[0].Index, p[1].Index))).ToHashSet();
        var planted = Enumerable.Range(0, copies).Select(c => (sources[c], n + c)).ToArray();
        int found = planted.Count(pairs.Contains);
        File.WriteAllLines(Path.Combine(scratch, "planted.txt"), [string.Join(",", flipped.Order()), string.Join(",", sources)]);
        Console.WriteLine($"\nPlanted noisy copies: {found} of {copies} pairs found (recall {found / (double)copies:F3}); the card lists {pairs.Count} pairs, {pairs.Count - found} of them not planted");
        return 0;
    }

    /// <summary>The 60k training split with the noisy labels a model was trained (and fitted) on.</summary>
    static int Noisy(string dir, string scratch)
    {
        if (Paths.FullSet(null) is not { } full) { Console.WriteLine("full Fashion-MNIST not found (../shared/datasets/fashion-mnist or /usr/share/datasets/fashion-mnist)"); return 1; }
        string model = Path.Combine(dir, "model.onnx"), noisy = Path.Combine(dir, "noisy-labels.npy");
        if (!File.Exists(model)) { Console.WriteLine($"no {model}: run tools/train_noisy_model.py --out {dir} first"); return 1; }
        var flipped = Npy.ReadInt64(Path.Combine(dir, "flipped.npy"), out _).Select(v => (int)v).ToHashSet();
        // The images the model was trained on: the first N of the training split (N = the noisy labels' count).
        int count = (int)Npy.ReadHeader(noisy).Shape[0];
        var (pixels, _) = ReadIdx(Path.Combine(full, "train-images-idx3-ubyte.gz"), Path.Combine(full, "train-labels-idx1-ubyte.gz"));
        string images = Path.Combine(scratch, "train.npy");
        Npy.Write(images, Floats(pixels[..(count * 784)]), count, 28, 28);
        var log = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "train-log.json"))).RootElement.EnumerateArray().Last();
        Console.WriteLine($"Fashion-MNIST training split, first {count:N0} images, with the noisy labels of {dir}: {log.GetProperty("epoch").GetInt32()} epochs trained, " +
                          $"training accuracy on the noisy labels {log.GetProperty("train_accuracy_noisy").GetDouble():P1}, flipped labels fitted {log.GetProperty("flips_fitted").GetDouble():P1}");
        var run = Analyse(scratch, "noisy", images, noisy, model);
        Console.WriteLine($"accuracy on the noisy labels {run.Manifest.Summary!.Accuracy:P2}");
        var clock = Stopwatch.StartNew();
        var doc = PopulationInsights.Compute(run);
        Console.WriteLine($"insights {clock.Elapsed.TotalSeconds:F1} s, map {run.Manifest.Map!.Seconds:F1} s");
        Report(run, doc, flipped, "Training split, noisy labels the model has fitted");

        // The same images through the checkpoints the training wrote on the way: label_issue with the history.
        string checkpoints = Path.Combine(dir, "checkpoints");
        if (Directory.Exists(checkpoints))
        {
            var list = Training.FindCheckpoints([checkpoints]);
            var training = Training.Analyse(list, new AnalysisOptions
            {
                ModelPath = list[0], Data = new DataSource { Path = images, LabelsPath = noisy, ClassNamesPath = Classes }, OutputDirectory = Path.Combine(scratch, "training"),
            });
            var last = Percept.Store.Run.Open(Training.EpochDirectory(Path.Combine(scratch, "training")));
            var withHistory = System.Text.Json.JsonDocument.Parse(InsightsStore.ReadJson(last)!);
            var score = last.ReadFloat32(InsightFields.LabelIssue);
            var (p, r) = TopK(score, flipped, flipped.Count);
            Console.WriteLine($"\nWith the training history ({training.Epochs.Count} checkpoints: {string.Join(", ", list.Select(Path.GetFileNameWithoutExtension))}): " +
                              $"label_issue precision = recall at the planted count {p:F3}");
            Console.WriteLine($"note: {withHistory.RootElement.GetProperty("notes")[0].GetString()}");
        }
        else Console.WriteLine($"\n(no {checkpoints}: train with --checkpoint-every to measure label_issue with the training history)");
        return 0;
    }

    /// <summary>Insights on all 70,000 images: time and peak memory against the map's.</summary>
    static int Cost(string scratch)
    {
        if (Paths.FullSet(null) is not { } full) { Console.WriteLine("full Fashion-MNIST not found (../shared/datasets/fashion-mnist or /usr/share/datasets/fashion-mnist)"); return 1; }
        var (train, ytrain) = ReadIdx(Path.Combine(full, "train-images-idx3-ubyte.gz"), Path.Combine(full, "train-labels-idx1-ubyte.gz"));
        var (test, ytest) = ReadIdx(Paths.TestImages, Paths.TestLabels);
        string images = Path.Combine(scratch, "all.npy"), y = Path.Combine(scratch, "all-labels.npy");
        Npy.Write(images, Floats([.. train, .. test]), 70_000, 28, 28);
        Npy.Write(y, ytrain.Concat(ytest).ToArray().AsSpan(), 70_000);
        var run = Analyse(scratch, "all", images, y);
        long before = Process.GetCurrentProcess().PeakWorkingSet64;
        var clock = Stopwatch.StartNew();
        var doc = PopulationInsights.Compute(run);
        double seconds = clock.Elapsed.TotalSeconds;
        Console.WriteLine($"70,000 images: map {run.Manifest.Map!.Seconds:F1} s, insights {seconds:F1} s ({doc.Insights.Count} cards); peak working set {before / 1e6:F0} MB after the analysis, {Process.GetCurrentProcess().PeakWorkingSet64 / 1e6:F0} MB after insights");
        return 0;
    }

    /// <summary><paramref name="k"/> distinct indices below <paramref name="n"/> (partial Fisher–Yates from the front).</summary>
    static int[] Sample(ref SplitMix64 rng, int n, int k)
    {
        var all = Enumerable.Range(0, n).ToArray();
        for (int i = 0; i < k; i++) { int j = i + (int)(rng.Next() % (ulong)(n - i)); (all[i], all[j]) = (all[j], all[i]); }
        return all[..k];
    }
}
