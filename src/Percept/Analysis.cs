using System.Diagnostics;
using Percept.Data;
using Percept.Model;
using Percept.Neighbors;
using Percept.Perception;
using Percept.Projection;
using Percept.Store;

namespace Percept;

/// <summary>
/// The spine of Percept: runs a model over every sample of a dataset and stores a run — per-sample results, logits,
/// probabilities, each perception layer's pooled activations, the perception vectors and their map — in a folder that
/// appears only when complete. Each stage lives in its own folder; this class only calls them in order:
/// read (Data) → run the model (Model) → perceive (Perception) → store (Store) → neighbours (Neighbors) → map (Projection)
/// → insights (Insights).
/// </summary>
/// <example>
/// <code>
/// var run = Analysis.Run(new AnalysisOptions
/// {
///     ModelPath = "models/fmnist-cnn/epoch-5.onnx",
///     Data = new DataSource { Path = "data/fashion-mnist/t10k-images-idx3-ubyte.gz", LabelsPath = "data/fashion-mnist/t10k-labels-idx1-ubyte.gz" },
///     OutputDirectory = "runs/fmnist",
/// });
/// using var vectors = run.Open(PerceptionFields.Embedding);
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
        Action<string>? warn = null, CancellationToken cancellationToken = default) =>
        Analyse(options, null, progress, warn, cancellationToken);

    /// <summary>
    /// Runs the model over one shard's slice of the dataset (<paramref name="shard"/>) and stores a shard at the output
    /// folder: its samples' rows, outputs and pooled layers, and each layer's statistics per segment, for
    /// <c>Cluster.ShardMerge</c> to make the run of the whole dataset from all the shards. Like a run, the shard
    /// appears only when complete.
    /// </summary>
    /// <exception cref="PerceptException">A problem with the model, the data, the options or the shard's numbers.</exception>
    public static Run Shard(AnalysisOptions options, ShardSpec shard, IProgress<AnalysisProgress>? progress = null,
        Action<string>? warn = null, CancellationToken cancellationToken = default) =>
        Analyse(options, shard, progress, warn, cancellationToken);

    static Run Analyse(AnalysisOptions options, ShardSpec? shard, IProgress<AnalysisProgress>? progress,
        Action<string>? warn, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        Validate(options);

        // Model: its input, its output and the layers to perceive.
        var model = OnnxModel.Load(options.ModelPath, options.Data.PadId());
        var input = model.SelectInput(options.InputName);
        string output = model.SelectOutput(options.OutputName);
        if (input.Shape.Length < 2)
            throw new PerceptException($"model input '{input.Name}' has shape {input.ShapeText}; Percept needs a batch axis first");
        int[] modelSample = input.Shape.Skip(1).Select(d => d > 0 ? (int)d : -1).ToArray();
        var layers = PerceptionPass.ChooseLayers(model, options.Layers);
        var fetch = PerceptionPass.Fetches(output, layers, options.Pooling, out int[] layerFetch);
        var metadata = options.MetadataPath != null ? new MetadataFile(options.MetadataPath) : null;

        // Data, read and preprocessed ahead of the model.
        using var dataset = options.Data.Open(modelSample, options.Preprocess, warn);
        if (dataset.Count == 0) throw new PerceptException($"dataset {options.Data.Path} has no samples");
        if (options.Map.Initial is { } initial && initial.Rows != dataset.Count)
            throw new PerceptException($"the map to start from has {initial.Rows} points; the dataset has {dataset.Count}");
        var embedding = model.FindTokenEmbedding(input);
        // A text model's vocabulary size goes into the preprocessing (and so into the run's source, for reading it again).
        if (embedding != null) options = options with { Preprocess = options.Preprocess with { TokenVocabulary = embedding.VocabularySize } };
        // Texts first: a tokenizer for a model that takes no token ids, or not this model's, is said as such.
        var vocabulary = dataset is TextDataset texts ? TokenizerVocabulary(texts, embedding, options.Data.TokenizerPath!) : null;
        var preprocessor = new Preprocessor(dataset.Format, modelSample, options.Preprocess);
        if (options.Data.VocabularyPath != null && embedding == null)
            throw new PerceptException($"{Terms.Option("vocab")} applies to models that take token ids; this model's input takes numbers");
        if (options.Data.VocabularyPath is { } vp) vocabulary = ReadVocabulary(vp, embedding!, warn);
        if ((dataset as TextDataset)?.TruncationWarning is { } truncated) warn?.Invoke(truncated);
        layers = PerceptionPass.KeepBatchFirst(model, input, preprocessor.InputShape, layers, explicitly: options.Layers is { Count: > 0 }, warn);
        fetch = PerceptionPass.Fetches(output, layers, options.Pooling, out layerFetch);
        long batchBytes = (long)options.BatchSize * preprocessor.InputLength * sizeof(float);
        if (batchBytes > MaxBatchBytes)
            throw new PerceptException($"{Terms.Option("batch-size")} {options.BatchSize} needs {batchBytes / (double)(1L << 30):F1} GiB for one batch of inputs alone; use at most {MaxBatchBytes / (preprocessor.InputLength * sizeof(float)):N0}");

        // The files the run is made from, fingerprinted while the model runs, so that a moved run finds them again.
        var sources = Task.Run(() => SourceFiles(options), cancellationToken);

        // Perceive, writing into the run as it goes; then the vectors, while the samples table is finished.
        using var writer = new RunWriter(options.OutputDirectory, options.Overwrite, warn);
        var table = writer.CreateSamples(PerceptionFields.Columns);
        PerceptionPass pass;
        PerceptionVectorBuilder vectors;
        IReadOnlyList<string> metadataColumns;
        RunManifest.ShardSection? slice = null;
        using (var runner = new ModelRunner(model, input, preprocessor.InputShape, fetch, options.Threads))
        {
            int batchSize = runner.FixedBatch ?? options.BatchSize;
            // Statistics are gathered per segment of whole batches, and a shard is made of whole segments, so that the
            // merged shards' statistics (and so their perception vectors) are the single pass's, bit for bit.
            int segment = PerceptionPass.SegmentLength(batchSize);
            var (start, count) = (0, dataset.Count);
            if (shard is { } spec)
            {
                (start, count) = spec.Slice(dataset.Count, segment);
                slice = new RunManifest.ShardSection(spec.Index, spec.Count, start, count, dataset.Count, batchSize, segment);
            }
            pass = new PerceptionPass(writer, table, layers, options.Pooling, dataset.ClassNames, dataset.Split, namesMustMatch: options.Data.ClassNamesPath != null)
            {
                RowOffset = start, Segment = segment, KeepSegments = shard != null,
                PadId = input.IsTokenIds ? options.Data.PadId() : null,
            };
            var source = shard == null ? dataset : new DatasetSlice(dataset, start, count);
            if (count > 0)
                pass.Run(runner, model, output, options.OutputKind, layerFetch, BatchPrefetcher.Read(source, preprocessor, batchSize, cancellationToken),
                    count, progress, cancellationToken);
        }
        using var passOwner = pass;
        var stages = new Dictionary<string, double> { ["model"] = Math.Round(clock.Elapsed.TotalSeconds, 3) };
        double mark = clock.Elapsed.TotalSeconds;
        void Stage(string name) { stages[name] = Math.Round(clock.Elapsed.TotalSeconds - mark, 3); mark = clock.Elapsed.TotalSeconds; }
        // A text model's run (or shard) keeps its vocabulary and says how its inputs are tokens.
        RunManifest WithText(RunManifest m)
        {
            if (embedding == null) return m;
            if (vocabulary != null) writer.WriteDocument(PerceptionFields.Vocabulary, string.Join('\n', vocabulary));
            var texts = dataset as TextDataset;
            return m with { Text = new RunManifest.TextSection(preprocessor.InputLength, embedding.Tensor, embedding.VocabularySize, embedding.Dimension, vocabulary != null,
                texts?.PadId ?? 0, texts?.Truncated ?? 0, MaskedPooling: true) };
        }
        if (pass.Rows == 0 && slice is { SliceCount: 0 } empty)
            throw new PerceptException($"shard {empty.Index + 1} of {empty.Count} has no samples: {dataset.Count:N0} samples make {(dataset.Count + empty.Segment - 1) / empty.Segment} segments of {empty.Segment:N0}; use fewer shards");
        if (pass.Rows == 0) throw new PerceptException($"no sample of {options.Data.Path} could be read");
        if (pass.NonFiniteOutputs > 0)
            warn?.Invoke($"{pass.NonFiniteOutputs} of {pass.Rows} samples have NaN or infinite model outputs (first: sample {pass.FirstNonFiniteOutput}); they have no prediction or loss and count in no total");
        if (pass.NonFiniteFeatures > 0)
            warn?.Invoke($"{pass.NonFiniteFeatures} of {pass.Rows} samples have NaN or infinite layer activations (first: sample {pass.FirstNonFiniteFeatures}); they are left out of the feature statistics and the map");
        if (slice != null)
        {
            // A shard: its rows (metadata is joined by the merge, as one pass would), outputs, layers and statistics.
            writer.FinishSamplesAsync(pass.Rows, [], warn).GetAwaiter().GetResult();
            ShardStatistics.Write(writer, pass);
            int skippedHere = dataset is ISkippingDataset folder ? folder.Skipped : 0;
            var shardManifest = Manifest(options, model, input, output, dataset, preprocessor, metadata, [], pass, null, null, null, skippedHere, clock.Elapsed,
                sources.GetAwaiter().GetResult()) with { Shard = slice with { Rows = pass.Rows, Labelled = pass.Labelled, Correct = pass.CorrectCount, LossSum = pass.LossSum,
                    NonFiniteOutputs = pass.NonFiniteOutputs, NonFiniteFeatures = pass.NonFiniteFeatures } };
            shardManifest = WithText(shardManifest);
            ShardStatistics.ExportRows(writer.Stage(shardManifest with { Stages = stages }));
            return writer.Commit(shardManifest with { Stages = stages, ElapsedSeconds = Math.Round(clock.Elapsed.TotalSeconds, 3) });
        }
        // The dataset's own fields (a manifest's or a table's other columns) join first, then the user's metadata file.
        var joins = new[] { MetadataFile.FieldsOf(dataset, options.Data.Path), metadata }.OfType<MetadataFile>().ToArray();
        var samples = writer.FinishSamplesAsync(pass.Rows, joins, warn);
        try
        {
            vectors = PerceptionVectors.Write(writer, pass.Layers.Select(l => l.Name).ToArray(), pass.LayerFields, pass.Stats, pass.Rows,
                options.MaxWidth, options.Seed, options.Threads, progress, cancellationToken);
        }
        finally { metadataColumns = samples.GetAwaiter().GetResult(); }
        Stage("vectors");

        var spaceField = options.MapSpace == MapSpace.Perception ? PerceptionFields.Embedding
            : pass.IsClassScores ? PerceptionFields.Logits
            : pass.OutputWidth > 0 ? PerceptionFields.Outputs
            : throw new PerceptException($"{Terms.Option("map-space")} output needs a float output: the model's output is not one");
        var (neighbors, map) = NeighboursAndMap(writer, options.Map, options.Threads, Stage, progress, warn, cancellationToken, spaceField);
        int skipped = dataset is ISkippingDataset images ? images.Skipped : 0;
        if (skipped > 0) warn?.Invoke($"skipped {skipped} image(s) that failed to decode (set {Terms.Option("strict")} to stop on the first)");

        // Store: the manifest, then the run appears.
        var manifest = Manifest(options, model, input, output, dataset, preprocessor, metadata, metadataColumns, pass, vectors, neighbors, map, skipped, clock.Elapsed,
            sources.GetAwaiter().GetResult());
        manifest = WithText(manifest);
        return InsightsAndCommit(writer, manifest, options.Insights, options.OutputDirectory, stages, clock, Stage, progress, warn, cancellationToken);
    }

    /// <summary>
    /// The neighbour graph of the perception vectors the writer holds, once (the map, its quality, insights, the history
    /// of a training and Fetch Similar read it), then the map made of it.
    /// </summary>
    /// <param name="spaceField">What the graph and map are made of: the perception vectors (default), or the model's outputs or logits.</param>
    internal static (RunManifest.NeighborsSection? Neighbors, RunManifest.MapSection? Map) NeighboursAndMap(RunWriter writer, MapOptions mapOptions, int threads,
        Action<string> stage, IProgress<AnalysisProgress>? progress, Action<string>? warn, CancellationToken cancellationToken, Field? spaceField = null)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var seed = mapOptions.Seed;
        mapOptions = mapOptions with { Threads = mapOptions.Threads > 0 ? mapOptions.Threads : threads };
        bool ownSpace = spaceField != null && spaceField.Name != PerceptionFields.Embedding.Name;
        using var perceptionVectors = writer.Open(ownSpace ? spaceField! : PerceptionFields.Embedding);
        var (space, spaceName) = NeighborSpace.Of(perceptionVectors, seed, mapOptions.Threads, cancellationToken);
        // Another space than the perception vectors is named for its field, and always stored as the graph's space.
        if (ownSpace) spaceName = spaceName == NeighborSpace.Vectors ? spaceField!.Name : $"{spaceName} of {spaceField!.Name}";
        var graphOptions = new NeighborGraphOptions { K = Maps.GraphNeighbors(mapOptions), Threads = mapOptions.Threads };
        var graph = mapOptions is { Landmarks: > 0, LandmarkGraph: true }
            ? NeighborGraph.BuildFromLandmarks(space, spaceName, graphOptions, mapOptions.Landmarks, seed, progress, cancellationToken)
            : NeighborGraph.Build(space, spaceName, graphOptions, progress, cancellationToken);
        // The map is made of the graph, so it is measured against the same neighbourhoods.
        mapOptions = mapOptions with { Metric = graphOptions.Metric };
        if (graph is { } g) NeighborGraph.Write(writer, g.Graph, spaceName == NeighborSpace.Vectors ? null : space);
        stage("neighbors");

        cancellationToken.ThrowIfCancellationRequested();
        var map = MapStage.Build(writer, perceptionVectors, space, graph?.Graph, mapOptions, progress, warn, cancellationToken);
        stage("map");
        return (graph?.Section, map);
    }

    /// <summary>
    /// Insights, from the run as it stands in its work folder, so that they appear with it (a failure there is a warning:
    /// 'percept insights RUN' computes them later; Ctrl+C leaves no run, as anywhere else), then the run moves into place.
    /// </summary>
    internal static Run InsightsAndCommit(RunWriter writer, RunManifest manifest, bool insights, string outputDirectory, Dictionary<string, double> stages,
        Stopwatch clock, Action<string> stage, IProgress<AnalysisProgress>? progress, Action<string>? warn, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (insights && manifest.Neighbors != null)
        {
            progress?.Report(new AnalysisProgress("insights", 0, 1));
            var staged = writer.Stage(manifest);
            try { Insights.InsightsStore.Write(writer, Insights.PopulationInsights.Compute(staged, cancellationToken: cancellationToken)); }
            catch (PerceptException e) { warn?.Invoke($"insights left out ({e.Message}); {Terms.Command("insights", outputDirectory)} computes them"); }
            progress?.Report(new AnalysisProgress("insights", 1, 1));
            stage("insights");
        }
        return writer.Commit(manifest with { Stages = stages, ElapsedSeconds = Math.Round(clock.Elapsed.TotalSeconds, 3) });
    }

    /// <summary>The largest batch of model inputs an analysis holds (several are in flight while the next is read).</summary>
    const long MaxBatchBytes = 1L << 30;

    /// <summary>Checks the options that need no file, so that a mistake is reported before any work.</summary>
    static void Validate(AnalysisOptions options)
    {
        if (options.BatchSize <= 0) throw new PerceptException($"{Terms.Option("batch-size")} must be positive");
        if (options.MaxWidth < 0) throw new PerceptException($"{Terms.Option("max-width")} must be zero or positive");
        if (string.IsNullOrWhiteSpace(options.OutputDirectory)) throw new PerceptException($"{Terms.Option("out")} is empty: name a folder for the run");
        var map = options.Map;
        if (map.Method != MapMethod.None)
        {
            if (map.Dimensions < 1) throw new PerceptException($"{Terms.Option("map-dims")} {map.Dimensions}: a map has at least 1 dimension");
            if (map.Dimensions > 3 && map.Method != MapMethod.Pca) throw new PerceptException($"{Terms.Option("map-dims")} {map.Dimensions}: maps have 1 to 3 dimensions (PCA more)");
            if (map.Method == MapMethod.Tsne && map.Dimensions != 2) throw new PerceptException($"t-SNE makes 2-D maps; use {Terms.Option("map-dims")} 2, or UMAP for 3-D");
        }
        // Replacing a run deletes its folder: never when the model or the data live in it. And a run inside an image
        // folder would be read as a class of it by the next analysis.
        string target = Path.GetFullPath(options.OutputDirectory.TrimEnd('/', '\\'));
        static bool Inside(string path, string folder) => Path.GetFullPath(path).StartsWith(folder + Path.DirectorySeparatorChar, StringComparison.Ordinal);
        foreach (var (what, path) in new[] { ("the model", options.ModelPath), ("the data", options.Data.Path), ("the labels", options.Data.LabelsPath),
                     ("the class names", options.Data.ClassNamesPath), ("the tokenizer", options.Data.TokenizerPath), ("the metadata", options.MetadataPath) })
            if (path != null && (Inside(path, target) || Path.GetFullPath(path).TrimEnd('/', '\\') == target))
                throw new PerceptException($"{what} ({path}) lies inside {Terms.Option("out")} {options.OutputDirectory}, which the run would replace; write the run elsewhere");
        if (Directory.Exists(options.Data.Path) && Inside(target, Path.GetFullPath(options.Data.Path).TrimEnd('/', '\\')))
            throw new PerceptException($"{Terms.Option("out")} {options.OutputDirectory} lies inside the image folder {options.Data.Path}; the next analysis of that folder would read the run as a class");
    }

    static RunManifest Manifest(AnalysisOptions options, OnnxModel model, ModelInput input, string output, IDataset dataset, Preprocessor preprocessor,
        MetadataFile? metadata, IReadOnlyList<string> metadataColumns, PerceptionPass pass, PerceptionVectorBuilder? vectors,
        RunManifest.NeighborsSection? neighbors, RunManifest.MapSection? map, int skipped, TimeSpan elapsed, IReadOnlyList<RunManifest.SourceFile> files)
    {
        var layers = pass.Layers.Select((l, i) => new RunManifest.LayerEntry(l.Name, l.NodeName, l.OpType, l.ActivationTensor!,
            pass.Stats[i].Features, vectors?.LayerWeights[i] ?? 0, pass.LayerFields[i].Name, PerceptionFields.LayerStats.Member(l.Name).Name)).ToArray();
        bool scored = pass.Labelled > 0 && pass.IsClassScores;
        return new RunManifest
        {
            Created = DateTimeOffset.UtcNow,
            PerceptVersion = Version,
            Model = new RunManifest.ModelSection(Path.GetFullPath(options.ModelPath), RunSources.Relative(options.ModelPath, options.OutputDirectory),
                RunSources.Fingerprint(options.ModelPath), input.Name,
                input.Shape, output, pass.OutputShape, pass.IsClassScores ? (pass.IsProbability ? "probabilities" : "logits") : pass.IsEmbedding ? "embedding" : "other",
                model.Opset, model.Producer),
            Data = new RunManifest.DataSection(dataset.Description, Path.GetFullPath(options.Data.Path),
                options.Data.LabelsPath is { } lp ? Path.GetFullPath(lp) : null, metadata?.Path, dataset.Split,
                (int)pass.Rows, skipped, dataset.HasLabels, preprocessor.Description, metadataColumns),
            Source = new RunManifest.SourceSection(options.Data with
            {
                Path = Path.GetFullPath(options.Data.Path),
                LabelsPath = options.Data.LabelsPath is { } labels ? Path.GetFullPath(labels) : null,
                ClassNamesPath = options.Data.ClassNamesPath is { } names ? Path.GetFullPath(names) : null,
                TokenizerPath = options.Data.TokenizerPath is { } tokenizer ? Path.GetFullPath(tokenizer) : null,
            }, options.Preprocess, files),
            Classes = dataset.ClassNames,
            NumClasses = pass.NumClasses,
            Perception = new RunManifest.PerceptionSection(options.Pooling.ToString().ToLowerInvariant(), options.MaxWidth, options.Seed,
                vectors?.ConcatenatedWidth ?? 0, vectors?.Width ?? 0, vectors != null && vectors.Width != vectors.ConcatenatedWidth, layers),
            Neighbors = neighbors,
            Map = map,
            Summary = new RunManifest.SummarySection(scored ? (double)pass.CorrectCount / pass.Labelled : null,
                scored ? pass.LossSum / pass.Labelled : null, (int)pass.Labelled),
            ElapsedSeconds = Math.Round(elapsed.TotalSeconds, 3),
        };
    }

    /// <summary>One token per line, line number = id (blank lines are tokens too: the line keeps its id).</summary>
    static string[] ReadVocabulary(string path, TokenEmbedding embedding, Action<string>? warn)
    {
        if (!File.Exists(path)) throw new PerceptException($"file not found: {path}");
        var lines = File.ReadAllLines(path);
        if (lines.Length == 0) throw new PerceptException($"vocabulary {path} is empty; it needs one token per line");
        if (lines.Length < embedding.VocabularySize)
            warn?.Invoke($"vocabulary {path} has {lines.Length} tokens; the model's embedding has {embedding.VocabularySize} rows (ids past the file are shown as #id)");
        return lines;
    }

    /// <summary>
    /// The tokenizer's tokens as the run's vocabulary (one a line; a token the tokenizer leaves out is a blank line), once
    /// its ids are known to fit the model's embedding.
    /// </summary>
    static string[] TokenizerVocabulary(TextDataset texts, TokenEmbedding? embedding, string path)
    {
        if (embedding == null)
            throw new PerceptException($"{Terms.Option("tokenizer")} applies to models that take token ids; this model's input takes numbers");
        if (texts.Vocabulary.Count > embedding.VocabularySize)
            throw new PerceptException($"tokenizer {path} has {texts.Vocabulary.Count:N0} token ids; the model's embedding has {embedding.VocabularySize:N0} rows: it is not this model's tokenizer");
        return texts.Vocabulary.Select(t => t?.Replace('\n', ' ').Replace('\r', ' ') ?? "").ToArray();
    }

    /// <summary>The data files an analysis reads, described for its manifest (a run's relocation).</summary>
    static IReadOnlyList<RunManifest.SourceFile> SourceFiles(AnalysisOptions options) =>
        new[] { ("data", options.Data.Path), ("labels", options.Data.LabelsPath), ("classes", options.Data.ClassNamesPath), ("tokenizer", options.Data.TokenizerPath) }
            .Where(f => f.Item2 != null).Select(f => RunSources.Describe(f.Item1, f.Item2!, options.OutputDirectory)).ToArray();
}
