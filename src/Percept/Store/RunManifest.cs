using System.Text.Json;
using System.Text.Json.Serialization;

namespace Percept.Store;

/// <summary>The contents of a run's <c>run.json</c>: what was analysed, how, and the fields it holds. See docs/run-format.md.</summary>
public sealed record RunManifest
{
    public const string FormatName = "percept-run";
    /// <summary>2: fields recorded by the schema (version 1 named files by hand).</summary>
    public const int CurrentVersion = 2;

    public string Format { get; init; } = FormatName;
    public int Version { get; init; } = CurrentVersion;
    public required DateTimeOffset Created { get; init; }
    public required string PerceptVersion { get; init; }
    public required ModelSection Model { get; init; }
    public required DataSection Data { get; init; }
    /// <summary>How to read the samples again exactly as analysed.</summary>
    public SourceSection? Source { get; init; }
    /// <summary>Class names (index = class), or null when neither the data nor the user named them.</summary>
    public IReadOnlyList<string>? Classes { get; init; }
    /// <summary>Number of classes of the class-score output; 0 when the output is not a class-score vector.</summary>
    public int NumClasses { get; init; }
    public required PerceptionSection Perception { get; init; }
    /// <summary>The run's neighbour graph: how it was built and how good it is; null when the run has none.</summary>
    public NeighborsSection? Neighbors { get; init; }
    /// <summary>The similarity map, or null when the run has none.</summary>
    public MapSection? Map { get; init; }
    /// <summary>Every field the run holds, as the stages declared and wrote them.</summary>
    public IReadOnlyList<FieldEntry> Fields { get; init; } = [];
    public SummarySection? Summary { get; init; }
    /// <summary>Seconds per stage of the analysis: model (reading the data and running the model), vectors, neighbors, map, insights.</summary>
    public IReadOnlyDictionary<string, double>? Stages { get; init; }
    /// <summary>Set when the model takes token ids (a text model); null for every other input.</summary>
    public TextSection? Text { get; init; }
    /// <summary>Set when the folder is one shard of an analysis (<c>percept analyze --shard</c>), not a run: <c>percept merge</c> makes the run.</summary>
    public ShardSection? Shard { get; init; }
    public double ElapsedSeconds { get; init; }

    /// <param name="Path">Where the model was (absolute).</param>
    /// <param name="RelativePath">The same, relative to the run's folder, when the model sat inside or beside it: found again when both move together.</param>
    public sealed record ModelSection(string Path, string? RelativePath, string Sha256, string Input, long[] InputShape, string Output, long[] OutputShape,
        string OutputKind, long Opset, string Producer);
    public sealed record DataSection(string Description, string Path, string? Labels, string? Metadata, string Split, int Count, int Skipped, bool HasLabels,
        string Preprocessing, IReadOnlyList<string> MetadataColumns);
    /// <param name="Files">The files the data were read from, each with where it was, relative to the run when it sat beside it, and its fingerprint.</param>
    public sealed record SourceSection(Data.DataSource Data, Data.PreprocessOptions Preprocess, IReadOnlyList<SourceFile>? Files = null);
    /// <summary>A file (or image folder) the analysis read: <paramref name="Role"/> <c>data</c>, <c>labels</c> or <c>classes</c>.</summary>
    /// <param name="Sha256">Of the file's bytes; for a folder, of its files' relative paths and sizes.</param>
    public sealed record SourceFile(string Role, string Path, string? RelativePath, string Sha256, long Bytes);
    public sealed record PerceptionSection(string Pooling, int MaxWidth, ulong Seed, int ConcatenatedWidth, int Width, bool Projected, IReadOnlyList<LayerEntry> Layers);
    /// <param name="Field">The layer's pooled activations (a field of the run); <paramref name="StatsField"/>: their means and standard deviations.</param>
    public sealed record LayerEntry(string Name, string Node, string Op, string Tensor, int Width, float Weight, string Field, string StatsField);
    /// <param name="Space">What the graph's distances are measured on (<c>embedding</c>, or <c>pca-50</c>: the vectors' first 50 principal components).</param>
    /// <param name="Recall">The graph's recall@K against exact neighbours in that space, measured on <paramref name="RecallSample"/> samples (1 when exact).</param>
    public sealed record NeighborsSection(int K, string Metric, string Space, int SpaceDimensions, bool Exact, double Recall, int RecallSample, double Seconds)
    {
        /// <summary>When the neighbours are the nearest of this many landmarks only (a graph past one machine's memory), else 0.</summary>
        public int Landmarks { get; init; }
    }
    public sealed record MapSection(string Method, int Dimensions, int Neighbors, float MinDist, ulong Seed,
        double Trustworthiness, double KnnPreservation, int QualityK, int QualitySample, double Seconds)
    {
        /// <summary>The samples the map was fitted on when the others were placed on it (0: all were fitted).</summary>
        public int Landmarks { get; init; }
        /// <summary>Only the landmarks are placed yet: <c>percept place</c> places the others, in shards.</summary>
        public bool Unplaced { get; init; }
    }
    public sealed record SummarySection(double? Accuracy, double? MeanLoss, int Labelled);
    /// <summary>A model that takes token ids: the sequence length, its embedding lookup, and whether the run keeps a vocabulary.</summary>
    /// <summary>
    /// What a shard's manifest records about its slice: which shard of how many, the slice of the dataset (start, samples
    /// asked, rows delivered), the batch and statistics segment it was made with, and its part of the run's summary.
    /// </summary>
    /// <param name="Index">0-based.</param>
    /// <param name="DatasetCount">The whole dataset's samples.</param>
    public sealed record ShardSection(int Index, int Count, int Start, int SliceCount, int DatasetCount, int BatchSize, int Segment)
    {
        public long Rows { get; init; }
        public long Labelled { get; init; }
        public long Correct { get; init; }
        public double LossSum { get; init; }
        public long NonFiniteOutputs { get; init; }
        public long NonFiniteFeatures { get; init; }
    }
    /// <param name="PadId">The id that pads the texts (the tokenizer's; 0 for ids given as a <c>.npy</c>).</param>
    /// <param name="Truncated">Texts cut to <paramref name="Tokens"/> by the tokenizer.</param>
    /// <param name="MaskedPooling">Whether layers with one vector per token were pooled over the tokens that are not padding
    /// (runs made before this was so pooled every position, padding too).</param>
    public sealed record TextSection(int Tokens, string Embedding, int VocabularySize, int Dimension, bool Vocabulary, int PadId = 0, int Truncated = 0,
        bool MaskedPooling = false);

    internal static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Reads and checks a manifest.</summary>
    /// <exception cref="PerceptException">Not a manifest, or one of a format this Percept does not read.</exception>
    internal static RunManifest Read(string path, string runName)
    {
        RunManifest m;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("format", out var f) || f.GetString() != FormatName)
                throw new PerceptException($"{path} is not a Percept run manifest");
            int version = root.TryGetProperty("version", out var v) && v.TryGetInt32(out int n) ? n : 0;
            if (version > CurrentVersion)
                throw new PerceptException($"run {runName} has format version {version}; this Percept reads up to {CurrentVersion}");
            if (version < CurrentVersion)
                throw new PerceptException($"run {runName} was written by an earlier Percept (format version {version}); analyse it again to read it with this one");
            m = root.Deserialize<RunManifest>(Json) ?? throw new PerceptException($"{path} is empty");
        }
        catch (JsonException e) { throw new PerceptException($"{path} is not a valid Percept run manifest: {e.Message.Split('\n')[0]}"); }
        return m;
    }
}
