using System.Text.Json;
using System.Text.Json.Serialization;

namespace Percept.Store;

/// <summary>The contents of a run's <c>run.json</c>: what was analysed, how, and where each result lies. See docs/run-format.md.</summary>
public sealed record RunManifest
{
    public const string FormatName = "percept-run";
    public const int CurrentVersion = 1;

    public string Format { get; init; } = FormatName;
    public int Version { get; init; } = CurrentVersion;
    public required DateTimeOffset Created { get; init; }
    public required string PerceptVersion { get; init; }
    public required ModelSection Model { get; init; }
    public required DataSection Data { get; init; }
    /// <summary>How to read the samples again exactly as analysed (null in runs written before it existed).</summary>
    public SourceSection? Source { get; init; }
    /// <summary>Class names (index = class), or null when neither the data nor the user named them.</summary>
    public IReadOnlyList<string>? Classes { get; init; }
    /// <summary>Number of classes of the class-score output; 0 when the output is not a class-score vector.</summary>
    public int NumClasses { get; init; }
    public required PerceptionSection Perception { get; init; }
    /// <summary>The similarity map, or null when the run has none.</summary>
    public MapSection? Map { get; init; }
    public required Dictionary<string, string> Files { get; init; }
    public SummarySection? Summary { get; init; }
    /// <summary>Seconds per stage of the analysis: model (reading the data and running the model), vectors, map, insights.</summary>
    public IReadOnlyDictionary<string, double>? Stages { get; init; }
    /// <summary>Set when the model takes token ids (a text model); null for every other input.</summary>
    public TextSection? Text { get; init; }
    public double ElapsedSeconds { get; init; }

    public sealed record ModelSection(string Path, string Sha256, string Input, long[] InputShape, string Output, long[] OutputShape, string OutputKind, long Opset, string Producer);
    public sealed record DataSection(string Description, string Path, string? Labels, string? Metadata, string Split, int Count, int Skipped, bool HasLabels, string Preprocessing, IReadOnlyList<string> MetadataColumns);
    public sealed record SourceSection(Data.DataSource Data, Data.PreprocessOptions Preprocess);
    public sealed record PerceptionSection(string Pooling, int MaxWidth, ulong Seed, int ConcatenatedWidth, int Width, bool Projected, IReadOnlyList<LayerEntry> Layers);
    public sealed record LayerEntry(string Name, string Node, string Op, string Tensor, int Width, float Weight, string File, string StatsFile);
    public sealed record MapSection(string Method, int Dimensions, int Neighbors, float MinDist, ulong Seed, string File,
        string PreservationFile, double Trustworthiness, double KnnPreservation, int QualityK, int QualitySample, double Seconds);
    public sealed record SummarySection(double? Accuracy, double? MeanLoss, int Labelled);
    /// <summary>A model that takes token ids: the sequence length, its embedding lookup and the vocabulary kept in the run (one token per line).</summary>
    public sealed record TextSection(int Tokens, string Embedding, int VocabularySize, int Dimension, string? Vocabulary);

    internal static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static RunManifest FromJson(string json, string path)
    {
        try
        {
            return JsonSerializer.Deserialize<RunManifest>(json, Json) ?? throw new PerceptException($"{path} is empty");
        }
        catch (JsonException e) { throw new PerceptException($"{path} is not a valid Percept run manifest: {e.Message.Split('\n')[0]}"); }
    }
}
