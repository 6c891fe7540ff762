using System.Globalization;
using Percept.Attribution;
using Percept.Data;
using Percept.IO;
using Percept.Model;
using Percept.Perception;
using Percept.Report;

namespace Percept.Cli.Commands;

/// <summary><c>percept explain</c>: heat maps of what drives a model's output for one sample.</summary>
public static class ExplainCommand
{
    public const string Usage = """
        percept explain --model MODEL.onnx --data DATA [--labels LABELS] --sample N --method METHOD
                        --target pred|label|loss|all|<class> --out MAPS.npy [--png MAPS.png] [options]
        percept explain --run RUN --sample N ...        (the run's model, data and preprocessing)
        percept explain --run RUN --sample A --similar-to B --out PAIR.npy [--png PAIR.png]
                        what makes A and B alike to the model: gradient × input of the cosine similarity of their
                        perception vectors, for each of the two ([2, height, width])

        Heat maps over the input of one sample: for each target, how much each region supports it. Written as a
        float32 [targets, height, width] .npy (targets in the order asked; 'all' = every class, then the loss when
        the sample has a label; with --raw, [targets, channels, height, width] in the input's channel order) and,
        with --png, as the input overlaid with each map (warm = supports the target, blue = works against it).
          --method gradcam      Grad-CAM at --layer (default: the last convolution), upsampled to the input
                   layercam     LayerCAM at --layer
                   saliency     |∂target/∂input|, the largest over channels (--raw: signed, every channel)
                   gradxinput   ∂target/∂input × input, summed over channels
                   ig           integrated gradients from a black baseline: --steps N gradients (default 64), then more,
                                up to --max-steps (default 4 × N), while the completeness gap is above --tolerance
                                of the output difference (default 0.01; 0 spends exactly N); prints the gap
                   smoothgrad   mean |gradient| over 25 noisy copies (σ = 15% of the input's range)
                   occlusion    slide a patch set to 0 over the input (gradient-free: any model); --patch, --stride
          --layer NAME          layer for Grad-CAM/LayerCAM (a name from 'percept layers', or a tensor name)
          --resolution input|layer   Grad-CAM at the input's size (default) or the layer's own grid
          --faithfulness        print deletion/insertion areas against a random order, and the rank correlation
                                with the maps of a copy of the model whose last layer has random weights
          --classes FILE        class names for the picture
          --scale, --mean, --std, --layout, --color, --size, --input, --output   as for 'analyze'
        Gradients are computed by ONNX Runtime on a backward graph Percept adds to the model; an operator without a
        gradient rule is named in the error, and occlusion still works then.
        """;

    public static int Run(string[] argv, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        var a = new Arguments(argv, ["similar-to", "run", "model", "data", "labels", "classes", "sample", "method", "target", "out", "png", "patch", "stride",
            "scale", "mean", "std", "layout", "color", "size", "input", "output", "layer", "resolution", "steps", "tolerance", "max-steps"], ["raw", "faithfulness"]);
        if (a.Positional.Count > 0) throw new UsageException($"unexpected argument '{a.Positional[0]}'");
        string method = a.Get("method") ?? "gradcam";
        if (method is not ("occlusion" or "saliency" or "gradcam" or "layercam" or "gradxinput" or "ig" or "smoothgrad"))
            throw new UsageException($"unknown --method '{method}' (gradcam, layercam, saliency, gradxinput, ig, smoothgrad, occlusion)");
        string resolution = a.Get("resolution") ?? "input";
        if (resolution is not ("input" or "layer")) throw new UsageException("--resolution takes input or layer");
        string output = a.Require("out");
        if (!output.EndsWith(".npy", StringComparison.OrdinalIgnoreCase)) throw new UsageException("--out must be a .npy file");
        int sample = a.GetInt("sample") ?? throw new UsageException("--sample is required");
        if (a.GetInt("similar-to") is int other)
        {
            var pairRun = Store.Run.Open(a.Get("run") ?? throw new UsageException("--similar-to needs --run (the perception vectors are the run's)"));
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
        OnnxModel model;
        ModelInput input;
        string outputName;
        IDataset dataset;
        Preprocessor pre;
        if (a.Get("run") is { } runPath)
        {
            if (a.Has("model") || a.Has("data")) throw new UsageException("--run takes the model and data of the run; drop --model and --data");
            var run = Store.Run.Open(runPath);
            model = OnnxModel.Load(run.Manifest.Model.Path);
            input = model.SelectInput(run.Manifest.Model.Input);
            outputName = model.SelectOutput(run.Manifest.Model.Output);
            (dataset, pre) = run.OpenData();
        }
        else
        {
            var preprocess = new PreprocessOptions
            {
                Scale = a.GetFloat("scale"), Mean = a.GetFloats("mean"), Std = a.GetFloats("std"),
                Layout = a.GetEnum("layout", InputLayout.Auto), Color = a.GetEnum("color", ColorMode.Auto),
            };
            model = OnnxModel.Load(a.Require("model"));
            input = model.SelectInput(a.Get("input"));
            outputName = model.SelectOutput(a.Get("output"));
            int[] modelSample = input.Shape.Skip(1).Select(d => d > 0 ? (int)d : -1).ToArray();
            dataset = new DataSource
            {
                Path = a.Require("data"), LabelsPath = a.Get("labels"), ClassNamesPath = a.Get("classes"), ImageSize = a.GetInt("size"),
            }.Open(modelSample, preprocess);
            pre = new Preprocessor(dataset.Format, modelSample, preprocess);
        }
        using var _ = dataset;
        var (raw, label, id) = dataset.ReadSample(sample, ct);
        var x = pre.Apply(raw);

        using var runner = new ModelRunner(model, input, pre.InputShape, [new Fetch(outputName)]);
        bool isProbability = model.IsProbabilityOutput(outputName);
        var buffer = new float[(runner.FixedBatch ?? 1) * x.Length];
        x.CopyTo(buffer, 0);
        float[] scores;
        using (var r = runner.Run(buffer, 1))
        {
            var shape = r[0].GetTensorTypeAndShape().Shape;
            long classes = shape.Skip(1).Aggregate(1L, (p, q) => p * q);
            if (shape.Skip(1).Count(d => d != 1) != 1 || classes < 2)
                throw new PerceptException($"output '{outputName}' of shape [{string.Join(", ", shape)}] is not a class-score vector; there is no class to explain");
            scores = r[0].GetTensorDataAsSpan<float>()[..(int)classes].ToArray();
        }
        var probs = new float[scores.Length];
        var s = ClassScores.Compute(scores, isProbability, label, probs);
        var targets = ParseTargets(a.Get("target") ?? "pred", s.Prediction, label, scores.Length);
        var (result, rawMaps, rawShape) = method == "occlusion"
            ? (Occlusion.Explain(runner, x, pre.InputShape, targets, isProbability, a.GetInt("patch") ?? 4, a.GetInt("stride") ?? 2, cancellationToken: ct), null, null)
            : GradientExplain(model, input, outputName, pre.InputShape, x, scores, isProbability, targets, method, a, stdout, dataset.ClassNames);
        bool writeRaw = method is "gradcam" or "layercam" ? resolution == "layer" : a.Has("raw") && method != "occlusion";
        if (writeRaw) Npy.Write(output, rawMaps!, rawShape!);
        else Npy.Write(output, result.Maps, targets.Count, result.Height, result.Width);
        var names = dataset.ClassNames;
        if (a.Has("faithfulness"))
        {
            for (int k = 0; k < targets.Count; k++)
            {
                if (targets[k].Kind != "class") continue;
                var f = Faithfulness.Curves(runner, x, pre.InputShape, result.Maps[(k * result.Height * result.Width)..((k + 1) * result.Height * result.Width)],
                    result.Height, result.Width, targets[k].Class, isProbability);
                stdout.WriteLine($"faithfulness, {targets[k].Name(names)}: deletion area {f.Deletion:F3} (random order {f.RandomDeletion:F3}, lower is better), insertion area {f.Insertion:F3} (random order {f.RandomInsertion:F3}, higher is better)");
            }
            string scratch = Path.Combine(Path.GetTempPath(), $"percept-randomised-{Environment.ProcessId}.onnx");
            try
            {
                string layer = Faithfulness.RandomiseLastLayer(model, scratch);
                var randomModel = OnnxModel.Load(scratch);
                using var randomRunner = new ModelRunner(randomModel, randomModel.SelectInput(input.Name), pre.InputShape, [new Fetch(outputName)]);
                var randomResult = method == "occlusion"
                    ? Occlusion.Explain(randomRunner, x, pre.InputShape, targets, isProbability, a.GetInt("patch") ?? 4, a.GetInt("stride") ?? 2, cancellationToken: ct)
                    : GradientExplain(randomModel, randomModel.SelectInput(input.Name), outputName, pre.InputShape, x, scores, isProbability, targets, method, a, TextWriter.Null, names).Result;
                int plane = result.Height * result.Width;
                for (int k = 0; k < targets.Count; k++)
                    stdout.WriteLine($"sanity, {targets[k].Name(names)}: rank correlation with the map of a model whose layer '{layer}' has random weights: {Faithfulness.RankCorrelation(result.Maps.AsSpan(k * plane, plane), randomResult.Maps.AsSpan(k * plane, plane)):F3} (far below 1: the map depends on what the model learnt)");
            }
            finally { File.Delete(scratch); }
        }
        string Name(int c) => names != null && c >= 0 && c < names.Count ? names[c] : c.ToString(CultureInfo.InvariantCulture);
        stdout.WriteLine($"sample {sample} (id {id}): {(label >= 0 ? $"label {Name(label)}, " : "")}predicted {Name(s.Prediction)} ({s.Confidence:P1}){(label >= 0 ? $", loss {s.Loss:F3}" : "")}");
        stdout.WriteLine($"{method} for {string.Join(", ", targets.Select(t => t.Name(names)))} → {output}");
        if (a.Get("png") is { } png)
        {
            var background = Explainer.Gray(x, pre.InputShape, result.Height, result.Width);
            HeatmapImage.Render(result, background, names, png);
            stdout.WriteLine($"picture: {png}");
        }
        return CommandLine.Ok;
    }

    static (AttributionResult Result, float[] Raw, long[] RawShape) GradientExplain(OnnxModel model, ModelInput input, string outputName, int[] inputShape,
        float[] x, float[] scores, bool isProbability, List<AttributionTarget> targets, string method, Arguments a, TextWriter stdout, IReadOnlyList<string>? names)
    {
        int steps = a.GetInt("steps") ?? 64;
        if (steps < 1) throw new UsageException("--steps must be at least 1");
        double tolerance = a.GetFloat("tolerance") ?? 0.01f;
        if (!(tolerance >= 0)) throw new UsageException("--tolerance must be 0 or more (a fraction of the output difference: 0.01 is 1%)");
        int maxSteps = a.GetInt("max-steps") ?? 4 * steps;
        if (maxSteps < steps) throw new UsageException($"--max-steps must be at least --steps ({steps})");
        return Explainer.Gradient(model, input, outputName, inputShape, x, scores, isProbability, targets, method, a.Get("layer"), steps, stdout.WriteLine, names,
            Math.Round(tolerance, 6), maxSteps);
    }

    static List<AttributionTarget> ParseTargets(string text, int prediction, int label, int classes)
    {
        var targets = new List<AttributionTarget>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
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
                    if (!int.TryParse(part, NumberStyles.Integer, CultureInfo.InvariantCulture, out int k))
                        throw new UsageException($"--target takes pred, label, loss, all or a class index, not '{part}'");
                    if (k < 0 || k >= classes) throw new PerceptException($"target class {k} is out of range: the model has {classes} classes (0 to {classes - 1})");
                    targets.Add(new("class", k)); break;
            }
        }
        if (targets.Count == 0) throw new UsageException("--target is empty");
        return targets;
    }
}
