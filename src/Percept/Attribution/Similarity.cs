using Percept.Data;
using Percept.IO;
using Percept.Model;
using Percept.Perception;
using Percept.Store;

namespace Percept.Attribution;

/// <summary>How a similarity map shows what makes two samples alike.</summary>
public enum SimilarityOverlay
{
    /// <summary>Gradient × input of the cosine: per pixel (per token for text), fine-grained.</summary>
    Gradient,
    /// <summary>Grad-CAM of the cosine at a convolutional layer, ReLU(Σ_k mean(∂cos/∂A_k) · A_k), upsampled: coarse regions.</summary>
    GradCam,
}

/// <summary>
/// What makes two samples alike to the model (Fetch Similar): the cosine similarity of their perception vectors,
/// built exactly as the run built them (standardised, weighted, concatenated, projected), differentiated back through
/// the mean pooling of every perception layer to each sample's input and shown as gradient × input, or to a
/// convolutional layer's activations and shown as Grad-CAM.
/// </summary>
public static class Similarity
{
    /// <summary>
    /// Maps <c>[2, height, width]</c>: for sample <paramref name="a"/> (what in it resembles b) and for b; the cosine;
    /// and the two inputs averaged over channels (<c>[2, height, width]</c>), to draw the maps on. For many pairs of
    /// one run, keep a <see cref="SimilarityExplainer"/> instead: it loads the model, data and vectors once.
    /// </summary>
    /// <param name="overlay">Gradient × input (the default), or Grad-CAM at <paramref name="layer"/> (default: the last convolution).</param>
    /// <exception cref="PerceptException">Grad-CAM asked of a model without a convolutional layer, or an unknown layer.</exception>
    public static (AttributionResult Maps, float Cosine, float[] Inputs) Explain(Run run, int a, int b,
        SimilarityOverlay overlay = SimilarityOverlay.Gradient, string? layer = null)
    {
        using var explainer = new SimilarityExplainer(run);
        return explainer.Explain(a, b, overlay, layer);
    }

    /// <summary>
    /// The convolution similarity maps read by default: the last one at or before the run's last perception layer (in the
    /// model's order), since the perception vectors, and so their cosine, depend on no layer after it; null when none is.
    /// </summary>
    public static Model.LayerInfo? DefaultCamLayer(Model.OnnxModel model, RunManifest manifest)
    {
        var order = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (l, i) in model.PerceptionLayers.Select((l, i) => (l, i))) order.TryAdd(l.Name, i);
        int last = manifest.Perception.Layers.Select(l => order.TryGetValue(l.Name, out int i) ? i : -1).DefaultIfEmpty(-1).Max();
        return AttributionMethods.CamLayers(model).LastOrDefault(l => order.TryGetValue(l.Name, out int i) && i <= last);
    }

    internal static float Cosine(float[] x, float[] y)
    {
        double dot = 0, nx = 0, ny = 0;
        for (int i = 0; i < x.Length; i++) { dot += x[i] * y[i]; nx += x[i] * x[i]; ny += y[i] * y[i]; }
        return (float)(dot / Math.Sqrt(Math.Max(nx * ny, 1e-300)));
    }
}

/// <summary>
/// <see cref="Similarity"/> for many pairs of one run (the dashboard's Fetch Similar): the model's gradient graph, the
/// data, the perception vectors and the layers' statistics are loaded once. Thread-safe: pairs are explained one at a time.
/// </summary>
public sealed class SimilarityExplainer : IDisposable
{
    readonly Run _run;
    readonly OnnxModel _model;
    readonly IDataset _dataset;
    readonly Preprocessor _pre;
    readonly GradientGraph _graph;
    readonly string[] _tensors;
    readonly FieldReader _embedding;
    readonly float[][] _stats;
    readonly object _gate = new();
    readonly ModelRunner? _lookup;
    readonly ModelInput _input;
    // Grad-CAM graphs, one per layer, built on first use: the same seeds, differentiated only down to the layer's activation.
    readonly Dictionary<string, GradientGraph> _camGraphs = [];

    public SimilarityExplainer(Run run)
    {
        var m = run.Manifest;
        if (m.Perception.Pooling != "mean") throw new PerceptException("similarity maps need a run made with mean pooling");
        _run = run;
        _model = OnnxModel.Load(run.ModelPath(), m.Text?.PadId ?? 0);
        var input = _input = _model.SelectInput(m.Model.Input);
        (_dataset, _pre) = run.OpenData();
        try
        {
            _tensors = m.Perception.Layers.Select(l => l.Tensor).Distinct().ToArray();
            _graph = Graph([], inputGradient: true);
            // A text model is differentiated at its embedding lookup's output: each sample's embedding comes from a forward pass.
            if (_graph.Embedding is { } lookup) _lookup = new ModelRunner(_model, input, _pre.InputShape, [new Fetch(lookup.Tensor)]);
            _stats = m.Perception.Layers.Select(l => run.ReadFloat32(PerceptionFields.LayerStats.Member(l.Name))).ToArray();
            // Two rows are read per request: the vectors stay on disk, whatever their size.
            _embedding = run.Open(PerceptionFields.Embedding);
        }
        catch
        {
            _graph?.Dispose();
            _lookup?.Dispose();
            _dataset.Dispose();
            throw;
        }
    }

    /// <inheritdoc cref="Similarity.Explain"/>
    public (AttributionResult Maps, float Cosine, float[] Inputs) Explain(int a, int b, SimilarityOverlay overlay = SimilarityOverlay.Gradient,
        string? layer = null)
    {
        lock (_gate)
        {
            var (va, vb, cosine, cam) = Pair(a, b, overlay, layer);
            var xa = ReadInput(a);
            var xb = ReadInput(b);
            var (_, h, w, _) = Axes();
            var maps = new float[2 * h * w];
            Map(cam, xa, va, vb, cosine, maps.AsSpan(0, h * w));
            Map(cam, xb, vb, va, cosine, maps.AsSpan(h * w, h * w));
            var targets = new[] { new AttributionTarget("similarity", a), new AttributionTarget("similarity", b) };
            float[] gray = [.. Explainer.Gray(xa, _pre.InputShape, h, w), .. Explainer.Gray(xb, _pre.InputShape, h, w)];
            return (new AttributionResult(maps, h, w, targets, [cosine, cosine]), cosine, gray);
        }
    }

    /// <summary>
    /// What in sample <paramref name="b"/> makes the model see it as like <paramref name="a"/>: <see cref="Explain"/>'s
    /// second map alone (one plane, target <paramref name="b"/>), for half the backward passes. Fetch Similar draws only it.
    /// </summary>
    public AttributionResult ExplainNeighbour(int a, int b, SimilarityOverlay overlay = SimilarityOverlay.Gradient, string? layer = null)
    {
        lock (_gate)
        {
            var (va, vb, cosine, cam) = Pair(a, b, overlay, layer);
            var (_, h, w, _) = Axes();
            var map = new float[h * w];
            Map(cam, ReadInput(b), vb, va, cosine, map);
            return new AttributionResult(map, h, w, [new AttributionTarget("similarity", b)], [cosine]);
        }
    }

    /// <summary>
    /// What in sample <paramref name="a"/> makes it like each class as the model sees it: one map per class, of the cosine
    /// of the sample's perception vector with the class's mean direction (the mean of its labelled samples' unit-length
    /// perception vectors), made as <see cref="Explain"/> makes a pair's. The heat maps of a model without class scores (an
    /// embedding model, a feature extractor), which has no class score to explain.
    /// </summary>
    /// <param name="classes">The classes to explain, or null: every class with labelled samples when there are at most
    /// <paramref name="most"/>, else the sample's label and the classes whose means lie nearest, <paramref name="most"/> in all.</param>
    /// <returns>Maps <c>[classes, height, width]</c> in class order (targets of kind "class-mean", scored by the cosine),
    /// and the input averaged over channels.</returns>
    /// <exception cref="PerceptException">No labels, a class without labelled samples, or a sample out of range.</exception>
    public (AttributionResult Maps, float[] Inputs) ExplainClassMeans(int a, IReadOnlyList<int>? classes = null,
        SimilarityOverlay overlay = SimilarityOverlay.Gradient, string? layer = null, int most = 10)
    {
        lock (_gate)
        {
            var (self, cosines, label) = Likeness(a);
            var means = ClassMeans().Means;
            int[] chosen;
            if (classes != null)
            {
                foreach (int c in classes)
                    if (c < 0 || c >= means.Length || means[c] == null)
                        throw new PerceptException($"class {c} has no labelled sample in this run, so it has no mean to compare with");
                chosen = classes.ToArray();
            }
            else
            {
                var present = Enumerable.Range(0, means.Length).Where(c => means[c] != null).ToList();
                if (present.Count > most)
                {
                    // The label first, then the nearest means: the classes the sample could be taken for.
                    var keep = new List<int>();
                    if (label >= 0 && label < means.Length && means[label] != null) keep.Add(label);
                    keep.AddRange(present.Where(c => !keep.Contains(c)).OrderByDescending(c => cosines[c]).Take(most - keep.Count));
                    present = [.. keep.Order()];
                }
                chosen = [.. present];
            }
            var cam = overlay == SimilarityOverlay.GradCam ? CamGraph(layer) : null;
            var x = ReadInput(a);
            var (_, h, w, _) = Axes();
            var maps = new float[chosen.Length * h * w];
            for (int k = 0; k < chosen.Length; k++)
                Map(cam, x, self, means[chosen[k]]!, cosines[chosen[k]], maps.AsSpan(k * h * w, h * w));
            var result = new AttributionResult(maps, h, w, chosen.Select(c => new AttributionTarget("class-mean", c)).ToArray(),
                chosen.Select(c => cosines[c]).ToArray());
            return (result, Explainer.Gray(x, _pre.InputShape, h, w));
        }
    }

    /// <summary>Sample <paramref name="a"/>'s cosine with each class's mean direction (NaN for a class without labelled samples), and its label (−1: none).</summary>
    /// <exception cref="PerceptException">The run has no labels, or the sample is out of range.</exception>
    public (float[] Cosines, int Label) ClassLikeness(int a)
    {
        lock (_gate)
        {
            var (_, cosines, label) = Likeness(a);
            return (cosines, label);
        }
    }

    /// <summary>Sample <paramref name="a"/>'s perception vector, its cosine with each class's mean direction, and its label (under <see cref="_gate"/>).</summary>
    (float[] Self, float[] Cosines, int Label) Likeness(int a)
    {
        if (a < 0 || a >= _run.Count) throw new PerceptException($"sample {a} must be between 0 and {_run.Count - 1}");
        var (means, labels) = ClassMeans();
        var self = new float[_embedding.Columns];
        _embedding.ReadRow(a, self);
        return (self, means.Select(m => m == null ? float.NaN : Similarity.Cosine(self, m)).ToArray(), labels[a]);
    }

    (float[]?[] Means, int[] Labels)? _classMeans;

    /// <summary>Per class, the mean of its labelled samples' unit-length perception vectors (null for a class with none), read once.</summary>
    (float[]?[] Means, int[] Labels) ClassMeans()
    {
        if (_classMeans is { } kept) return kept;
        int[] labels;
        using (var samples = _run.OpenSamples())
            labels = samples.Has(PerceptionFields.Label.Name) ? samples.ReadInt32(PerceptionFields.Label) : [];
        int classes = Math.Max(_run.Manifest.Classes?.Count ?? 0, labels.DefaultIfEmpty(-1).Max() + 1);
        if (!labels.Any(l => l >= 0))
            throw new PerceptException("the run has no labels, so no class has a mean to compare with; Fetch Similar compares samples");
        int width = _embedding.Columns;
        var sums = new double[classes][];
        var counts = new int[classes];
        const int Block = 4096;
        var rows = new float[Block * width];
        for (int start = 0; start < _run.Count; start += Block)
        {
            int n = Math.Min(Block, _run.Count - start);
            _embedding.Read(start, n, rows);
            for (int r = 0; r < n; r++)
            {
                int c = labels[start + r];
                if (c < 0) continue;
                var row = rows.AsSpan(r * width, width);
                double norm = 0;
                foreach (float v in row) norm += (double)v * v;
                if (!(norm > 0) || double.IsInfinity(norm)) continue; // a zero or broken vector has no direction
                double inv = 1 / Math.Sqrt(norm);
                var sum = sums[c] ??= new double[width];
                for (int j = 0; j < width; j++) sum[j] += row[j] * inv;
                counts[c]++;
            }
        }
        var means = sums.Select((s, c) => s == null ? null : s.Select(v => (float)(v / counts[c])).ToArray()).ToArray();
        _classMeans = (means, labels);
        return (means, labels);
    }

    /// <summary>The two samples' perception vectors and their cosine, and the Grad-CAM graph the overlay needs (null for gradient × input).</summary>
    /// <exception cref="PerceptException">A sample out of range, or Grad-CAM without a layer for it (checked before any work).</exception>
    (float[] A, float[] B, float Cosine, GradientGraph? Cam) Pair(int a, int b, SimilarityOverlay overlay, string? layer)
    {
        if (a < 0 || a >= _run.Count || b < 0 || b >= _run.Count)
            throw new PerceptException($"samples {a} and {b} must be between 0 and {_run.Count - 1}");
        var cam = overlay == SimilarityOverlay.GradCam ? CamGraph(layer) : null;
        var va = new float[_embedding.Columns];
        var vb = new float[_embedding.Columns];
        _embedding.ReadRow(a, va);
        _embedding.ReadRow(b, vb);
        return (va, vb, Similarity.Cosine(va, vb), cam);
    }

    /// <summary>One sample's map of the cosine with the other: Grad-CAM at <paramref name="cam"/>'s layer, else gradient × input.</summary>
    void Map(GradientGraph? cam, float[] x, float[] self, float[] other, float cosine, Span<float> map)
    {
        if (cam != null) GradCam(cam, x, self, other, cosine, map);
        else Attribute(x, self, other, cosine, map);
    }

    float[] ReadInput(int index)
    {
        var (raw, _, _) = _dataset.ReadSample(index);
        return _pre.Apply(raw);
    }

    /// <summary>
    /// Grad-CAM's layer for similarity maps: <paramref name="layer"/>, or the last convolution the perception vectors
    /// depend on (<see cref="Similarity.DefaultCamLayer"/>): a convolution after every recorded layer would get no gradient.
    /// </summary>
    /// <exception cref="PerceptException">A text model, no convolution at or before the last recorded layer, or a layer without spatial axes.</exception>
    public string CamLayer(string? layer = null)
    {
        if (_graph.Embedding != null)
            throw new PerceptException("Grad-CAM reads a layer with two spatial axes, which a text model does not have; its similarity maps are gradient × embedding");
        if (layer != null) return AttributionMethods.CamLayer(_model, layer).Name;
        return Similarity.DefaultCamLayer(_model, _run.Manifest)?.Name
            ?? throw new PerceptException("no convolution comes at or before the run's last perception layer, so the similarity depends on none; its maps are gradient × input");
    }

    /// <summary>
    /// The gradient graph of the cosine, seeded on the recorded tensors. The cosine does not depend on the model's output,
    /// so a model whose last operators have no gradient rule (an embedding ending in LpNormalization) is built up to its
    /// deepest recorded layer instead.
    /// </summary>
    GradientGraph Graph(string[] activations, bool inputGradient)
    {
        string output = _run.Manifest.Model.Output;
        try { return GradientGraph.Build(_model, _input, _pre.InputShape, output, activations, _tensors, inputGradient); }
        catch (PerceptException) when (DeepestTensor() is { } last && last != output)
        {
            return GradientGraph.Build(_model.WithOutput(last), _input, _pre.InputShape, last, activations, _tensors, inputGradient);
        }
    }

    /// <summary>The recorded tensor that comes last in the model's order of perception layers, or null.</summary>
    string? DeepestTensor()
    {
        var order = _model.PerceptionLayers.Select((l, i) => (l.Name, i)).GroupBy(p => p.Name).ToDictionary(g => g.Key, g => g.First().i);
        return _run.Manifest.Perception.Layers.Where(l => order.ContainsKey(l.Name)).MaxBy(l => order[l.Name])?.Tensor;
    }

    GradientGraph CamGraph(string? layerName)
    {
        var layer = _model.FindLayer(CamLayer(layerName));
        string tensor = layer.ActivationTensor ?? layer.Output;
        if (!_camGraphs.TryGetValue(tensor, out var graph))
            _camGraphs[tensor] = graph = Graph([tensor], inputGradient: false);
        return graph;
    }

    /// <summary>
    /// Grad-CAM of cos(v_self, v_other) at the graph's layer: the same seeds as <see cref="Attribute"/>, differentiated down to
    /// the layer's activation A (perception layers before it do not depend on A), then ReLU(Σ_k mean(∂cos/∂A_k) · A_k),
    /// upsampled to the input as class Grad-CAM maps are.
    /// </summary>
    void GradCam(GradientGraph graph, float[] x, float[] self, float[] other, float cosine, Span<float> map)
    {
        var seeds = Seeds(self, other, cosine);
        var outputSeed = new float[graph.OutputShape.Aggregate(1L, (q, r) => q * r)]; // the cosine is not a function of the output: zero
        var (value, shape, gradient) = graph.Run((float[])x.Clone(), outputSeed, 1, seeds).Activations[0];
        var (cam, lh, lw) = GradientMethods.Cam(value, shape, gradient, 1, layerCam: false);
        var (_, h, w, _) = Axes();
        GradientMethods.Resize(cam, 1, lh, lw, h, w).CopyTo(map);
    }

    /// <summary>Gradient × input of cos(v_self, v_other) with respect to this sample's input, summed over channels.</summary>
    void Attribute(float[] x, float[] self, float[] other, float cosine, Span<float> map)
    {
        var seeds = Seeds(self, other, cosine, _lookup != null ? x : null);
        if (_lookup != null)
        {
            // Token ids: the gradient is taken at the embedding output, and the map is gradient × embedding summed per token.
            _graph.Tokens = x;
            var buffer = new float[(_lookup.FixedBatch ?? 1) * x.Length];
            x.CopyTo(buffer, 0);
            using var r = _lookup.Run(buffer, 1);
            x = r[0].GetTensorDataAsSpan<float>()[..(x.Length * _graph.Embedding!.Dimension)].ToArray();
        }
        var grad = _graph.Run((float[])x.Clone(), new float[_graph.OutputShape.Aggregate(1L, (q, r) => q * r)], 1, seeds).InputGradient;
        var (ch, h, w, first) = Axes();
        int plane = h * w;
        for (int pix = 0; pix < plane; pix++)
        {
            float v = 0;
            for (int c = 0; c < ch; c++) { int i = first ? c * plane + pix : pix * ch + c; v += grad[i] * x[i]; }
            map[pix] = v;
        }
    }

    /// <summary>
    /// ∂cos(v_self, v_other)/∂(each perception layer's activation), one seed per seeded tensor: back through the projection,
    /// the layers' weights and standard deviations, and the mean pooling (1/area on every position).
    /// </summary>
    /// <param name="ids">A text sample's token ids: a layer with one vector per token was pooled over those that are not
    /// padding (when the run says so), so only they get a share of the gradient.</param>
    float[][] Seeds(float[] self, float[] other, float cosine, float[]? ids = null)
    {
        bool[]? kept = ids != null && _run.Manifest.Text is { MaskedPooling: true } text ? ids.Select(id => id != text.PadId).ToArray() : null;
        int keptCount = kept?.Count(k => k) ?? 0;
        var layers = _run.Manifest.Perception.Layers;
        // ∂cos/∂v = other/(|v||o|) − cos · v/|v|².
        double ns = Math.Sqrt(self.Sum(v => (double)v * v)), no = Math.Sqrt(other.Sum(v => (double)v * v));
        var dv = new float[self.Length];
        for (int i = 0; i < dv.Length; i++) dv[i] = (float)(other[i] / Math.Max(ns * no, 1e-300) - cosine * self[i] / Math.Max(ns * ns, 1e-300));
        var p = _run.Manifest.Perception;
        var dz = dv;
        if (p.Projected)
        {
            dz = new float[p.ConcatenatedWidth];
            new SparseRandomProjection(p.ConcatenatedWidth, p.Width, p.Seed).ProjectTranspose(dv, dz);
        }
        var seeds = _graph.ExtraSeeds.Select(s => new float[s.Shape.Aggregate(1L, (q, r) => q * r)]).ToArray();
        int offset = 0;
        for (int l = 0; l < layers.Count; l++)
        {
            var layer = layers[l];
            var stats = _stats[l];
            int e = Array.IndexOf(_tensors, layer.Tensor);
            var shape = _graph.ExtraSeeds[e].Shape;
            bool channelsLast = _model.FindLayer(layer.Name).ChannelsLast;
            int channels = layer.Width;
            long perSample = shape.Aggregate(1L, (q, r) => q * r);
            int spatial = (int)(perSample / channels);
            // Pooled over the tokens kept (PerceptionPass.PadId): 1/kept on each of them, nothing on padding.
            bool masked = kept != null && channelsLast && shape.Length == 2 && shape[0] == kept.Length; // [tokens, D]: no batch axis
            for (int c = 0; c < channels; c++)
            {
                float std = stats[channels + c];
                float g = std > PerceptionVectorBuilder.ConstantFeatureStd ? dz[offset + c] * layer.Weight / std / (masked ? Math.Max(1, keptCount) : spatial) : 0f;
                for (int s = 0; s < spatial; s++)
                    if (!masked || kept![s]) seeds[e][channelsLast ? s * channels + c : c * spatial + s] += g;
            }
            offset += channels;
        }
        return seeds;
    }

    /// <summary>
    /// ∂cos(v_a, v_b)/∂(each recorded tensor of sample a's forward pass), by tensor name: the seeds the backward pass starts
    /// from (<see cref="Seeds"/>), for tests to hold against finite differences.
    /// </summary>
    internal Dictionary<string, float[]> LayerGradients(int a, int b)
    {
        lock (_gate)
        {
            var (va, vb, cosine, _) = Pair(a, b, SimilarityOverlay.Gradient, null);
            var seeds = Seeds(va, vb, cosine, _lookup != null ? ReadInput(a) : null);
            return _tensors.Select((t, i) => (t, i)).ToDictionary(p => p.t, p => seeds[p.i]);
        }
    }

    /// <summary>Channels, height, width and order of the maps' input: an image's, a vector's (1 × features) or a text's (1 × tokens, the embedding's dimensions as channels).</summary>
    (int C, int H, int W, bool First) Axes() => _graph.Embedding is { } e ? (e.Dimension, 1, _pre.InputLength, false)
        : _pre.InputShape.Length == 1 ? (1, 1, _pre.InputShape[0], true) : Preprocessor.ImageAxes(_pre.InputShape, InputLayout.Auto);

    public void Dispose()
    {
        _graph.Dispose();
        foreach (var g in _camGraphs.Values) g.Dispose();
        _lookup?.Dispose();
        _dataset.Dispose();
        _embedding.Dispose();
    }
}
