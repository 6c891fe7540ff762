using System.Globalization;
using Percept.Attribution;
using Percept.Data;
using Percept.IO;
using Percept.Report;

namespace Percept.Cli.Commands;

/// <summary><c>percept explain</c>: heat maps of what drives a model's output for one sample.</summary>
public static class ExplainCommand
{
    public static readonly CommandSpec Spec = new()
    {
        Name = "explain",
        Summary = "heat maps of what drives the model's output for one sample (Grad-CAM, saliency, integrated gradients, occlusion, …)",
        Synopsis =
        [
            "percept explain --model MODEL.onnx --data DATA [--labels LABELS] --sample N --method METHOD",
            "                --target pred|label|loss|all|<class> --out MAPS.npy [--png MAPS.png] [options]",
            "percept explain --run RUN --sample N ...        (the run's model, data and preprocessing)",
            "percept explain --run RUN --data NEW/PATH ...   (a run whose data moved: found by their fingerprint)",
            "percept explain --run RUN --sample A --similar-to B --out PAIR.npy [--png PAIR.png]",
        ],
        Description = """
            Heat maps over the input of one sample: for each target, how much each region supports it. Written as a
            float32 [targets, height, width] .npy (targets in the order asked; 'all' = every class, then the loss when
            the sample has a label; with --raw, [targets, channels, height, width] in the input's channel order) and,
            with --png, as the input overlaid with each map (warm = supports the target, blue = works against it).
            For a text model (token-id input) the maps are taken at the output of its embedding lookup: [targets, tokens],
            one score per token (saliency: the largest |gradient| over the embedding's dimensions; gradxinput and ig: the
            sum over them); with --raw, the gradient (or attribution) itself, [targets, tokens, dimensions].
            With --similar-to: what makes A and B alike to the model, gradient × input of the cosine similarity of their
            perception vectors, for each of the two ([2, height, width]).
            A run of a model without class scores (an embedding model) has no class score to explain: with --run, each
            target class's map shows what makes the sample like that class's mean direction in perception space (the mean
            of its labelled samples' unit-length perception vectors), by --method gradcam (the default for images) or
            gradxinput; --target pred is the class whose mean lies nearest.
            """,
        Options =
        [
            new("model", "MODEL.onnx", "the model (with --run: where the run's model is now, when it moved)", "Sample"),
            new("data", "DATA", "the dataset, as for 'analyze' (with --run: where the run's data are now, when they moved)", "Sample"),
            new("labels", "LABELS", "its labels", "Sample"),
            new("label-column", "NAME", "its label column (CSV, manifest, Parquet, Arrow), as for 'analyze'", "Sample"),
            new("image-column", "NAME", "its column of samples (manifest, Parquet, Arrow), as for 'analyze'", "Sample"),
            new("classes", "FILE", "class names, for the picture and the output", "Sample"),
            new("vocab", "FILE", "text models: one token per line (line number = id), to print the tokens that matter most", "Sample"),
            new("text-column", "NAME", "text models: the column of texts of a CSV, TSV, JSONL, Parquet or Arrow table, as for 'analyze'", "Sample"),
            new("tokenizer", "FILE", "text models: the model's tokenizer.json or BERT vocab.txt, as for 'analyze' (its tokens are printed)", "Sample"),
            new("max-length", "N", "text models: token ids per text when the model's length is free (default 128), as for 'analyze'", "Sample"),
            new("run", "RUN", "take the model, data and preprocessing of a run instead", "Sample"),
            new("sample", "N", "the sample's index", "Sample"),
            new("method", "METHOD", "how to make the maps (default gradcam):\n" + string.Join("\n", AttributionMethods.All.Select(m => $"  {m.Name,-11} {m.Description}")), "Heat maps"),
            new("target", "TARGETS", "pred, label, loss, all or class indices, comma-separated (default pred)", "Heat maps"),
            new("layer", "NAME", "layer for Grad-CAM/LayerCAM (a name from 'percept layers', or a tensor name; default: the last convolution)", "Heat maps"),
            new("resolution", "input|layer", "Grad-CAM at the input's size (default) or the layer's own grid", "Heat maps"),
            new("steps", "N", $"integrated gradients: gradients on the path (default {AttributionMethods.DefaultSteps})", "Heat maps"),
            new("tolerance", "X", $"integrated gradients: spend more gradients while the completeness gap is above this fraction of the output difference (default {AttributionMethods.DefaultTolerance}; 0 spends exactly --steps)", "Heat maps"),
            new("max-steps", "N", "integrated gradients: the most gradients spent (default 4 × --steps)", "Heat maps"),
            new("patch", "N", $"occlusion: patch side in pixels (default {AttributionMethods.DefaultPatch})", "Heat maps"),
            new("stride", "N", $"occlusion: step between patches (default {AttributionMethods.DefaultStride})", "Heat maps"),
            new("similar-to", "B", "explain what makes --sample and B alike (needs --run)", "Heat maps"),
            new("faithfulness", null, "print deletion/insertion areas against a random order, and the rank correlation with the maps of a copy of the model whose last layer has random weights", "Heat maps"),
            new("out", "MAPS.npy", "where to write the maps", "Output"),
            new("png", "MAPS.png", "also draw them over the input", "Output"),
            new("raw", null, "write every channel (saliency-type methods), signed", "Output"),
            new("scale", "X", "as for 'analyze'", "Preprocessing"),
            new("mean", "A[,B,C]", "as for 'analyze'", "Preprocessing"),
            new("std", "A[,B,C]", "as for 'analyze'", "Preprocessing"),
            new("layout", "auto|nchw|nhwc", "as for 'analyze'", "Preprocessing"),
            new("color", "auto|gray|rgb|bgr", "as for 'analyze'", "Preprocessing"),
            new("size", "N", "as for 'analyze'", "Preprocessing"),
            new("input", "NAME", "as for 'analyze'", "Preprocessing"),
            new("output", "NAME", "as for 'analyze'", "Preprocessing"),
        ],
        Epilogue = """
            Gradients are computed by ONNX Runtime on a backward graph Percept adds to the model; an operator without a
            gradient rule is named in the error, and occlusion still works then.
            """,
        Run = Run,
    };

    public static int Run(Arguments a, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        if (a.Positional.Count > 0) throw new UsageException($"unexpected argument '{a.Positional[0]}'");
        var method = AttributionMethods.Find(a.Get("method") ?? AttributionMethods.GradCam.Name)
            ?? throw new UsageException($"unknown --method '{a.Get("method")}' ({string.Join(", ", AttributionMethods.Names)})");
        string resolution = a.Get("resolution") ?? "input";
        if (resolution is not ("input" or "layer")) throw new UsageException("--resolution takes input or layer");
        string output = a.Require("out");
        if (!output.EndsWith(".npy", StringComparison.OrdinalIgnoreCase)) throw new UsageException("--out must be a .npy file");
        int sample = a.GetInt("sample") ?? throw new UsageException("--sample is required");
        if (a.GetInt("similar-to") is int other) return SimilarPair(a, sample, other, output, stdout);
        var options = Options(a);
        string target = a.Get("target") ?? "pred";
        var targetParts = TargetParts(target);
        if (a.Get("run") is { } meansRun && RunFolders.Open(meansRun, new Store.RunLocations(a.Get("model"), a.Get("data"))) is { Manifest.NumClasses: < 2 } embeddingRun)
            return ClassMeans(a, embeddingRun, sample, a.Get("method") == null ? null : method, targetParts, output, stdout);

        using var explainer = a.Get("run") is { } runPath
            ? new RunExplainer(RunFolders.Open(runPath, new Store.RunLocations(a.Get("model"), a.Get("data"))))
            : new RunExplainer(a.Require("model"), new DataSource
            {
                Path = a.Require("data"), LabelsPath = a.Get("labels"), ClassNamesPath = a.Get("classes"), ImageSize = a.GetInt("size"),
                LabelColumn = a.Get("label-column"), ImageColumn = a.Get("image-column"),
                TextColumn = a.Get("text-column"), TokenizerPath = a.Get("tokenizer"), MaxLength = a.GetInt("max-length"),
            }, new PreprocessOptions
            {
                Scale = a.GetFloat("scale"), Mean = a.GetFloats("mean"), Std = a.GetFloats("std"),
                Layout = a.GetEnum("layout", InputLayout.Auto), Color = a.GetEnum("color", ColorMode.Auto),
            }, a.Get("input"), a.Get("output"));
        var names = explainer.ClassNames;
        var ex = explainer.Explain(sample, method, p => Targets(targetParts, p.Summary.Prediction, p.Label, p.Scores.Length), a.Get("layer"), options,
            stdout.WriteLine, ct);
        var (result, targets, p) = (ex.Result, ex.Result.Targets, ex.Prediction);
        bool writeRaw = method.NeedsLayer ? resolution == "layer" : a.Has("raw") && ex.Raw != null;
        bool text = explainer.Embedding != null;
        if (text && a.Has("png")) throw new UsageException("--png draws heat maps over images; a text model's scores are one per token (printed with --vocab)");
        if (writeRaw) Npy.Write(output, ex.Raw!, ex.RawShape!);
        else if (text) Npy.Write(output, result.Maps, targets.Count, result.Width);
        else Npy.Write(output, result.Maps, targets.Count, result.Height, result.Width);
        if (a.Has("faithfulness"))
        {
            var check = explainer.CheckFaithfulness(ex, options, ct);
            for (int k = 0; k < targets.Count; k++)
                if (check.Curves[k] is { } f)
                    stdout.WriteLine($"faithfulness, {targets[k].Name(names)}: deletion area {f.Deletion:F3} (random order {f.RandomDeletion:F3}, lower is better), insertion area {f.Insertion:F3} (random order {f.RandomInsertion:F3}, higher is better)");
            for (int k = 0; k < targets.Count; k++)
                stdout.WriteLine($"sanity, {targets[k].Name(names)}: rank correlation with the map of a model whose layer '{check.RandomisedLayer}' has random weights: {check.RankCorrelations[k]:F3} (far below 1: the map depends on what the model learnt)");
        }
        string Name(int c) => names != null && c >= 0 && c < names.Count ? names[c] : c.ToString(CultureInfo.InvariantCulture);
        var s = p.Summary;
        stdout.WriteLine($"sample {sample} (id {p.Id}): {(p.Label >= 0 ? $"label {Name(p.Label)}, " : "")}predicted {Name(s.Prediction)} ({s.Confidence:P1}){(p.Label >= 0 ? $", loss {s.Loss:F3}" : "")}");
        stdout.WriteLine($"{method.Name} for {string.Join(", ", targets.Select(t => t.Name(names)))} → {output}");
        if (text) PrintTokens(stdout, result, p.Input, Vocabulary(a), PadId(a), names);
        if (a.Get("png") is { } png)
        {
            HeatmapImage.Render(result, ex.Background, names, png);
            stdout.WriteLine($"picture: {png}");
        }
        return CommandLine.Ok;
    }

    /// <summary>The vocabulary of --vocab or --tokenizer, or of --run's run.</summary>
    static string[]? Vocabulary(Arguments a)
    {
        if (a.Get("vocab") is { } path)
            return File.Exists(path) ? File.ReadAllLines(path) : throw new PerceptException($"file not found: {path}");
        if (a.Get("tokenizer") is { } tokenizer && a.Get("run") == null)
            return TextTokenizer.Load(tokenizer).Vocabulary.Select(t => t ?? "").ToArray();
        if (a.Get("run") is { } run && RunFolders.Open(run).ReadDocument(Perception.PerceptionFields.Vocabulary) is { } words)
            return words.Split('\n');
        return null;
    }

    /// <summary>The sample's text, then per target the tokens that support it most (padding left out).</summary>
    /// <summary>The id that pads the texts: --run's run's, else the tokenizer's, else 0.</summary>
    static int PadId(Arguments a) =>
        a.Get("run") is { } run ? RunFolders.Open(run).Manifest.Text?.PadId ?? 0 : a.Get("tokenizer") is { } tokenizer ? TextTokenizer.Load(tokenizer).PadId : 0;

    static void PrintTokens(TextWriter stdout, AttributionResult result, float[] ids, string[]? vocabulary, int padId, IReadOnlyList<string>? names)
    {
        string Word(int t) => (int)ids[t] is int id && vocabulary != null && id >= 0 && id < vocabulary.Length ? vocabulary[id] : $"#{(int)ids[t]}";
        var real = Enumerable.Range(0, ids.Length).Where(t => ids[t] != padId).ToArray();
        stdout.WriteLine($"tokens: {string.Join(' ', real.Select(Word))}");
        for (int k = 0; k < result.Targets.Count; k++)
        {
            var top = real.OrderByDescending(t => result.Maps[k * ids.Length + t]).Take(5)
                .Select(t => string.Create(CultureInfo.InvariantCulture, $"{Word(t)} ({result.Maps[k * ids.Length + t]:+0.###;-0.###;0})"));
            stdout.WriteLine($"  {result.Targets[k].Name(names)}: {string.Join(", ", top)}");
        }
    }

    static int SimilarPair(Arguments a, int sample, int other, string output, TextWriter stdout)
    {
        var pairRun = RunFolders.Open(a.Get("run") ?? throw new UsageException("--similar-to needs --run (the perception vectors are the run's)"), new Store.RunLocations(a.Get("model"), a.Get("data")));
        var (pair, cosine, pairInputs) = Similarity.Explain(pairRun, sample, other);
        Npy.Write(output, pair.Maps, 2, pair.Height, pair.Width);
        stdout.WriteLine($"samples {sample} and {other}: cosine similarity of their perception vectors {cosine:F4} → {output} [2, {pair.Height}, {pair.Width}]");
        if (a.Get("png") is { } pairPng)
        {
            HeatmapImage.Render(pair, pairInputs, null, pairPng);
            stdout.WriteLine($"picture: {pairPng}");
        }
        return CommandLine.Ok;
    }

    /// <summary>
    /// A run of a model without class scores: what in the sample makes it like each target class's mean direction in
    /// perception space (pred: the class whose mean it lies nearest), Grad-CAM of the cosine or gradient × input.
    /// </summary>
    static int ClassMeans(Arguments a, Store.Run run, int sample, AttributionMethod? method, string[] parts, string output, TextWriter stdout)
    {
        if (a.Has("faithfulness") || a.Has("raw")) throw new UsageException("--faithfulness and --raw are for class scores; this run's model has none (its maps are of the similarity to each class's mean)");
        bool text = run.Manifest.Text != null;
        if (text && a.Has("png")) throw new UsageException("--png draws heat maps over images; a text model's scores are one per token (printed with --vocab)");
        if (method != null && method != AttributionMethods.GradCam && method != AttributionMethods.GradientTimesInput)
            throw new UsageException($"this run's model has no class scores: its maps are of the similarity to each class's mean, by --method {AttributionMethods.GradCam.Name} or {AttributionMethods.GradientTimesInput.Name}, not {method.Name}");
        using var explainer = new SimilarityExplainer(run);
        // Grad-CAM by default where the perception vectors depend on a convolution, as the dashboard chooses; else gradient × input.
        if (method == null)
        {
            bool cam = !text;
            if (cam) try { explainer.CamLayer(); } catch (PerceptException) { cam = false; }
            method = cam ? AttributionMethods.GradCam : AttributionMethods.GradientTimesInput;
        }
        var overlay = method == AttributionMethods.GradCam ? SimilarityOverlay.GradCam : SimilarityOverlay.Gradient;
        var (cosines, label) = explainer.ClassLikeness(sample);
        if (cosines.All(float.IsNaN))
            throw new PerceptException($"sample {sample}'s perception vector is not finite, so it has no likeness to any class");
        var names = run.Manifest.Classes;
        string Name(int c) => names != null && c >= 0 && c < names.Count ? names[c] : c.ToString(CultureInfo.InvariantCulture);
        int nearest = Enumerable.Range(0, cosines.Length).Where(c => !float.IsNaN(cosines[c])).MaxBy(c => cosines[c]);
        var classes = new List<int>();
        foreach (var part in parts)
        {
            switch (part)
            {
                case "pred": classes.Add(nearest); break;
                case "label":
                    if (label < 0) throw new PerceptException("--target label needs a labelled sample");
                    classes.Add(label); break;
                case "loss": throw new PerceptException("this run's model has no class scores, so no loss: --target takes pred, label, all or class indices");
                case "all": classes.AddRange(Enumerable.Range(0, cosines.Length).Where(c => !float.IsNaN(cosines[c]))); break;
                default: classes.Add(int.Parse(part, NumberStyles.Integer, CultureInfo.InvariantCulture)); break;
            }
        }
        string? layer = overlay == SimilarityOverlay.GradCam ? explainer.CamLayer(a.Get("layer")) : null;
        var (result, inputs) = explainer.ExplainClassMeans(sample, classes, overlay, layer);
        if (text) Npy.Write(output, result.Maps, classes.Count, result.Width);
        else Npy.Write(output, result.Maps, classes.Count, result.Height, result.Width);
        stdout.WriteLine($"sample {sample}: {(label >= 0 ? $"label {Name(label)}, " : "")}nearest class mean {Name(nearest)} "
            + $"(the model has no class scores; cosine of its perception vector with each class's mean direction: {string.Join(", ", classes.Distinct().Select(c => string.Create(CultureInfo.InvariantCulture, $"{Name(c)} {cosines[c]:F3}")))})");
        stdout.WriteLine($"{method.Name}{(layer != null ? $" at {layer}" : "")} of the likeness to {string.Join(", ", classes.Select(Name))} → {output}");
        if (a.Get("png") is { } png)
        {
            HeatmapImage.Render(result, inputs, names, png);
            stdout.WriteLine($"picture: {png}");
        }
        return CommandLine.Ok;
    }

    static ExplainOptions Options(Arguments a)
    {
        int steps = a.GetInt("steps") ?? AttributionMethods.DefaultSteps;
        if (steps < 1) throw new UsageException("--steps must be at least 1");
        double tolerance = a.GetFloat("tolerance") ?? (float)AttributionMethods.DefaultTolerance;
        if (!(tolerance >= 0)) throw new UsageException("--tolerance must be 0 or more (a fraction of the output difference: 0.01 is 1%)");
        int maxSteps = a.GetInt("max-steps") ?? 4 * steps;
        if (maxSteps < steps) throw new UsageException($"--max-steps must be at least --steps ({steps})");
        return new ExplainOptions(steps, tolerance, maxSteps, a.GetInt("patch") ?? AttributionMethods.DefaultPatch, a.GetInt("stride") ?? AttributionMethods.DefaultStride);
    }

    /// <summary>The parts of --target, checked for their form before any model is loaded.</summary>
    static string[] TargetParts(string text)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0) throw new UsageException("--target is empty");
        foreach (var part in parts)
            if (part is not ("pred" or "label" or "loss" or "all") && !int.TryParse(part, NumberStyles.Integer, CultureInfo.InvariantCulture, out _))
                throw new UsageException($"--target takes pred, label, loss, all or a class index, not '{part}'");
        return parts;
    }

    static List<AttributionTarget> Targets(string[] parts, int prediction, int label, int classes)
    {
        var targets = new List<AttributionTarget>();
        foreach (var part in parts)
        {
            switch (part)
            {
                case "pred": targets.Add(new("class", prediction)); break;
                case "label":
                    if (label < 0) throw new PerceptException("--target label needs a labelled sample (give --labels)");
                    targets.Add(new("class", label)); break;
                case "loss":
                    if (label < 0) throw new PerceptException("--target loss needs a labelled sample (give --labels)");
                    targets.Add(new("loss", label)); break;
                case "all":
                    for (int c = 0; c < classes; c++) targets.Add(new("class", c));
                    if (label >= 0) targets.Add(new("loss", label));
                    break;
                default:
                    int k = int.Parse(part, NumberStyles.Integer, CultureInfo.InvariantCulture);
                    if (k < 0 || k >= classes) throw new PerceptException($"target class {k} is out of range: the model has {classes} classes (0 to {classes - 1})");
                    targets.Add(new("class", k)); break;
            }
        }
        return targets;
    }
}
