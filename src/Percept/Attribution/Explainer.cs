using Percept.Data;
using Percept.Model;
using Percept.Perception;
using Percept.Store;

namespace Percept.Attribution;

/// <summary>
/// Heat maps for one sample with any method, at the input's resolution: the one place that turns a method name, a
/// layer and targets into maps (used by <c>percept explain</c> and the dashboard).
/// </summary>
public static class Explainer
{
    /// <summary>Every method, gradient-based first; <c>occlusion</c> needs no gradient.</summary>
    public static readonly string[] Methods = ["gradcam", "layercam", "saliency", "gradxinput", "ig", "smoothgrad", "occlusion"];

    /// <summary>
    /// The layer Grad-CAM and LayerCAM read: <paramref name="name"/> (a layer or tensor name), or the last convolution.
    /// </summary>
    /// <exception cref="PerceptException">Unknown layer, or a layer without spatial axes (the message suggests one).</exception>
    public static LayerInfo CamLayer(OnnxModel model, string? name)
    {
        var layer = name != null ? model.FindLayer(name)
            : model.PerceptionLayers.LastOrDefault(l => l.OpType is "Conv" or "ConvTranspose")
              ?? throw new PerceptException("the model has no convolution; name a layer with spatial axes with --layer");
        if (layer.ChannelsLast || layer.OpType is "Gemm" or "MatMul")
        {
            var conv = model.PerceptionLayers.LastOrDefault(l => l.OpType is "Conv" or "ConvTranspose");
            throw new PerceptException($"layer '{layer.Name}' ({layer.OpType}) has no spatial axes; Grad-CAM needs a convolutional layer{(conv != null ? $" such as '{conv.Name}'" : "")}");
        }
        return layer;
    }

    /// <summary>
    /// A gradient method's maps at the input's resolution (<c>[targets, H, W]</c>) and its raw form: every channel for
    /// saliency-type methods (<c>[targets, …input shape]</c>), the layer's own grid for Grad-CAM and LayerCAM.
    /// </summary>
    /// <param name="steps">Integrated gradients: the gradients spent on the path integral.</param>
    /// <param name="log">Receives one line per fact worth telling (the Grad-CAM layer, integrated gradients' completeness gap).</param>
    /// <param name="tolerance">Integrated gradients: while the completeness gap is above this fraction of the output difference, more
    /// gradients are spent, up to <paramref name="maxSteps"/> (0: four times <paramref name="steps"/>); 0 spends exactly <paramref name="steps"/>.</param>
    public static (AttributionResult Result, float[] Raw, long[] RawShape) Gradient(OnnxModel model, ModelInput input, string outputName, int[] inputShape,
        float[] x, float[] scores, bool isProbability, IReadOnlyList<AttributionTarget> targets, string method, string? layerName = null, int steps = 64,
        Action<string>? log = null, IReadOnlyList<string>? names = null, double tolerance = 0.01, int maxSteps = 0)
    {
        using var graphs = new GradientGraphs(model, input, outputName, inputShape);
        return Gradient(graphs, x, scores, isProbability, targets, method, layerName, steps, log, names, tolerance, maxSteps);
    }

    /// <summary>As above, with gradient graphs kept by the caller between samples (building one costs far more than running it).</summary>
    public static (AttributionResult Result, float[] Raw, long[] RawShape) Gradient(GradientGraphs graphs, float[] x, float[] scores, bool isProbability,
        IReadOnlyList<AttributionTarget> targets, string method, string? layerName = null, int steps = 64, Action<string>? log = null, IReadOnlyList<string>? names = null,
        double tolerance = 0.01, int maxSteps = 0)
    {
        var (model, inputShape) = (graphs.Model, graphs.InputShape);
        var (channels, h, w, channelsFirst) = inputShape.Length == 1 ? (1, 1, inputShape[0], true) : Preprocessor.ImageAxes(inputShape, InputLayout.Auto);
        int plane = h * w;
        int Index(int c, int p) => channelsFirst ? c * plane + p : p * channels + c;
        var scoreOf = targets.Select(t => t.Kind == "loss" ? ClassScores.Compute(scores, isProbability, t.Class, new float[scores.Length]).Loss : scores[t.Class]).ToArray();
        if (method is "gradcam" or "layercam")
        {
            var layer = CamLayer(model, layerName);
            var (maps, lh, lw) = GradientMethods.Cam(graphs.Layer(layer.ActivationTensor ?? layer.Output), x, targets, scores, isProbability, method == "layercam");
            log?.Invoke($"{method} at layer {layer.Name} ({lh}x{lw})");
            return (new AttributionResult(GradientMethods.Resize(maps, targets.Count, lh, lw, h, w), h, w, targets, scoreOf), maps, [targets.Count, lh, lw]);
        }
        if (method is not ("saliency" or "gradxinput" or "ig" or "smoothgrad"))
            throw new PerceptException($"unknown method '{method}' ({string.Join(", ", Methods)})");
        // Integrated gradients batch points along the path; the others batch the targets of the one sample.
        var g = method == "ig" ? graphs.Input : graphs.Targets;
        float[] perChannel;
        string?[]? notes = null;
        switch (method)
        {
            case "ig":
            {
                int cap = maxSteps > 0 ? maxSteps : 4 * steps;
                var (attr, gap, diff, used) = GradientMethods.IntegratedGradients(g, x, targets, isProbability, steps, tolerance: tolerance, maxSteps: cap);
                perChannel = attr;
                notes = new string?[targets.Count];
                for (int k = 0; k < targets.Count; k++)
                {
                    double ratio = Math.Abs(gap[k]) / Math.Max(Math.Abs(diff[k]), 1e-12);
                    string spent = used[k] > steps ? $"{steps} gradients (+{used[k] - steps} to reach the {100 * tolerance:0.###}% tolerance)" : $"{used[k]} gradients";
                    log?.Invoke($"integrated gradients, {spent}, {targets[k].Name(names)}: sum {diff[k] + gap[k]:G5}, output difference {diff[k]:G5}, completeness gap {gap[k]:G3} ({100 * ratio:F2}%)");
                    notes[k] = $"integrated gradients, {spent}: Σ attributions {diff[k] + gap[k]:G4}, output difference {diff[k]:G4}, completeness gap {100 * ratio:F2}%";
                    if (tolerance > 0 && ratio > tolerance)
                    {
                        double total = 0;
                        for (int i = 0; i < x.Length; i++) total += Math.Abs(attr[k * x.Length + i]);
                        // Where the output barely differs between the baseline and the sample, a small gap is a large fraction of it.
                        string scale = Math.Abs(diff[k]) < 0.1 * total
                            ? $"; the output differs little between the black baseline and this sample, and the gap is {100 * Math.Abs(gap[k]) / total:F2}% of Σ|attributions| ({total:G3})"
                            : "";
                        string warning = $"the gap is still above the {100 * tolerance:0.###}% tolerance after {used[k]} gradients";
                        log?.Invoke($"  {warning}; raise --max-steps for a closer integral{scale}");
                        notes[k] += $" ({warning}{scale})";
                    }
                }
                break;
            }
            case "smoothgrad": perChannel = GradientMethods.SmoothGrad(g, x, targets, scores, isProbability); break;
            default: perChannel = GradientMethods.InputGradients(g, x, targets, scores, isProbability); break;
        }
        if (method == "gradxinput")
            for (int k = 0; k < targets.Count; k++) for (int i = 0; i < x.Length; i++) perChannel[k * x.Length + i] *= x[i];
        var result = new float[targets.Count * plane];
        for (int k = 0; k < targets.Count; k++)
            for (int p = 0; p < plane; p++)
            {
                float v = 0;
                for (int c = 0; c < channels; c++)
                {
                    float gv = perChannel[k * x.Length + Index(c, p)];
                    if (method is "saliency" or "smoothgrad") v = Math.Max(v, Math.Abs(gv)); else v += gv;
                }
                result[k * plane + p] = v;
            }
        return (new AttributionResult(result, h, w, targets, scoreOf, notes), perChannel, [targets.Count, .. inputShape.Select(d => (long)d)]);
    }

    /// <summary>The preprocessed input averaged over channels, H × W, as a picture's background.</summary>
    public static float[] Gray(float[] x, int[] shape, int h, int w)
    {
        var g = new float[h * w];
        int channels = x.Length / (h * w);
        bool first = Preprocessor.ImageAxes(shape, InputLayout.Auto).ChannelsFirst;
        for (int p = 0; p < h * w; p++)
        {
            float s = 0;
            for (int c = 0; c < channels; c++) s += first ? x[c * h * w + p] : x[p * channels + c];
            g[p] = s / channels;
        }
        return g;
    }
}

/// <summary>One sample's heat maps for every class and, when it is labelled, the loss.</summary>
/// <param name="Background">The input averaged over channels, H × W.</param>
/// <param name="Layer">The layer Grad-CAM/LayerCAM read; null for the other methods.</param>
public sealed record SampleExplanation(AttributionResult Result, float[] Background, string? Layer, float[] Scores, int Label);

/// <summary>
/// Explains samples of a finished run with the run's own model, data and preprocessing, keeping them open between
/// requests (the dashboard's Analyze button). Thread-safe: requests are served one at a time.
/// </summary>
public sealed class RunExplainer : IDisposable
{
    readonly Run _run;
    readonly OnnxModel _model;
    readonly ModelInput _input;
    readonly string _output;
    readonly IDataset _dataset;
    readonly Preprocessor _pre;
    readonly ModelRunner _runner;
    readonly GradientGraphs _graphs;
    readonly bool _isProbability;
    readonly object _gate = new();

    public RunExplainer(Run run)
    {
        _run = run;
        if (run.Manifest.NumClasses < 2) throw new PerceptException("this run's model does not output class scores; there is no class to explain");
        if (!File.Exists(run.Manifest.Model.Path)) throw new PerceptException($"the run's model is no longer at {run.Manifest.Model.Path}");
        _model = OnnxModel.Load(run.Manifest.Model.Path);
        _input = _model.SelectInput(run.Manifest.Model.Input);
        _output = _model.SelectOutput(run.Manifest.Model.Output);
        (_dataset, _pre) = run.OpenData();
        try
        {
            _runner = new ModelRunner(_model, _input, _pre.InputShape, [new Fetch(_output)]);
            _graphs = new GradientGraphs(_model, _input, _output, _pre.InputShape);
            _isProbability = run.Manifest.Model.OutputKind == "probabilities";
        }
        catch { _dataset.Dispose(); throw; }
    }

    /// <summary>Layers Grad-CAM and LayerCAM can read (convolutions), the default last.</summary>
    public IReadOnlyList<string> CamLayers => _model.PerceptionLayers.Where(l => l.OpType is "Conv" or "ConvTranspose" && !l.ChannelsLast).Select(l => l.Name).ToArray();

    /// <summary>Maps of <paramref name="sample"/> for every class, then the loss when it has a label.</summary>
    /// <exception cref="PerceptException">Sample out of range, unknown method or layer, an operator without a gradient rule.</exception>
    public SampleExplanation Explain(int sample, string method, string? layer = null, CancellationToken cancellationToken = default)
    {
        if (sample < 0 || sample >= _run.Count) throw new PerceptException($"sample {sample} is out of range: the run has {_run.Count} samples (0 to {_run.Count - 1})");
        if (!Explainer.Methods.Contains(method)) throw new PerceptException($"unknown method '{method}' ({string.Join(", ", Explainer.Methods)})");
        lock (_gate)
        {
            var (raw, label, _) = _dataset.ReadSample(sample, cancellationToken);
            var x = _pre.Apply(raw);
            var buffer = new float[(_runner.FixedBatch ?? 1) * x.Length];
            x.CopyTo(buffer, 0);
            float[] scores;
            using (var r = _runner.Run(buffer, 1)) scores = r[0].GetTensorDataAsSpan<float>()[.._run.Manifest.NumClasses].ToArray();
            var targets = Enumerable.Range(0, scores.Length).Select(c => new AttributionTarget("class", c)).ToList();
            if (label >= 0) targets.Add(new AttributionTarget("loss", label));
            AttributionResult result;
            string? camLayer = null;
            if (method == "occlusion")
                result = Occlusion.Explain(_runner, x, _pre.InputShape, targets, _isProbability, cancellationToken: cancellationToken);
            else
            {
                if (method is "gradcam" or "layercam") camLayer = Explainer.CamLayer(_model, layer).Name;
                result = Explainer.Gradient(_graphs, x, scores, _isProbability, targets, method, camLayer).Result;
            }
            return new SampleExplanation(result, Explainer.Gray(x, _pre.InputShape, result.Height, result.Width), camLayer, scores, label);
        }
    }

    public void Dispose() { _graphs.Dispose(); _runner.Dispose(); _dataset.Dispose(); }
}

/// <summary>
/// The gradient graphs of one model and input shape, each built on first use and kept: one for input gradients, one per
/// Grad-CAM layer (which stops at its layer). Not thread-safe; <see cref="RunExplainer"/> serves one request at a time.
/// </summary>
public sealed class GradientGraphs(OnnxModel model, ModelInput input, string output, int[] inputShape) : IDisposable
{
    readonly Dictionary<string, GradientGraph> _layers = [];
    GradientGraph? _input, _targets;

    public OnnxModel Model => model;
    public int[] InputShape => inputShape;

    /// <summary>The graph that returns the gradient with respect to the input, for batches of different inputs (integrated gradients).</summary>
    public GradientGraph Input => _input ??= GradientGraph.Build(model, input, inputShape, output, []);

    /// <summary>The graph that returns the input gradients of several targets of one sample from its one forward pass (saliency and kin).</summary>
    public GradientGraph Targets => _targets ??= GradientGraph.Build(model, input, inputShape, output, [], sharedForward: true);

    /// <summary>The graph that returns the value and gradient of <paramref name="tensor"/> and stops there, for the targets of one sample.</summary>
    public GradientGraph Layer(string tensor)
    {
        if (!_layers.TryGetValue(tensor, out var graph))
            _layers[tensor] = graph = GradientGraph.Build(model, input, inputShape, output, [tensor], inputGradient: false, sharedForward: true);
        return graph;
    }

    public void Dispose()
    {
        _input?.Dispose();
        _targets?.Dispose();
        foreach (var g in _layers.Values) g.Dispose();
    }
}
