using Percept.Data;
using Percept.Model;
using Percept.Perception;
using Percept.Store;

namespace Percept.Attribution;

/// <summary>One sample as the model sees it: its preprocessed input, the model's class scores and what they say.</summary>
/// <param name="Input">The preprocessed input, in the model's layout.</param>
/// <param name="Scores">The model's output for the sample (logits or probabilities).</param>
/// <param name="Label">The sample's label, or −1.</param>
/// <param name="Embedding">For a model that takes token ids: the output of its embedding lookup for the sample, <c>[tokens, dimension]</c>.</param>
public sealed record SamplePrediction(int Sample, string Id, float[] Input, float[] Scores, int Label, SampleScores Summary, float[]? Embedding = null);

/// <summary>One sample's heat maps, one per target.</summary>
/// <param name="Background">The input averaged over channels, H × W.</param>
/// <param name="Layer">The layer Grad-CAM/LayerCAM read; null for the other methods.</param>
/// <param name="Raw">The method's own output before it becomes an H × W map (every channel for saliency-type methods, the layer's grid
/// for Grad-CAM); null for occlusion.</param>
/// <param name="Prediction">The sample as the model saw it: its input, scores and label.</param>
public sealed record SampleExplanation(AttributionResult Result, float[] Background, string? Layer,
    AttributionMethod Method, SamplePrediction Prediction, float[]? Raw = null, long[]? RawShape = null);

/// <summary>Faithfulness figures of one explanation (<see cref="Attribution.Faithfulness"/>).</summary>
/// <param name="Curves">Per class target: deletion and insertion areas against a random order; null for other targets.</param>
/// <param name="RandomisedLayer">The layer whose weights were randomised for the sanity check.</param>
/// <param name="RankCorrelations">Per target: the rank correlation of its map with the randomised model's.</param>
public sealed record FaithfulnessCheck(IReadOnlyList<FaithfulnessFigures?> Curves, string RandomisedLayer, IReadOnlyList<double> RankCorrelations);

/// <summary>
/// Explains samples with a model, its data and their preprocessing, kept open between requests: the one route from a
/// sample, a method and targets to heat maps (the CLI's <c>percept explain</c> and the dashboard's Analyze button).
/// Built from a finished run, or from a model and a data source. Thread-safe: requests are served one at a time.
/// </summary>
public sealed class RunExplainer : IDisposable
{
    readonly OnnxModel _model;
    readonly ModelInput _input;
    readonly string _output;
    readonly IDataset _dataset;
    readonly Preprocessor _pre;
    readonly ModelRunner _runner;
    readonly GradientGraphs _graphs;
    readonly bool _isProbability;
    readonly int _numClasses;
    readonly object _gate = new();

    /// <summary>The run's own model, data and preprocessing.</summary>
    /// <exception cref="PerceptException">The run's model gives no class scores, or its model or data has moved.</exception>
    public RunExplainer(Run run)
    {
        if (run.Manifest.NumClasses < 2) throw new PerceptException("this run's model does not output class scores; there is no class to explain");
        _model = OnnxModel.Load(run.ModelPath(), run.Manifest.Text?.PadId ?? 0);
        _input = _model.SelectInput(run.Manifest.Model.Input);
        _output = _model.SelectOutput(run.Manifest.Model.Output);
        _isProbability = run.Manifest.Model.OutputKind == "probabilities";
        _numClasses = run.Manifest.NumClasses;
        (_dataset, _pre) = run.OpenData();
        (_runner, _graphs) = Open();
    }

    /// <summary>A model and a dataset, without a run.</summary>
    /// <param name="inputName">The model input to feed when it has several.</param>
    /// <param name="outputName">The model output that gives the class scores when it has several.</param>
    /// <exception cref="PerceptException">A model or dataset that cannot be read, or that do not fit each other.</exception>
    public RunExplainer(string modelPath, DataSource data, PreprocessOptions? preprocess = null, string? inputName = null, string? outputName = null)
    {
        preprocess ??= new PreprocessOptions();
        _model = OnnxModel.Load(modelPath, data.PadId());
        _input = _model.SelectInput(inputName);
        _output = _model.SelectOutput(outputName);
        _isProbability = _model.IsProbabilityOutput(_output);
        int[] modelSample = _input.Shape.Skip(1).Select(d => d > 0 ? (int)d : -1).ToArray();
        if (_model.FindTokenEmbedding(_input) is { } embedding) preprocess = preprocess with { TokenVocabulary = embedding.VocabularySize };
        _dataset = data.Open(modelSample, preprocess);
        try { _pre = new Preprocessor(_dataset.Format, modelSample, preprocess); }
        catch { _dataset.Dispose(); throw; }
        (_runner, _graphs) = Open();
    }

    (ModelRunner, GradientGraphs) Open()
    {
        try
        {
            var graphs = new GradientGraphs(_model, _input, _output, _pre.InputShape);
            Fetch[] fetch = graphs.Embedding is { } e ? [new Fetch(_output), new Fetch(e.Tensor)] : [new Fetch(_output)];
            return (new ModelRunner(_model, _input, _pre.InputShape, fetch), graphs);
        }
        catch { _dataset.Dispose(); throw; }
    }

    /// <summary>The model.</summary>
    public OnnxModel Model => _model;

    /// <summary>For a model that takes token ids: its embedding lookup, where heat maps are taken (one score per token).</summary>
    public TokenEmbedding? Embedding => _graphs.Embedding;

    /// <summary>The dataset's class names, when it has them.</summary>
    public IReadOnlyList<string>? ClassNames => _dataset.ClassNames;

    /// <summary>Samples in the dataset.</summary>
    public int Count => _dataset.Count;

    /// <summary>Layers Grad-CAM and LayerCAM can read (<see cref="AttributionMethods.CamLayers"/>), the default last.</summary>
    public IReadOnlyList<string> CamLayers => AttributionMethods.CamLayers(_model).Select(l => l.Name).ToArray();

    /// <summary>Reads sample <paramref name="sample"/> and runs the model on it.</summary>
    /// <exception cref="PerceptException">Sample out of range, or an output that is not a vector of class scores.</exception>
    public SamplePrediction Predict(int sample, CancellationToken cancellationToken = default)
    {
        if (sample < 0 || sample >= Count) throw new PerceptException($"sample {sample} is out of range: the dataset has {Count} samples (0 to {Count - 1})");
        lock (_gate) return PredictCore(sample, cancellationToken);
    }

    SamplePrediction PredictCore(int sample, CancellationToken cancellationToken)
    {
        var (raw, label, id) = _dataset.ReadSample(sample, cancellationToken);
        var x = _pre.Apply(raw);
        var buffer = new float[(_runner.FixedBatch ?? 1) * x.Length];
        x.CopyTo(buffer, 0);
        float[] scores;
        float[]? embedding = null;
        using (var r = _runner.Run(buffer, 1))
        {
            var shape = r[0].GetTensorTypeAndShape().Shape;
            long classes = shape.Skip(1).Aggregate(1L, (p, q) => p * q);
            if (shape.Skip(1).Count(d => d != 1) != 1 || classes < 2 || (_numClasses > 0 && classes != _numClasses))
                throw new PerceptException($"output '{_output}' of shape [{string.Join(", ", shape)}] is not a class-score vector; there is no class to explain");
            scores = r[0].GetTensorDataAsSpan<float>()[..(int)classes].ToArray();
            if (_graphs.Embedding != null) embedding = r[1].GetTensorDataAsSpan<float>()[..(x.Length * _graphs.Embedding.Dimension)].ToArray();
        }
        var summary = ClassScores.Compute(scores, _isProbability, label, new float[scores.Length]);
        return new SamplePrediction(sample, id, x, scores, label, summary, embedding);
    }

    /// <summary>Maps of <paramref name="sample"/> for every class, then the loss when it has a label (the dashboard's request).</summary>
    /// <exception cref="PerceptException">Sample out of range, unknown method or layer, an operator without a gradient rule.</exception>
    public SampleExplanation Explain(int sample, string method, string? layer = null, CancellationToken cancellationToken = default) =>
        Explain(sample, AttributionMethods.Get(method), AllTargets, layer, null, null, cancellationToken);

    /// <summary>Every class, then the loss when the sample has a label.</summary>
    public static Func<SamplePrediction, IReadOnlyList<AttributionTarget>> AllTargets { get; } = p =>
    {
        var targets = Enumerable.Range(0, p.Scores.Length).Select(c => new AttributionTarget("class", c)).ToList();
        if (p.Label >= 0) targets.Add(new AttributionTarget("loss", p.Label));
        return targets;
    };

    /// <summary>Maps of <paramref name="sample"/> with <paramref name="method"/> for the targets <paramref name="targets"/> picks from its prediction.</summary>
    /// <param name="layer">Grad-CAM and LayerCAM: the layer (default: the last convolution); ignored by the other methods.</param>
    /// <param name="log">Receives one line per fact worth telling (the Grad-CAM layer, integrated gradients' completeness gap).</param>
    /// <exception cref="PerceptException">Sample out of range, unknown layer, an operator without a gradient rule.</exception>
    public SampleExplanation Explain(int sample, AttributionMethod method, Func<SamplePrediction, IReadOnlyList<AttributionTarget>> targets, string? layer = null,
        ExplainOptions? options = null, Action<string>? log = null, CancellationToken cancellationToken = default)
    {
        if (sample < 0 || sample >= Count) throw new PerceptException($"sample {sample} is out of range: the dataset has {Count} samples (0 to {Count - 1})");
        options ??= ExplainOptions.Default;
        lock (_gate)
        {
            var prediction = PredictCore(sample, cancellationToken);
            var chosen = targets(prediction);
            var (result, raw, rawShape, camLayer) = Attribute(_runner, _graphs, prediction, method, chosen, layer, options, log, cancellationToken);
            return new SampleExplanation(result, Explainer.Gray(prediction.Input, _pre.InputShape, result.Height, result.Width), camLayer,
                method, prediction, raw, rawShape);
        }
    }

    (AttributionResult, float[]?, long[]?, string?) Attribute(ModelRunner runner, GradientGraphs graphs, SamplePrediction p, AttributionMethod method,
        IReadOnlyList<AttributionTarget> targets, string? layer, ExplainOptions options, Action<string>? log, CancellationToken ct)
    {
        if (graphs.Embedding != null && (!method.NeedsGradients || method.NeedsLayer))
            throw new PerceptException(method.NeedsLayer
                ? $"{method.Label} reads a layer with two spatial axes, which a text model does not have; use saliency, gradxinput, ig or smoothgrad (taken at the embedding output)"
                : $"{method.Label} slides a patch over an image; for a text model use saliency, gradxinput, ig or smoothgrad (taken at the embedding output)");
        if (!method.NeedsGradients)
            return (Occlusion.Explain(runner, p.Input, _pre.InputShape, targets, _isProbability, options.Patch, options.Stride, cancellationToken: ct), null, null, null);
        string? camLayer = method.NeedsLayer ? AttributionMethods.CamLayer(graphs.Model, layer).Name : null;
        graphs.Tokens = p.Embedding != null ? p.Input : null;
        var (result, raw, rawShape) = Explainer.Gradient(graphs, p.Embedding ?? p.Input, p.Scores, _isProbability, targets, method, camLayer, options, log, ClassNames);
        return (result, raw, rawShape, camLayer);
    }

    /// <summary>
    /// How faithful <paramref name="explanation"/> is: deletion and insertion areas of each class target against a random
    /// order, and the rank correlation of each map with the same method's map on a copy of the model whose last layer has
    /// random weights (far below 1: the map depends on what the model learnt).
    /// </summary>
    public FaithfulnessCheck CheckFaithfulness(SampleExplanation explanation, ExplainOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= ExplainOptions.Default;
        var (result, p) = (explanation.Result, explanation.Prediction);
        int plane = result.Height * result.Width;
        lock (_gate)
        {
            var curves = result.Targets.Select((t, k) => t.Kind != "class" ? null
                : (FaithfulnessFigures?)Faithfulness.Curves(_runner, p.Input, _pre.InputShape, result.Maps[(k * plane)..((k + 1) * plane)],
                    result.Height, result.Width, t.Class, _isProbability)).ToArray();
            string scratch = Path.Combine(Path.GetTempPath(), $"percept-randomised-{Environment.ProcessId}-{Guid.NewGuid():N}.onnx");
            try
            {
                string layer = Faithfulness.RandomiseLastLayer(_model, scratch);
                var randomModel = OnnxModel.Load(scratch);
                var randomInput = randomModel.SelectInput(_input.Name);
                using var randomRunner = new ModelRunner(randomModel, randomInput, _pre.InputShape, [new Fetch(_output)]);
                using var randomGraphs = new GradientGraphs(randomModel, randomInput, _output, _pre.InputShape);
                var (random, _, _, _) = Attribute(randomRunner, randomGraphs, p, explanation.Method, result.Targets, explanation.Layer, options, null, cancellationToken);
                var correlations = Enumerable.Range(0, result.Targets.Count)
                    .Select(k => Faithfulness.RankCorrelation(result.Maps.AsSpan(k * plane, plane), random.Maps.AsSpan(k * plane, plane))).ToArray();
                return new FaithfulnessCheck(curves, layer, correlations);
            }
            finally { File.Delete(scratch); }
        }
    }

    public void Dispose() { _graphs.Dispose(); _runner.Dispose(); _dataset.Dispose(); }
}
