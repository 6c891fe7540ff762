using System.Collections.Concurrent;
using Percept.Attribution;
using Percept.Neighbors;
using Percept.Report;
using Percept.Store;

namespace Percept.Server;

/// <summary>
/// One run served by the dashboard: its reader (fields, columns, rows, inputs), a neighbour index over its perception
/// vectors (prepared once), and, on first use, explainers for heat maps and similarity maps with their results kept.
/// </summary>
public sealed class RunEntry : IDisposable
{
    readonly Lazy<RunExplainer> _explainer;
    readonly Lazy<SimilarityExplainer> _similarity;
    readonly Lazy<SimilarSamples> _neighbors;
    readonly ConcurrentDictionary<(int Sample, string Method, string? Layer), SampleExplanation> _explanations = new();
    readonly ConcurrentQueue<(int Sample, string Method, string? Layer)> _explained = new();

    /// <summary>Explanations kept in memory (their heat-map pictures stay in the picture cache): enough for the samples a user is looking at.</summary>
    public const int KeptExplanations = 64;

    public string Id { get; }
    public Run Run { get; }
    public RunReader Reader { get; }

    /// <summary>Bytes of pictures kept per run unless the server is told otherwise.</summary>
    public const long DefaultCacheBytes = 64L << 20;

    /// <summary>Where computed thumbnails and heat maps are kept: <c>cache/</c> in the run, or a temporary folder when the run is read-only.</summary>
    public string CacheDirectory => _cache.Value;

    /// <summary>The run's drawn pictures, bounded in bytes (least recently used deleted first).</summary>
    public PngCache Cache => _pngs.Value;
    readonly Lazy<PngCache> _pngs;
    readonly Lazy<string> _cache;

    public RunEntry(string id, Run run, long cacheBytes = DefaultCacheBytes)
    {
        _pngs = new Lazy<PngCache>(() => new PngCache(CacheDirectory, cacheBytes));
        Id = id;
        Run = run;
        Reader = new RunReader(run);
        _explainer = new Lazy<RunExplainer>(() => new RunExplainer(run), LazyThreadSafetyMode.ExecutionAndPublication);
        _similarity = new Lazy<SimilarityExplainer>(() => new SimilarityExplainer(run), LazyThreadSafetyMode.ExecutionAndPublication);
        _neighbors = new Lazy<SimilarSamples>(() => new SimilarSamples(run), LazyThreadSafetyMode.ExecutionAndPublication);
        // Made on first use, so reading a run (a report) leaves it untouched.
        _cache = new Lazy<string>(run.CacheDirectory);
        _camLayers = new Lazy<IReadOnlyList<string>>(() => ReadCamLayers(run));
        _similarityCam = new Lazy<string?>(() => ReadSimilarityCamLayer(run));
        _training = new Lazy<string?>(() => FindTraining(run));
    }

    /// <summary>
    /// Layers Grad-CAM and LayerCAM can read (<see cref="AttributionMethods.CamLayers"/>), read from the run's model on first
    /// use; none when the model has moved or gives no class scores. For a run with <see cref="ClassMeanMaps"/>, those up to the last
    /// convolution its perception vectors depend on.
    /// </summary>
    public IReadOnlyList<string> CamLayers => _camLayers.Value;
    readonly Lazy<IReadOnlyList<string>> _camLayers;

    static IReadOnlyList<string> ReadCamLayers(Run run)
    {
        if (run.Sources[0].Found is not { } model) return [];
        bool classMeans = HasClassMeanMaps(run.Manifest);
        if (run.Manifest.NumClasses < 2 && !classMeans || run.Manifest.Text != null && classMeans) return [];
        try
        {
            var onnx = Percept.Model.OnnxModel.Load(model);
            var layers = AttributionMethods.CamLayers(onnx).Select(l => l.Name).ToList();
            if (!classMeans) return layers;
            // Class-mean maps differentiate the perception vectors: a convolution after the last recorded layer gets no gradient.
            string? last = Percept.Attribution.Similarity.DefaultCamLayer(onnx, run.Manifest)?.Name;
            return last == null ? [] : layers.Take(layers.IndexOf(last) + 1).ToArray();
        }
        catch (PerceptException) { return []; }
    }

    /// <summary>
    /// The convolution Fetch Similar's coarse maps read (<see cref="Percept.Attribution.Similarity.DefaultCamLayer"/>), or null: a text model, a
    /// model without one at or before its last perception layer, or a model that has moved.
    /// </summary>
    public string? SimilarityCamLayer => _similarityCam.Value;
    readonly Lazy<string?> _similarityCam;

    static string? ReadSimilarityCamLayer(Run run)
    {
        if (run.Manifest.Text != null || run.Sources[0].Found is not { } model) return null;
        try { return Percept.Attribution.Similarity.DefaultCamLayer(Percept.Model.OnnxModel.Load(model), run.Manifest)?.Name; }
        catch (PerceptException) { return null; }
    }

    /// <summary>The training folder this run is an epoch of (percept analyze --checkpoints), or null.</summary>
    public string? TrainingDirectory => _training.Value;
    readonly Lazy<string?> _training;

    static string? FindTraining(Run run)
    {
        string? root = Path.GetDirectoryName(Path.GetDirectoryName(Path.GetFullPath(run.Directory)));
        if (root == null || !Percept.Training.IsTraining(root)) return null;
        try
        {
            return Percept.Training.Open(root).Epochs.Any(e => Path.GetFullPath(Path.Combine(root, e.Run)) == Path.GetFullPath(run.Directory)) ? root : null;
        }
        catch (PerceptException) { return null; }
    }

    /// <summary>Sample <paramref name="sample"/>'s loss, prediction and correctness per epoch of its training (NaN / −1 for none), or null.</summary>
    public (float[] Loss, float[] Prediction, float[] Correct)? History(int sample)
    {
        if (TrainingDirectory is not { } root) return null;
        float[] Row(string name)
        {
            var history = _histories.GetOrAdd(name, n => Percept.Training.ReadHistory(root, n));
            return history == null || sample >= history.Rows ? [] : history.Row(sample).ToArray();
        }
        return (Row("loss_history"), Row("prediction_history"), Row("correct_history"));
    }
    readonly ConcurrentDictionary<string, Matrix?> _histories = new();

    /// <summary>A sample's heat maps for every class and the loss, computed once per method and layer.</summary>
    public SampleExplanation Explain(int sample, string method, string? layer) =>
        _explanations.TryGetValue((sample, method, layer), out var kept) ? kept : Keep((sample, method, layer));

    SampleExplanation Keep((int Sample, string Method, string? Layer) key)
    {
        // The maps are what the pages need; the raw per-channel gradients are not kept.
        var explanation = _explainer.Value.Explain(key.Sample, key.Method, key.Layer) with { Raw = null, RawShape = null };
        if (_explanations.TryAdd(key, explanation)) _explained.Enqueue(key);
        // Bounded: the oldest are let go (each request recomputes or reads its pictures from the cache).
        while (_explanations.Count > KeptExplanations && _explained.TryDequeue(out var oldest)) _explanations.TryRemove(oldest, out _);
        return explanation;
    }

    /// <summary>
    /// Whether the run's heat maps are of classes' mean directions (<see cref="SimilarityExplainer.ExplainClassMeans"/>): a
    /// model without class scores (an embedding model) whose run has labels and mean-pooled perception vectors.
    /// </summary>
    public bool ClassMeanMaps => HasClassMeanMaps(Run.Manifest);

    static bool HasClassMeanMaps(RunManifest m) => m.NumClasses < 2 && m.Data.HasLabels && m.Perception.Pooling == "mean";

    readonly ConcurrentDictionary<(int Sample, string Method, string? Layer), (AttributionResult Result, string? Layer)> _classMeans = new();
    readonly ConcurrentQueue<(int Sample, string Method, string? Layer)> _classMeansKept = new();

    /// <summary>
    /// A sample's heat maps as the dashboard shows them: every class and the loss for a classifier (<see cref="Explain"/>);
    /// for a run with <see cref="ClassMeanMaps"/>, what makes the sample like each class's mean direction, Grad-CAM of the
    /// cosine at <paramref name="layer"/> for <paramref name="method"/> gradcam, gradient × input otherwise. Kept as
    /// <see cref="Explain"/> keeps its results.
    /// </summary>
    public (AttributionResult Result, string? Layer) Heatmaps(int sample, string method, string? layer)
    {
        if (!ClassMeanMaps)
        {
            var ex = Explain(sample, method, layer);
            return (ex.Result, ex.Layer);
        }
        var key = (sample, method, layer);
        if (_classMeans.TryGetValue(key, out var kept)) return kept;
        var overlay = method == AttributionMethods.GradCam.Name ? SimilarityOverlay.GradCam : SimilarityOverlay.Gradient;
        var explainer = _similarity.Value;
        string? camLayer = overlay == SimilarityOverlay.GradCam ? explainer.CamLayer(layer) : null;
        var made = (explainer.ExplainClassMeans(sample, null, overlay, camLayer).Maps, camLayer);
        if (_classMeans.TryAdd(key, made)) _classMeansKept.Enqueue(key);
        while (_classMeans.Count > KeptExplanations && _classMeansKept.TryDequeue(out var oldest)) _classMeans.TryRemove(oldest, out _);
        return made;
    }

    /// <summary>What makes samples a and b alike, with the run's model and data kept open between requests.</summary>
    /// <param name="overlay">Gradient × input, or Grad-CAM at the last convolution (<see cref="CamLayers"/>' last).</param>
    public (AttributionResult Maps, float Cosine, float[] Inputs) Similarity(int a, int b,
        SimilarityOverlay overlay = SimilarityOverlay.Gradient) => _similarity.Value.Explain(a, b, overlay);

    /// <summary>What in sample <paramref name="b"/> makes it like <paramref name="a"/>: the neighbour's map alone (Fetch Similar's overlays).</summary>
    public AttributionResult SimilarityOf(int a, int b, SimilarityOverlay overlay) => _similarity.Value.ExplainNeighbour(a, b, overlay);

    /// <summary>The <paramref name="k"/> samples nearest to <paramref name="sample"/> in perception space (the run's graph, ranked by cosine), most similar first.</summary>
    public (int Index, float Similarity)[] Nearest(int sample, int k) => _neighbors.Value.Nearest(sample, k);

    public void Dispose()
    {
        if (_explainer.IsValueCreated) _explainer.Value.Dispose();
        if (_similarity.IsValueCreated) _similarity.Value.Dispose();
        if (_neighbors.IsValueCreated) _neighbors.Value.Dispose();
        Reader.Dispose();
    }
}
