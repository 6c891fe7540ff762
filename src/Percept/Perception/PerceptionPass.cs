using System.Numerics.Tensors;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Percept.Data;
using Percept.Model;
using Percept.Store;

namespace Percept.Perception;

/// <summary>
/// The first pass of an analysis: the model over every batch, each sample's class scores and results (one
/// <see cref="SampleRow"/> each), the model's outputs, and each perception layer's activations pooled to one value per
/// feature, written to the run as they come (memory does not grow with the data) while the features' statistics
/// accumulate for <see cref="PerceptionVectors"/>.
/// </summary>
/// <param name="namesMustMatch">The class names were given (a --classes file): their number must be the model's.</param>
internal sealed class PerceptionPass(IRunOutput output, SampleTableWriter samples, IReadOnlyList<LayerInfo> layers, PoolingMode pooling,
    IReadOnlyList<string>? classNames, string split, bool namesMustMatch = false)
    : IDisposable
{
    /// <summary>Samples consumed, labelled samples among them, and those the model got right.</summary>
    public long Rows { get; private set; }
    public long Labelled { get; private set; }
    public long CorrectCount { get; private set; }
    /// <summary>The sum of the labelled samples' losses.</summary>
    public double LossSum { get; private set; }
    bool Initialised;
    /// <summary>Whether the output is a vector of class scores, and whether those are probabilities.</summary>
    public bool IsClassScores { get; private set; }

    /// <summary>Whether the output was read as an embedding or features (asked for, or recognised), not class scores.</summary>
    public bool IsEmbedding { get; private set; }
    public bool IsProbability { get; private set; }
    public int NumClasses { get; private set; }
    /// <summary>Width of the output per sample when it is not class scores (the <c>outputs</c> field); 0 otherwise.</summary>
    public int OutputWidth { get; private set; }
    /// <summary>Samples whose outputs are NaN or infinite (they get no prediction or loss), and the first of them.</summary>
    public long NonFiniteOutputs { get; private set; }
    public long FirstNonFiniteOutput { get; private set; } = -1;
    /// <summary>Samples with a NaN or infinite pooled feature in some layer (left out of the statistics), and the first of them.</summary>
    public long NonFiniteFeatures { get; private set; }
    public long FirstNonFiniteFeatures { get; private set; } = -1;
    /// <summary>
    /// For a text model: the id that pads its token ids. A layer with one vector per token (<c>[N, tokens, D]</c>) is then
    /// pooled over the tokens that are not padding, as the model's own mean-pooled output is; null pools every position.
    /// </summary>
    public long? PadId { get; init; }
    bool[] _keep = [];
    readonly HashSet<long> _nonFiniteRows = [];

    /// <summary>The output's shape, batch axis −1.</summary>
    public long[] OutputShape { get; private set; } = [];
    public IReadOnlyList<LayerInfo> Layers { get; } = layers;
    /// <summary>Each layer's field in the run (<c>layer:NAME</c>).</summary>
    public Field[] LayerFields { get; } = layers.Select(l => PerceptionFields.Layer.Member(l.Name)).ToArray();
    /// <summary>Each layer's feature statistics over every sample (complete once the pass has run).</summary>
    public FeatureStatistics[] Stats { get; } = new FeatureStatistics[layers.Count];

    /// <summary>
    /// The dataset index of this pass's first sample (a shard's slice starts there; 0 for a whole dataset). Rows are
    /// numbered from it.
    /// </summary>
    public long RowOffset { get; init; }

    /// <summary>
    /// Statistics are gathered per segment of this many samples (by dataset index, a multiple of the batch size) and the
    /// segments merged in order, so that shards aligned to segments give the same statistics as one pass
    /// (<see cref="SegmentLength(int)"/>). Set before the pass runs.
    /// </summary>
    public int Segment { get; set; } = SegmentLength(1);

    /// <summary>Each finished segment's statistics per layer (count, means, M2), kept when <see cref="KeepSegments"/> is set.</summary>
    public List<SegmentStatistics>[] Segments { get; } = [.. layers.Select(_ => new List<SegmentStatistics>())];

    /// <summary>Keep each segment's statistics (a shard writes them for the merge).</summary>
    public bool KeepSegments { get; init; }

    /// <summary>Samples per statistics segment for a batch size: about 1,024, a whole number of batches (a dataset can be cut into as many shards as it has segments).</summary>
    public static int SegmentLength(int batchSize) => batchSize * Math.Max(1, (1024 + batchSize - 1) / batchSize);

    FeatureStatistics[] _segment = [];
    long _segmentRows;

    /// <summary>Merges the current segment into <see cref="Stats"/> (in order), keeping it when asked.</summary>
    void CloseSegment()
    {
        if (_segmentRows == 0) return;
        for (int l = 0; l < Layers.Count; l++)
        {
            if (KeepSegments) Segments[l].Add(new SegmentStatistics(_segment[l].Count, _segment[l].MeanValues.ToArray(), _segment[l].M2Values.ToArray()));
            Stats[l].Merge(_segment[l]);
            _segment[l].Clear();
        }
        _segmentRows = 0;
    }
    readonly FieldWriter?[] _layerWriters = new FieldWriter?[layers.Count];
    float[][] _pooled = new float[layers.Count][];
    FieldWriter? _logits, _probabilities, _outputs;
    float[] _probRow = [], _logRow = [];

    void Initialise(OnnxModel model, string outputName, OutputKind kind, IReadOnlyList<OrtValue> results, int[] layerFetch, int count)
    {
        var info = results[0].GetTensorTypeAndShape();
        OutputShape = [-1, .. info.Shape.Skip(1)];
        long perSample = info.Shape.Skip(1).Aggregate(1L, (a, b) => a * b);
        bool vector = info.ElementDataType == TensorElementType.Float && perSample >= 2 && info.Shape.Skip(1).Count(d => d != 1) == 1;
        // A feature vector, not class scores: asked for, or (auto) an output made by a pooling over features or a
        // normalisation (not a Softmax, not a class-map head), unless the class names given are exactly as many as its width.
        bool features = kind == OutputKind.Embedding || (kind == OutputKind.Auto && vector && !model.IsProbabilityOutput(outputName)
            && model.IsFeatureOutput(outputName) && !(classNames != null && classNames.Count == perSample));
        IsClassScores = vector && !features;
        IsEmbedding = features;
        if (IsClassScores)
        {
            NumClasses = (int)perSample;
            if (namesMustMatch && classNames != null && classNames.Count != NumClasses)
                throw new PerceptException($"the class names file names {classNames.Count} classes; the model outputs {NumClasses} class scores " +
                    $"(if the output is an embedding or features, not class scores, say so with {Terms.Option("output-kind")} embedding)");
            IsProbability = kind switch
            {
                OutputKind.Probabilities => true,
                OutputKind.Logits => false,
                _ => model.IsProbabilityOutput(outputName) || RowsAreDistributions(results[0].GetTensorDataAsSpan<float>(), count, NumClasses),
            };
            _logits = output.Create(PerceptionFields.Logits, NumClasses);
            _probabilities = output.Create(PerceptionFields.Probabilities, NumClasses);
            _probRow = new float[NumClasses];
            _logRow = new float[NumClasses];
        }
        else if (info.ElementDataType == TensorElementType.Float)
        {
            OutputWidth = (int)perSample;
            _outputs = output.Create(PerceptionFields.Outputs, OutputWidth);
        }
        for (int l = 0; l < Layers.Count; l++)
        {
            var li = results[layerFetch[l]].GetTensorTypeAndShape();
            if (li.ElementDataType != TensorElementType.Float)
                throw new PerceptException($"layer '{Layers[l].Name}' produces {li.ElementDataType} tensors; only float layers can be recorded");
            int channels = Pooling.Channels(li.Shape, Layers[l].ChannelsLast);
            _pooled[l] = new float[li.Shape[0] * channels];
            _layerWriters[l] = output.Create(LayerFields[l], channels);
            Stats[l] = new FeatureStatistics(channels);
        }
        _segment = [.. Stats.Select(st => new FeatureStatistics(st.Features))];
        Initialised = true;
    }

    static bool RowsAreDistributions(ReadOnlySpan<float> values, int rows, int classes)
    {
        for (int r = 0; r < rows; r++)
        {
            var row = values.Slice(r * classes, classes);
            if (TensorPrimitives.Min(row) < 0 || TensorPrimitives.Max(row) > 1 || MathF.Abs(TensorPrimitives.Sum(row) - 1) > 1e-4f) return false;
        }
        return true;
    }

    /// <summary>
    /// The layers among <paramref name="layers"/> whose activations keep the batch on their first axis, which is how they are
    /// recorded. Sequence-first layers (the attention projections of a Transformer exported by PyTorch, <c>[tokens, N, F]</c>)
    /// are left out with a warning, or refused when the user named them.
    /// </summary>
    /// <exception cref="PerceptException">A layer named explicitly whose batch axis is not the first, or nothing left to record.</exception>
    public static List<LayerInfo> KeepBatchFirst(OnnxModel model, ModelInput input, int[] sampleShape, List<LayerInfo> layers, bool explicitly, Action<string>? warn)
    {
        var axes = model.BatchAxes(input, sampleShape, layers.Select(l => l.ActivationTensor ?? l.Output).Distinct().ToArray());
        var off = layers.Where(l => axes.TryGetValue(l.ActivationTensor ?? l.Output, out int a) && a != 0).ToList();
        if (off.Count == 0) return layers;
        string names = string.Join(", ", off.Select(l => l.Name));
        if (explicitly) throw new PerceptException($"layer(s) {names} keep the batch on another axis than the first (sequence-first); Percept records batch-first activations");
        var kept = layers.Except(off).ToList();
        if (kept.Count == 0) throw new PerceptException($"every layer with learned parameters keeps the batch on another axis than the first ({names}); choose layers with {Terms.Option("layers")}");
        warn?.Invoke($"left out {off.Count} sequence-first layer(s) whose batch is not on the first axis: {names}");
        return kept;
    }

    /// <summary>The layers to record: those named (layer, node or tensor names), or every layer with learned parameters.</summary>
    /// <exception cref="PerceptException">An unknown name, or a model without such layers.</exception>
    public static List<LayerInfo> ChooseLayers(OnnxModel model, IReadOnlyList<string>? names)
    {
        if (names == null || names.Count == 0)
        {
            var all = model.PerceptionLayers.ToList();
            if (all.Count == 0) throw new PerceptException($"the model has no layers with learned parameters; choose layers with {Terms.Option("layers")}");
            return all;
        }
        var chosen = new List<LayerInfo>();
        foreach (var name in names)
        {
            var l = model.FindLayer(name);
            if (l.ActivationTensor == null) l = l with { ActivationTensor = l.Output, ChannelsLast = l.OpType is "Gemm" or "MatMul" };
            if (chosen.All(c => c.Name != l.Name)) chosen.Add(l);
        }
        return chosen;
    }

    /// <summary>
    /// What to fetch from the model: the output first, then each layer's activations. Convolutions are pooled inside the
    /// graph (ONNX Runtime then returns <c>[N, C, 1, 1]</c> instead of whole feature maps); other layers come back as they
    /// are and are pooled here. <paramref name="layerFetch"/>[l] is layer l's index in the list.
    /// </summary>
    public static List<Fetch> Fetches(string outputName, IReadOnlyList<LayerInfo> layers, PoolingMode pooling, out int[] layerFetch)
    {
        var fetch = new List<Fetch> { new(outputName) };
        var graphPooling = pooling == PoolingMode.Max ? GraphPooling.GlobalMax : GraphPooling.GlobalAverage;
        var layerFetches = layers.Select(l => new Fetch(l.ActivationTensor!, PoolsInGraph(l) ? graphPooling : GraphPooling.None)).ToArray();
        foreach (var f in layerFetches) if (!fetch.Contains(f)) fetch.Add(f);
        layerFetch = layerFetches.Select(f => fetch.IndexOf(f)).ToArray();
        return fetch;
    }

    static bool PoolsInGraph(LayerInfo layer) => !layer.ChannelsLast && layer.OpType is "Conv" or "ConvTranspose" or "ConvInteger" or "QLinearConv";

    /// <summary>Runs the model over every batch and consumes its results, reporting progress per batch.</summary>
    /// <param name="runner">Fetches <see cref="Fetches"/>' list.</param>
    /// <exception cref="PerceptException">A problem with a sample or a layer.</exception>
    public void Run(ModelRunner runner, OnnxModel model, string outputName, OutputKind kind, int[] layerFetch, IEnumerable<PreparedBatch> batches, long total,
        IProgress<AnalysisProgress>? progress, CancellationToken cancellationToken)
    {
        foreach (var batch in batches)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using (var results = runner.Run(batch.Input, batch.Count))
                Consume(model, outputName, kind, results, layerFetch, batch);
            progress?.Report(new AnalysisProgress("analyze", Rows, total));
            batch.Release();
        }
        Dispose();
    }

    /// <summary>Takes one batch's model results: <paramref name="results"/>[0] is the output, <paramref name="layerFetch"/>[l] the index of layer l's activations.</summary>
    /// <exception cref="PerceptException">A label outside the model's classes, or a layer that is not float.</exception>
    public void Consume(OnnxModel model, string outputName, OutputKind kind, IReadOnlyList<OrtValue> results, int[] layerFetch, PreparedBatch batch)
    {
        int count = batch.Count;
        if (!Initialised) Initialise(model, outputName, kind, results, layerFetch, count);
        var scores = results[0].GetTensorDataAsSpan<float>();
        for (int i = 0; i < count; i++)
        {
            int label = batch.Labels[i];
            var row = new SampleRow(RowOffset + Rows + i, batch.Ids[i], split, label >= 0 ? label : null, Name(label), null, null, null,
                null, null, null, null, batch.HasIntensity ? batch.MeanIntensity[i] : null);
            if (IsClassScores)
            {
                if (label >= NumClasses)
                    throw new PerceptException($"label {label} of sample {RowOffset + Rows + i} is outside the model's {NumClasses} classes");
                var sampleScores = scores.Slice(i * NumClasses, NumClasses);
                if (!Numerics.AllFinite(sampleScores))
                {
                    // NaN or infinite outputs: no prediction, confidence or loss for this sample, and it counts in no total.
                    if (NonFiniteOutputs++ == 0) FirstNonFiniteOutput = RowOffset + Rows + i;
                    _probabilities!.Append(sampleScores);
                    _logits!.Append(sampleScores);
                    Append(row);
                    continue;
                }
                var s = ClassScores.Compute(sampleScores, IsProbability, label, _probRow);
                _probabilities!.Append(_probRow);
                if (IsProbability)
                {
                    for (int c = 0; c < NumClasses; c++) _logRow[c] = MathF.Log(MathF.Max(_probRow[c], ClassScores.MinProbability));
                    _logits!.Append(_logRow);
                }
                else _logits!.Append(scores.Slice(i * NumClasses, NumClasses));
                bool? correct = label >= 0 ? s.Prediction == label : null;
                row = row with
                {
                    Prediction = s.Prediction, PredictionName = Name(s.Prediction), Correct = correct, Confidence = s.Confidence,
                    Margin = s.Margin, Entropy = s.Entropy, Loss = label >= 0 ? s.Loss : null,
                };
                if (label >= 0) { Labelled++; LossSum += s.Loss; if (correct == true) CorrectCount++; }
            }
            else _outputs?.Append(scores.Slice(i * OutputWidth, OutputWidth));
            Append(row);
        }
        for (int l = 0; l < Layers.Count; l++)
        {
            var value = results[layerFetch[l]];
            var shape = value.GetTensorTypeAndShape().Shape;
            int channels = Stats[l].Features;
            var pooled = _pooled[l].AsSpan(0, count * channels);
            Pooling.Pool(value.GetTensorDataAsSpan<float>(), shape, Layers[l].ChannelsLast, pooling, count, pooled, Kept(batch, shape, l));
            _layerWriters[l]!.Append(pooled);
            if (Numerics.AllFinite(pooled)) _segment[l].Add(pooled, count);
            else
                // A sample whose features are NaN or infinite would poison every sample's standardisation: it is left out of
                // the statistics (its perception vector is then non-finite too, and the map leaves it out).
                for (int r = 0; r < count; r++)
                {
                    var one = pooled.Slice(r * channels, channels);
                    if (Numerics.AllFinite(one)) _segment[l].Add(one, 1);
                    else if (_nonFiniteRows.Add(RowOffset + Rows + r) && NonFiniteFeatures++ == 0) FirstNonFiniteFeatures = RowOffset + Rows + r;
                }
        }
        Rows += count;
        _segmentRows += count;
        if ((RowOffset + Rows) % Segment == 0) CloseSegment();
    }

    /// <summary>The batch's tokens that are not padding, when layer <paramref name="l"/> has one vector per token; else empty (every position).</summary>
    ReadOnlySpan<bool> Kept(PreparedBatch batch, ReadOnlySpan<long> shape, int l)
    {
        if (PadId is not { } pad || !Layers[l].ChannelsLast || shape.Length != 3) return default;
        int count = batch.Count;
        int tokens = batch.Input.Length / Math.Max(1, batch.Labels.Length);
        if (shape[1] != tokens) return default;
        if (_keep.Length < count * tokens) _keep = new bool[batch.Labels.Length * tokens];
        var ids = batch.Input.AsSpan(0, count * tokens);
        for (int i = 0; i < ids.Length; i++) _keep[i] = ids[i] != pad;
        return _keep.AsSpan(0, count * tokens);
    }

    void Append(in SampleRow r) => samples.Row()
        .Add(r.Index).Add(r.Id).Add(r.Split).Add(r.Label).Add(r.LabelName).Add(r.Prediction).Add(r.PredictionName)
        .Add(r.Correct).Add(r.Confidence).Add(r.Margin).Add(r.Entropy).Add(r.Loss).Add(r.MeanIntensity).End();

    string? Name(int cls) => cls >= 0 && classNames != null && cls < classNames.Count ? classNames[cls] : null;

    /// <summary>Closes the files written (idempotent).</summary>
    public void Dispose()
    {
        if (Initialised) CloseSegment();
        _logits?.Dispose(); _probabilities?.Dispose(); _outputs?.Dispose();
        foreach (var w in _layerWriters) w?.Dispose();
    }
}

/// <summary>One segment's feature statistics: its sample count, and each feature's mean and sum of squared deviations (M2).</summary>
public sealed record SegmentStatistics(long Count, double[] Mean, double[] M2);
