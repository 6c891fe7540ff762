using Percept.Data;
using Percept.Perception;
using Percept.Store;

namespace Percept.Cli.Commands;

/// <summary><c>percept analyze</c>: the CLI face of <see cref="Analysis"/>.</summary>
public static class AnalyzeCommand
{
    public static readonly CommandSpec Spec = new()
    {
        Name = "analyze",
        Summary = "run an ONNX model over a dataset and store a run (results, layer activations, perception vectors, map)",
        Synopsis = ["percept analyze --model MODEL.onnx --data DATA --out RUN [options]",
                    "percept analyze --checkpoints DIR|A.onnx B.onnx … --data DATA --out TRAINING [options]   (one run per epoch, maps aligned)",
                    "percept analyze --model MODEL.onnx --data DATA --shard I/N|auto --out SHARD [options]   (one shard of a cluster's array job; 'percept merge' makes the run)"],
        Description = "Runs the model over every sample and writes a run folder (see docs/run-format.md).",
        Options =
        [
            new("model", "MODEL.onnx", "the model", "Model"),
            new("checkpoints", "DIR|A.onnx …", "a training's checkpoints, one per epoch: a folder's *.onnx in natural order (epoch2 before epoch10), or files in the order given; --out is then a training folder (docs/run-format.md)", "Model", Many: true),
            new("input", "NAME", "model input to feed when there are several", "Model"),
            new("output", "NAME", "output with class scores (default: the first)", "Model"),
            new("output-kind", "auto|logits|probabilities|embedding", "how to read the output (default auto: an embedding when it is a pooled or normalised feature vector, else class scores, probabilities when the graph ends in Softmax)", "Model"),
            new("map-space", "perception|output", "what the neighbour graph and the map are made of: the perception vectors (default), or the model's own output (an embedding model's embedding, a classifier's logits)", "Map"),
            new("batch-size", "N", "samples per run (default 256)", "Model"),
            new("threads", "N", "ONNX Runtime threads (default: all cores)", "Model"),
            new("data", "PATH", "IDX file (.gz or plain), .npy array, .csv/.tsv table, a manifest of image paths (.csv, .tsv, .jsonl), a Parquet file or folder of Parquet files, an Arrow IPC file (.arrow), or a folder with one sub-folder per class", "Data"),
            new("labels", "PATH", "labels: an IDX label file or a .npy vector of integers, whatever the data's format", "Data"),
            new("label-column", "NAME", "label column of a CSV table, manifest, Parquet or Arrow file (default: 'label' if present; Parquet: also the Hugging Face ClassLabel feature)", "Data"),
            new("image-column", "NAME", "column of the samples: a manifest's image paths, or a Parquet/Arrow column of encoded images or lists of numbers (default: found by its values, or the Hugging Face Image feature)", "Data"),
            new("classes", "FILE", "class names, one per line", "Data"),
            new("vocab", "FILE", "text models (token-id inputs): one token per line, line number = id, to show samples as text", "Data"),
            new("text-column", "NAME", "text models: the column of texts in a CSV, TSV, JSONL, Parquet or Arrow table, tokenized with --tokenizer", "Data"),
            new("tokenizer", "FILE", "text models: the model's Hugging Face tokenizer.json (WordPiece, BPE, Unigram) or BERT vocab.txt; its tokens become the run's vocabulary", "Data"),
            new("max-length", "N", "text models: token ids per text when the model's sequence length is free (default 128); longer texts are cut (and counted in a warning), shorter padded", "Data"),
            new("metadata", "FILE", "CSV or Parquet with an 'index' or 'id' column; its columns join the samples table", "Data"),
            new("split", "NAME", "split stored with each sample (default: from the file name, else 'all')", "Data"),
            new("strict", null, "stop on an image that fails to decode, or a manifest's missing file (default: skip it with a warning)", "Data"),
            new("size", "N", "image size when the model's input size is free", "Data"),
            new("scale", "X", "multiply raw values first (default 1/255 for bytes, 1 otherwise; '1/255' works)", "Preprocessing"),
            new("mean", "A[,B,C]", "per-channel mean to subtract", "Preprocessing"),
            new("std", "A[,B,C]", "per-channel standard deviation to divide by", "Preprocessing"),
            new("layout", "auto|nchw|nhwc", "where the channels are (default: from the model's input shape)", "Preprocessing"),
            new("color", "auto|gray|rgb|bgr", "colour mode of images (default: from the model's input shape; bgr: three channels in BGR order, as Caffe's and CNTK's exports take them)", "Preprocessing"),
            new("layers", "A,B", "layers to record (default: every layer with learned parameters; see 'percept layers')", "Perception vectors"),
            new("pooling", "mean|max", "how spatial axes are reduced (default mean)", "Perception vectors"),
            new("max-width", "N", "random-project vectors wider than N (default 4096; 0 = never)", "Perception vectors"),
            new("seed", "N", "seed of the projection and the map (default 0)", "Perception vectors"),
            .. MapSpecs,
            new("map-from", "RUN", "start the map from RUN's map of the same samples and align to it (checkpoints)", "Map"),
            new("insights", "auto|none", "find close classes, suspected mislabels, rare variants, duplicates, weak clusters and outliers once the run is written (default auto; see 'percept insights')", "Output"),
            new("shard", "I/N|auto", "run the model over the I-th of N slices of the data only (1 ≤ I ≤ N) and write a shard to --out; auto: the scheduler's array task (SLURM_ARRAY_TASK_ID of SLURM_ARRAY_TASK_COUNT, or Kubernetes' JOB_COMPLETION_INDEX with --shard-count); 'percept merge' makes the run (docs/scale.md)", "Cluster"),
            new("shard-count", "N", "the number of shards, for --shard auto where the scheduler does not say (a Kubernetes Indexed Job's completions)", "Cluster"),
            new("out", "RUN", "the run folder", "Output"),
            new("overwrite", null, "replace an existing run", "Output"),
        ],
        Run = Run,
    };

    public static int Run(Arguments a, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        if (a.Positional.Count > 0) throw new UsageException($"unexpected argument '{a.Positional[0]}'");
        if (a.Has("checkpoints"))
        {
            if (a.Has("model")) throw new UsageException("give --model or --checkpoints, not both");
            if (a.Has("map-from")) throw new UsageException("--map-from does not apply to --checkpoints: each epoch's map starts from the previous epoch's");
            var checkpoints = Training.FindCheckpoints(a.GetAll("checkpoints"));
            var template = Options(a, checkpoints[0]);
            if (a.Has("overwrite") && Training.IsTraining(template.OutputDirectory)) Directory.Delete(template.OutputDirectory, true);
            var training = AnalyseTraining(checkpoints, template, stdout, stderr, ct);
            stdout.WriteLine($"training: {template.OutputDirectory}, {training.Epochs.Count} epochs");
            return CommandLine.Ok;
        }
        var options = Options(a, a.Require("model")) with { Overwrite = a.Has("overwrite") };
        if (a.Get("shard") is { } shardText)
        {
            if (a.Has("map-from")) throw new UsageException("--map-from does not apply to a shard: give it to 'percept merge'");
            if (a.Has("map-space")) throw new UsageException("--map-space does not apply to a shard: a merged run's graph and map are made of its perception vectors");
            var shard = Data.ShardSpec.Parse(shardText, a.GetInt("shard-count"), Environment.GetEnvironmentVariable);
            var warnings = new Warnings(stderr, deferred: ConsoleProgress.Interactive);
            Run written;
            try { written = ConsoleProgress.Run(p => Analysis.Shard(options, shard, p, warnings.Add, ct), stdout); }
            finally { warnings.Flush(); }
            var s = written.Manifest.Shard!;
            stdout.WriteLine($"shard {s.Index + 1} of {s.Count}: {written.Directory}, samples {s.Start:N0} to {s.Start + s.SliceCount - 1:N0} ({s.Rows:N0} rows) of {s.DatasetCount:N0}");
            return CommandLine.Ok;
        }
        if (a.Has("shard-count")) throw new UsageException("--shard-count goes with --shard auto");
        if (a.Get("map-from") is { } previous)
        {
            var prior = RunFolders.Open(previous);
            var layout = prior.ReadMatrix(Projection.MapFields.Map);
            options = options with { Map = options.Map with { Initial = layout, AlignTo = layout, Dimensions = layout.Columns } };
        }
        var run = Execute(options, stdout, stderr, ct);
        PrintSummary(run, stdout);
        return CommandLine.Ok;
    }

    /// <summary>Analyses checkpoints as the epochs of a training, with console progress; shared with <c>watch</c>.</summary>
    internal static TrainingManifest AnalyseTraining(IReadOnlyList<string> checkpoints, AnalysisOptions template, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        TrainingManifest? manifest = null;
        foreach (var checkpoint in checkpoints)
        {
            var warnings = new Warnings(stderr, deferred: ConsoleProgress.Interactive);
            try { manifest = ConsoleProgress.Run(p => Training.AnalyseNext(checkpoint, template, stdout.WriteLine, p, warnings.Add, ct), stdout); }
            finally { warnings.Flush(); }
        }
        return manifest!;
    }

    /// <summary>The analysis the options describe, of <paramref name="model"/>.</summary>
    internal static AnalysisOptions Options(Arguments a, string model)
    {
        var options = new AnalysisOptions
        {
            ModelPath = model,
            Data = new DataSource
            {
                Path = a.Require("data"),
                LabelsPath = a.Get("labels"),
                LabelColumn = a.Get("label-column"),
                ImageColumn = a.Get("image-column"),
                ClassNamesPath = a.Get("classes"),
                VocabularyPath = a.Get("vocab"),
                TextColumn = a.Get("text-column"),
                TokenizerPath = a.Get("tokenizer"),
                MaxLength = a.GetInt("max-length"),
                Split = a.Get("split"),
                Strict = a.Has("strict"),
                ImageSize = a.GetInt("size"),
            },
            OutputDirectory = a.Require("out"),
            InputName = a.Get("input"),
            OutputName = a.Get("output"),
            OutputKind = a.GetEnum("output-kind", OutputKind.Auto),
            MapSpace = a.GetEnum("map-space", MapSpace.Perception),
            Preprocess = new PreprocessOptions
            {
                Scale = a.GetFloat("scale"),
                Mean = a.GetFloats("mean"),
                Std = a.GetFloats("std"),
                Layout = a.GetEnum("layout", InputLayout.Auto),
                Color = a.GetEnum("color", ColorMode.Auto),
            },
            Layers = a.Get("layers")?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries),
            Pooling = a.GetEnum("pooling", PoolingMode.Mean),
            MaxWidth = a.GetInt("max-width") ?? 4096,
            Seed = (ulong)(a.GetInt("seed") ?? 0),
            BatchSize = a.GetInt("batch-size") ?? 256,
            Threads = a.GetInt("threads") ?? 0,
            Insights = (a.Get("insights") ?? "auto") switch
            {
                "auto" => true,
                "none" => false,
                var other => throw new UsageException($"--insights takes auto or none, not '{other}'"),
            },
            MetadataPath = a.Get("metadata"),
            Map = MapOptions(a),
        };
        return options;
    }

    /// <summary>The options of the map (shared with <c>merge</c>), read by <see cref="MapOptions"/>.</summary>
    internal static OptionSpec[] MapSpecs =>
    [
        new("map", "auto|umap|pca|tsne|none", "similarity map of the perception vectors (default auto: UMAP, PCA for tiny sets)", "Map"),
        new("map-dims", "N", "map dimensions (default 2)", "Map"),
        new("perplexity", "P", "t-SNE perplexity (default 30)", "Map"),
        new("iterations", "N", "t-SNE iterations after early exaggeration (default 500); UMAP epochs (default 200, or 500 up to 10,000 samples)", "Map"),
        new("map-landmarks", "N", "UMAP on more samples: fit the map on N of them (seeded) and place the others (docs/scale.md; default: fit all)", "Map"),
        new("landmark-graph", null, "with --map-landmarks: the neighbour graph is each sample's nearest landmarks, for sets past one machine's memory for a full graph", "Map"),
    ];

    /// <summary>The map the options describe (shared with <c>merge</c>).</summary>
    internal static Projection.MapOptions MapOptions(Arguments a) => new()
    {
        Method = a.GetEnum("map", Projection.MapMethod.Auto),
        Dimensions = a.GetInt("map-dims") ?? 2,
        Seed = (ulong)(a.GetInt("seed") ?? 0),
        Perplexity = a.GetFloat("perplexity") is float pp ? (pp > 0 ? pp : throw new UsageException("--perplexity must be positive")) : 30,
        Iterations = a.GetInt("iterations") is int it ? (it > 0 ? it : throw new UsageException("--iterations must be positive")) : 0,
        Landmarks = a.GetInt("map-landmarks") is int l ? (l >= 100 ? l : throw new UsageException("--map-landmarks must be at least 100")) : 0,
        LandmarkGraph = a.Has("landmark-graph") && (a.Has("map-landmarks") ? true : throw new UsageException("--landmark-graph goes with --map-landmarks")),
    };

    /// <summary>Runs an analysis with console progress and warnings; shared with <c>demo</c>.</summary>
    internal static Run Execute(AnalysisOptions options, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        var warnings = new Warnings(stderr, deferred: ConsoleProgress.Interactive);
        try { return ConsoleProgress.Run(p => Analysis.Run(options, p, warnings.Add, ct), stdout); }
        finally { warnings.Flush(); }
    }

    internal static void PrintSummary(Run run, TextWriter stdout)
    {
        var m = run.Manifest;
        stdout.WriteLine($"run: {run.Directory}");
        stdout.WriteLine($"samples: {m.Data.Count}{(m.Data.Skipped > 0 ? $" ({m.Data.Skipped} skipped)" : "")}, perception vector: {m.Perception.Width} dims from {m.Perception.Layers.Count} layers ({string.Join(", ", m.Perception.Layers.Select(l => $"{l.Name} {l.Width}"))}){(m.Perception.Projected ? $", projected from {m.Perception.ConcatenatedWidth}" : "")}");
        if (m.Summary?.Accuracy is double acc)
            stdout.WriteLine($"accuracy: {acc:P2} on {m.Summary.Labelled} labelled samples, mean loss {m.Summary.MeanLoss:F4}");
        else if (m.NumClasses == 0 && m.Model.OutputKind == "embedding")
            stdout.WriteLine($"output '{m.Model.Output}' is an embedding ({string.Join(" × ", m.Model.OutputShape.Skip(1))}), not class scores: no accuracy or loss; kept as the 'outputs' field" +
                (m.Summary?.Labelled > 0 ? $"; {m.Summary.Labelled} labels drive neighbour agreement and the label cards" : "") +
                " (if these are class scores, --output-kind logits says so)");
        else if (m.NumClasses == 0)
            stdout.WriteLine($"output '{m.Model.Output}' is not a class-score vector: no probabilities or loss; perception vectors recorded");
        if (m.Map is { Unplaced: true } waiting)
            stdout.WriteLine($"map: {waiting.Method} {waiting.Dimensions}-D fitted on {waiting.Landmarks:N0} landmarks in {waiting.Seconds:F1}s; 'percept place' places the other samples");
        else if (m.Map is { } map)
            stdout.WriteLine($"map: {map.Method} {map.Dimensions}-D in {map.Seconds:F1}s, trustworthiness@{map.QualityK} {map.Trustworthiness:F3}, k-NN preservation {map.KnnPreservation:F3}");
        stdout.WriteLine($"time: {m.ElapsedSeconds:F1}s ({m.Data.Count / Math.Max(1e-9, m.ElapsedSeconds):N0} samples/s)" +
                         (m.Stages is { Count: > 0 } stages ? $"; stages: {string.Join(", ", stages.Select(s => $"{s.Key} {s.Value:F1}s"))}" : ""));
    }

    /// <summary>Collects warnings; many skip messages are folded into a count.</summary>
    sealed class Warnings(TextWriter stderr, bool deferred)
    {
        const int MaxShown = 10;
        readonly List<string> _pending = [];
        int _shown, _folded;

        public void Add(string message)
        {
            lock (_pending)
            {
                if (_shown >= MaxShown && message.StartsWith("skipped ", StringComparison.Ordinal) && !message.Contains("image(s)")) { _folded++; return; }
                _shown++;
                if (deferred) _pending.Add(message); else stderr.WriteLine($"warning: {message}");
            }
        }

        public void Flush()
        {
            foreach (var m in _pending) stderr.WriteLine($"warning: {m}");
            if (_folded > 0) stderr.WriteLine($"warning: … and {_folded} more skipped file(s)");
            _pending.Clear();
        }
    }
}
