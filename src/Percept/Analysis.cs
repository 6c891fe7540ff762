using System.Collections.Concurrent;
using System.Diagnostics;
using System.Numerics.Tensors;
using System.Security.Cryptography;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Percept.Data;
using Percept.IO;
using Percept.Model;
using Percept.Neighbors;
using Percept.Perception;
using Percept.Projection;
using Percept.Store;

namespace Percept;

/// <summary>
/// The spine of Percept: runs a model over every sample of a dataset and stores a run — per-sample results, logits,
/// probabilities, each perception layer's pooled activations and the perception vectors — in a folder that appears
/// only when complete.
/// </summary>
/// <example>
/// <code>
/// var run = Analysis.Run(new AnalysisOptions
/// {
///     ModelPath = "models/fmnist-cnn/epoch-5.onnx",
///     Data = new DataSource { Path = "data/fashion-mnist/t10k-images-idx3-ubyte.gz", LabelsPath = "data/fashion-mnist/t10k-labels-idx1-ubyte.gz" },
///     OutputDirectory = "runs/fmnist",
/// });
/// float[] embedding = run.ReadMatrix("embedding", out int rows, out int width);
/// </code>
/// </example>
public static class Analysis
{
    /// <summary>Version written into every run.</summary>
    public static string Version => typeof(Analysis).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    /// <summary>Runs the analysis on a background thread.</summary>
    public static Task<Run> RunAsync(AnalysisOptions options, IProgress<AnalysisProgress>? progress = null,
        Action<string>? warn = null, CancellationToken cancellationToken = default) =>
        Task.Run(() => Run(options, progress, warn, cancellationToken), cancellationToken);

    /// <summary>Analyses the dataset with the model and returns the finished run.</summary>
    /// <param name="options">Model, data, output folder and perception options.</param>
    /// <param name="progress">Receives progress per batch.</param>
    /// <param name="warn">Receives one-line warnings (skipped images, unmatched metadata, a stale partial run).</param>
    /// <param name="cancellationToken">Cancels the analysis; nothing is left at the output folder.</param>
    /// <exception cref="PerceptException">A problem with the model, the data or the options.</exception>
    public static Run Run(AnalysisOptions options, IProgress<AnalysisProgress>? progress = null,
        Action<string>? warn = null, CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        if (options.BatchSize <= 0) throw new PerceptException("--batch-size must be positive");
        if (options.MaxWidth < 0) throw new PerceptException("--max-width must be zero or positive");

        var model = OnnxModel.Load(options.ModelPath);
        var input = model.SelectInput(options.InputName);
        string output = model.SelectOutput(options.OutputName);
        if (input.Shape.Length < 2)
            throw new PerceptException($"model input '{input.Name}' has shape {input.ShapeText}; Percept needs a batch axis first");
        int[] modelSample = input.Shape.Skip(1).Select(d => d > 0 ? (int)d : -1).ToArray();
        var layers = ChooseLayers(model, options.Layers);
        var metadata = options.MetadataPath != null ? new MetadataFile(options.MetadataPath) : null;

        using var dataset = options.Data.Open(modelSample, options.Preprocess, warn);
        if (dataset.Count == 0) throw new PerceptException($"dataset {options.Data.Path} has no samples");
        if (options.Map.Initial is { } initial && initial.Rows != dataset.Count)
            throw new PerceptException($"the map to start from has {initial.Rows} points; the dataset has {dataset.Count}");
        var preprocessor = new Preprocessor(dataset.Format, modelSample, options.Preprocess);

        // Conv activations are pooled inside the graph (ONNX Runtime then returns [N, C, 1, 1] instead of whole
        // feature maps); other layers come back as they are and are pooled here.
        var fetch = new List<Fetch> { new(output) };
        var layerFetches = layers.Select(l => new Fetch(l.ActivationTensor!, PoolsInGraph(l) ? GraphPoolingFor(options.Pooling) : GraphPooling.None)).ToArray();
        foreach (var f in layerFetches) if (!fetch.Contains(f)) fetch.Add(f);
        int[] layerFetch = layerFetches.Select(f => fetch.IndexOf(f)).ToArray();

        using var folder = new RunFolder(options.OutputDirectory, options.Overwrite, warn);
        // The samples database is created while ONNX Runtime builds its session, and closed while the vectors are built.
        var tableTask = Task.Run(() => new SampleTable(folder.PathOf("samples.duckdb")));
        RunManifest.PerceptionSection perception;
        var state = new PassState(folder, layers, options.Pooling, dataset.ClassNames, dataset.Split);
        try
        {
            using var runner = new ModelRunner(model, input, preprocessor.InputShape, fetch, options.Threads);
            int batchSize = runner.FixedBatch ?? options.BatchSize;
            state.Table = tableTask.GetAwaiter().GetResult();
            try
            {
                foreach (var batch in Prefetch(dataset, preprocessor, batchSize, cancellationToken))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    using (var results = runner.Run(batch.Input, batch.Count))
                        state.Consume(model, output, options.OutputKind, results, layerFetch, batch);
                    progress?.Report(new AnalysisProgress("analyze", state.Rows, dataset.Count));
                    batch.Release();
                }
            }
            finally { state.CloseWriters(); }
            if (state.Rows == 0) throw new PerceptException($"no sample of {options.Data.Path} could be read");
            var table = state.Table;
            var finish = Task.Run(() =>
            {
                try { return table.Finish(metadata, warn); }
                finally { table.Dispose(); }
            });
            try { perception = BuildVectors(folder, state, options, progress, cancellationToken); }
            finally { state.MetadataColumns = finish.GetAwaiter().GetResult(); }
        }
        finally
        {
            // Observe the task whatever happened, so the database is closed before the work folder is removed.
            try { tableTask.GetAwaiter().GetResult().Dispose(); } catch (Exception) when (state.Table == null) { }
        }

        cancellationToken.ThrowIfCancellationRequested();
        var map = BuildMap(folder, options.Map with { Threads = options.Map.Threads > 0 ? options.Map.Threads : options.Threads }, progress, warn, cancellationToken);
        int skipped = dataset is ImageFolderDataset images ? images.Skipped : 0;
        if (skipped > 0) warn?.Invoke($"skipped {skipped} image(s) that failed to decode (use --strict to stop on the first)");

        var files = new Dictionary<string, string> { ["samples"] = "samples.duckdb", ["embedding"] = "embedding.npy" };
        if (map != null) { files["map"] = map.File; files["map_preservation"] = map.PreservationFile; }
        if (state.IsClassScores) { files["logits"] = "logits.npy"; files["probabilities"] = "probabilities.npy"; }
        else files["outputs"] = "outputs.npy";
        var manifest = new RunManifest
        {
            Created = DateTimeOffset.UtcNow,
            PerceptVersion = Version,
            Model = new RunManifest.ModelSection(Path.GetFullPath(options.ModelPath), Sha256(options.ModelPath), input.Name,
                input.Shape, output, state.OutputShape, state.IsClassScores ? (state.IsProbability ? "probabilities" : "logits") : "other",
                model.Opset, model.Producer),
            Data = new RunManifest.DataSection(dataset.Description, Path.GetFullPath(options.Data.Path),
                options.Data.LabelsPath is { } lp ? Path.GetFullPath(lp) : null, metadata?.Path, dataset.Split,
                (int)state.Rows, skipped, dataset.HasLabels, preprocessor.Description, state.MetadataColumns),
            Source = new RunManifest.SourceSection(options.Data with
            {
                Path = Path.GetFullPath(options.Data.Path),
                LabelsPath = options.Data.LabelsPath is { } labels ? Path.GetFullPath(labels) : null,
                ClassNamesPath = options.Data.ClassNamesPath is { } names ? Path.GetFullPath(names) : null,
            }, options.Preprocess),
            Classes = dataset.ClassNames,
            NumClasses = state.NumClasses,
            Perception = perception,
            Map = map,
            Files = files,
            Summary = new RunManifest.SummarySection(state.Labelled > 0 && state.IsClassScores ? (double)state.CorrectCount / state.Labelled : null,
                state.Labelled > 0 && state.IsClassScores ? state.LossSum / state.Labelled : null, (int)state.Labelled),
            ElapsedSeconds = Math.Round(clock.Elapsed.TotalSeconds, 3),
        };
        File.WriteAllText(folder.PathOf("run.json"), manifest.ToJson());
        cancellationToken.ThrowIfCancellationRequested();
        folder.Commit();
        return Store.Run.Open(folder.FinalPath);
    }

    static List<LayerInfo> ChooseLayers(OnnxModel model, IReadOnlyList<string>? names)
    {
        if (names == null || names.Count == 0)
        {
            var all = model.PerceptionLayers.ToList();
            if (all.Count == 0) throw new PerceptException("the model has no layers with learned parameters; choose layers with --layers");
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

    /// <summary>The similarity map of the perception vectors, with its quality figures (per point too).</summary>
    static RunManifest.MapSection? BuildMap(RunFolder folder, MapOptions options, IProgress<AnalysisProgress>? progress, Action<string>? warn,
        CancellationToken cancellationToken)
    {
        int rows = (int)Npy.ReadHeader(folder.PathOf("embedding.npy")).Shape[0];
        var method = Maps.Resolve(options.Method, rows, options.Neighbors);
        if (method == MapMethod.None)
        {
            if (options.Method == MapMethod.Auto) warn?.Invoke($"{rows} samples are too few for a map; the run has none");
            return null;
        }
        var vectors = Npy.ReadFloat32(folder.PathOf("embedding.npy"), out var shape);
        var x = new Matrix(vectors, (int)shape[0], (int)shape[1]);
        if (options.Initial != null && options.Initial.Rows != x.Rows)
            throw new PerceptException($"the map to start from has {options.Initial.Rows} points; this run has {x.Rows}");
        var clock = Stopwatch.StartNew();
        progress?.Report(new AnalysisProgress("map", 0, 1));
        var result = Maps.Make(x, options with { Method = method }, cancellationToken);
        Npy.Write(folder.PathOf("map.npy"), result.Coordinates.Data, result.Coordinates.Rows, result.Coordinates.Columns);
        int k = Math.Min(10, x.Rows - 1);
        var graph = result.Graph ?? NNDescent.Build(x, k, options.Metric, new NNDescentOptions { Seed = options.Seed, Threads = options.Threads });
        var perPoint = MapQuality.PerPointPreservation(graph, result.Coordinates, k, options.Seed, options.Threads);
        Npy.Write(folder.PathOf("map_preservation.npy"), perPoint, perPoint.Length);
        var q = x.Rows >= 3 * k + 2 ? MapQuality.Evaluate(x, result.Coordinates, k, 5000, options.Seed, options.Metric, options.Threads) : null;
        progress?.Report(new AnalysisProgress("map", 1, 1));
        return new RunManifest.MapSection(result.Method.ToString().ToLowerInvariant(), result.Coordinates.Columns,
            options.Neighbors, options.MinDist, options.Seed, "map.npy", "map_preservation.npy",
            q?.Trustworthiness ?? double.NaN, q?.KnnPreservation ?? double.NaN, k, q?.SampleSize ?? 0, Math.Round(clock.Elapsed.TotalSeconds, 3));
    }

    static bool PoolsInGraph(LayerInfo layer) => !layer.ChannelsLast && layer.OpType is "Conv" or "ConvTranspose" or "ConvInteger" or "QLinearConv";

    static GraphPooling GraphPoolingFor(PoolingMode mode) => mode == PoolingMode.Max ? GraphPooling.GlobalMax : GraphPooling.GlobalAverage;

    static string Sha256(string path)
    {
        using var f = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(f));
    }

    /// <summary>A preprocessed batch ready for the model; its buffers go back to a small pool after use.</summary>
    sealed class PreparedBatch(int capacity, int inputLength, ConcurrentBag<PreparedBatch> pool)
    {
        public readonly float[] Input = new float[capacity * inputLength];
        public readonly int[] Labels = new int[capacity];
        public readonly string[] Ids = new string[capacity];
        public readonly float[] MeanIntensity = new float[capacity];
        public bool HasIntensity;
        public int Count;
        public void Release() => pool.Add(this);
    }

    /// <summary>Reads and preprocesses the next batches on a background thread while the model runs the current one.</summary>
    static IEnumerable<PreparedBatch> Prefetch(IDataset dataset, Preprocessor pre, int batchSize, CancellationToken ct)
    {
        var pool = new ConcurrentBag<PreparedBatch>();
        using var queue = new BlockingCollection<PreparedBatch>(boundedCapacity: 2);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        Exception? failure = null;
        int rawLength = dataset.Format.Length;
        bool isImage = dataset.Format.Kind == SampleKind.Image;
        float intensityScale = dataset.Format.IsBytes ? 1f / 255f : 1f;
        var producer = Task.Run(() =>
        {
            try
            {
                foreach (var raw in dataset.ReadBatches(batchSize, stop.Token))
                {
                    if (!pool.TryTake(out var b)) b = new PreparedBatch(batchSize, pre.InputLength, pool);
                    b.Count = raw.Count;
                    pre.Apply(raw.Values, rawLength, raw.Count, b.Input);
                    Array.Copy(raw.Labels, b.Labels, raw.Count);
                    Array.Copy(raw.Ids, b.Ids, raw.Count);
                    b.HasIntensity = isImage;
                    if (isImage)
                        for (int i = 0; i < raw.Count; i++)
                            b.MeanIntensity[i] = TensorPrimitives.Sum(raw.Values.AsSpan(i * rawLength, rawLength)) / rawLength * intensityScale;
                    queue.Add(b, stop.Token);
                }
            }
            catch (OperationCanceledException) { }
            catch (Exception e) { failure = e; }
            finally { queue.CompleteAdding(); }
        });
        try
        {
            foreach (var b in queue.GetConsumingEnumerable(ct)) yield return b;
            producer.Wait();
            if (failure != null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        }
        finally
        {
            stop.Cancel();
            try { producer.Wait(); } catch (AggregateException) { }
        }
    }

    /// <summary>What the first pass accumulates: writers, statistics and running totals.</summary>
    sealed class PassState(RunFolder folder, List<LayerInfo> layers, PoolingMode pooling, IReadOnlyList<string>? classNames, string split)
    {
        public SampleTable? Table;
        public long Rows, Labelled, CorrectCount;
        public double LossSum;
        public bool Initialised, IsClassScores, IsProbability;
        public int NumClasses, OutputWidth;
        public long[] OutputShape = [];
        public IReadOnlyList<string> MetadataColumns = [];
        public readonly List<LayerInfo> Layers = layers;
        public readonly PoolingMode PoolMode = pooling;
        public readonly string[] LayerFiles = UniqueFileNames(layers);
        public readonly FeatureStatistics[] Stats = new FeatureStatistics[layers.Count];
        readonly NpyWriter?[] _layerWriters = new NpyWriter?[layers.Count];
        float[][] _pooled = new float[layers.Count][];
        NpyWriter? _logits, _probabilities, _outputs;
        float[] _probRow = [], _logRow = [];

        static string[] UniqueFileNames(List<LayerInfo> layers)
        {
            var used = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            return layers.Select(l =>
            {
                string baseName = new string(l.Name.Select(c => char.IsLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '_').ToArray()).Trim('.');
                if (baseName.Length == 0) baseName = "layer";
                string name = baseName;
                for (int k = 2; !used.Add(name); k++) name = $"{baseName}_{k}";
                return $"layers/{name}";
            }).ToArray();
        }

        void Initialise(OnnxModel model, string output, OutputKind kind, IReadOnlyList<OrtValue> results, int[] layerFetch, int count)
        {
            Directory.CreateDirectory(folder.PathOf("layers"));
            var info = results[0].GetTensorTypeAndShape();
            OutputShape = [-1, .. info.Shape.Skip(1)];
            long perSample = info.Shape.Skip(1).Aggregate(1L, (a, b) => a * b);
            IsClassScores = info.ElementDataType == TensorElementType.Float && perSample >= 2 && info.Shape.Skip(1).Count(d => d != 1) == 1;
            if (IsClassScores)
            {
                NumClasses = (int)perSample;
                IsProbability = kind switch
                {
                    OutputKind.Probabilities => true,
                    OutputKind.Logits => false,
                    _ => model.IsProbabilityOutput(output) || RowsAreDistributions(results[0].GetTensorDataAsSpan<float>(), count, NumClasses),
                };
                _logits = new NpyWriter(folder.PathOf("logits.npy"), NpyType.Float32, [NumClasses]);
                _probabilities = new NpyWriter(folder.PathOf("probabilities.npy"), NpyType.Float32, [NumClasses]);
                _probRow = new float[NumClasses];
                _logRow = new float[NumClasses];
            }
            else if (info.ElementDataType == TensorElementType.Float)
            {
                OutputWidth = (int)perSample;
                _outputs = new NpyWriter(folder.PathOf("outputs.npy"), NpyType.Float32, [OutputWidth]);
            }
            for (int l = 0; l < Layers.Count; l++)
            {
                var li = results[layerFetch[l]].GetTensorTypeAndShape();
                if (li.ElementDataType != TensorElementType.Float)
                    throw new PerceptException($"layer '{Layers[l].Name}' produces {li.ElementDataType} tensors; only float layers can be recorded");
                int channels = Pooling.Channels(li.Shape, Layers[l].ChannelsLast);
                _pooled[l] = new float[li.Shape[0] * channels];
                _layerWriters[l] = new NpyWriter(folder.PathOf(LayerFiles[l] + ".npy"), NpyType.Float32, [channels]);
                Stats[l] = new FeatureStatistics(channels);
            }
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

        public void Consume(OnnxModel model, string output, OutputKind kind, IReadOnlyList<OrtValue> results, int[] layerFetch, PreparedBatch batch)
        {
            int count = batch.Count;
            if (!Initialised) Initialise(model, output, kind, results, layerFetch, count);
            var scores = results[0].GetTensorDataAsSpan<float>();
            for (int i = 0; i < count; i++)
            {
                int label = batch.Labels[i];
                var row = new SampleRow(Rows + i, batch.Ids[i], split, label >= 0 ? label : null, Name(label), null, null, null,
                    null, null, null, null, batch.HasIntensity ? batch.MeanIntensity[i] : null);
                if (IsClassScores)
                {
                    if (label >= NumClasses)
                        throw new PerceptException($"label {label} of sample {Rows + i} is outside the model's {NumClasses} classes");
                    var s = ClassScores.Compute(scores.Slice(i * NumClasses, NumClasses), IsProbability, label, _probRow);
                    _probabilities!.WriteRows(_probRow);
                    if (IsProbability)
                    {
                        for (int c = 0; c < NumClasses; c++) _logRow[c] = MathF.Log(MathF.Max(_probRow[c], ClassScores.MinProbability));
                        _logits!.WriteRows(_logRow);
                    }
                    else _logits!.WriteRows(scores.Slice(i * NumClasses, NumClasses));
                    bool? correct = label >= 0 ? s.Prediction == label : null;
                    row = row with
                    {
                        Prediction = s.Prediction, PredictionName = Name(s.Prediction), Correct = correct, Confidence = s.Confidence,
                        Margin = s.Margin, Entropy = s.Entropy, Loss = label >= 0 ? s.Loss : null,
                    };
                    if (label >= 0) { Labelled++; LossSum += s.Loss; if (correct == true) CorrectCount++; }
                }
                else _outputs?.WriteRows(scores.Slice(i * OutputWidth, OutputWidth));
                Table!.Append(row);
            }
            for (int l = 0; l < Layers.Count; l++)
            {
                var value = results[layerFetch[l]];
                var shape = value.GetTensorTypeAndShape().Shape;
                int channels = Stats[l].Features;
                var pooled = _pooled[l].AsSpan(0, count * channels);
                Pooling.Pool(value.GetTensorDataAsSpan<float>(), shape, Layers[l].ChannelsLast, PoolMode, count, pooled);
                _layerWriters[l]!.WriteRows(pooled);
                Stats[l].Add(pooled, count);
            }
            Rows += count;
        }

        string? Name(int cls) => cls >= 0 && classNames != null && cls < classNames.Count ? classNames[cls] : null;

        public void CloseWriters()
        {
            _logits?.Dispose(); _probabilities?.Dispose(); _outputs?.Dispose();
            foreach (var w in _layerWriters) w?.Dispose();
        }
    }

    /// <summary>Second pass: standardise, weight, concatenate (and project) the pooled blocks into embedding.npy.</summary>
    static RunManifest.PerceptionSection BuildVectors(RunFolder folder, PassState state, AnalysisOptions options,
        IProgress<AnalysisProgress>? progress, CancellationToken ct)
    {
        int layerCount = state.Layers.Count;
        var means = state.Stats.Select(s => s.Mean()).ToArray();
        var stds = state.Stats.Select(s => s.StandardDeviation()).ToArray();
        for (int l = 0; l < layerCount; l++)
        {
            var both = new float[2 * means[l].Length];
            means[l].CopyTo(both, 0);
            stds[l].CopyTo(both, means[l].Length);
            Npy.Write(folder.PathOf(state.LayerFiles[l] + ".stats.npy"), both, 2, means[l].Length);
        }
        var builder = new PerceptionVectorBuilder(means, stds, options.MaxWidth, options.Seed);
        var readers = state.LayerFiles.Select(f => new NpyRowReader(folder.PathOf(f + ".npy"))).ToArray();
        try
        {
            const int chunk = 1024;
            var buffers = state.Stats.Select(s => new float[chunk * s.Features]).ToArray();
            var blocks = new ReadOnlyMemory<float>[layerCount];
            var vector = new float[builder.Width];
            using var writer = new NpyWriter(folder.PathOf("embedding.npy"), NpyType.Float32, [builder.Width]);
            for (long start = 0; start < state.Rows; start += chunk)
            {
                ct.ThrowIfCancellationRequested();
                int n = (int)Math.Min(chunk, state.Rows - start);
                for (int l = 0; l < layerCount; l++) readers[l].ReadRowsAsFloat(start, n, buffers[l]);
                for (int r = 0; r < n; r++)
                {
                    for (int l = 0; l < layerCount; l++) blocks[l] = buffers[l].AsMemory(r * state.Stats[l].Features, state.Stats[l].Features);
                    builder.Build(blocks, vector);
                    writer.WriteRows(vector);
                }
                progress?.Report(new AnalysisProgress("vectors", start + n, state.Rows));
            }
        }
        finally { foreach (var r in readers) r.Dispose(); }
        var entries = state.Layers.Select((l, i) => new RunManifest.LayerEntry(l.Name, l.NodeName, l.OpType, l.ActivationTensor!,
            state.Stats[i].Features, builder.LayerWeights[i], state.LayerFiles[i] + ".npy", state.LayerFiles[i] + ".stats.npy")).ToArray();
        return new RunManifest.PerceptionSection(options.Pooling.ToString().ToLowerInvariant(), options.MaxWidth, options.Seed,
            builder.ConcatenatedWidth, builder.Width, builder.Width != builder.ConcatenatedWidth, entries);
    }
}
