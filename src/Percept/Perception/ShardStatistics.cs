using System.Text.Json;
using Percept.Store;

namespace Percept.Perception;

/// <summary>
/// A shard's per-layer feature statistics, one entry per segment in order (count, mean, M2 in double precision), written
/// as JSON (doubles round-trip exactly), and its rows as Parquet for other tools.
/// </summary>
public static class ShardStatistics
{
    sealed record LayerSegments(string Layer, IReadOnlyList<SegmentStatistics> Segments);

    static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>Writes the pass's kept segments into the shard.</summary>
    internal static void Write(IRunOutput output, PerceptionPass pass) =>
        output.WriteDocument(PerceptionFields.ShardStatistics, JsonSerializer.Serialize(pass.Layers.Select((l, i) => new LayerSegments(l.Name, pass.Segments[i])).ToArray(), Json));

    /// <summary>The shard's segments per layer, in the layers' order.</summary>
    /// <exception cref="PerceptException">The shard holds none, or they are damaged.</exception>
    public static IReadOnlyList<(string Layer, IReadOnlyList<SegmentStatistics> Segments)> Read(Run shard)
    {
        string text = shard.ReadDocument(PerceptionFields.ShardStatistics) ?? throw new PerceptException($"{shard.Directory} holds no {PerceptionFields.ShardStatistics.Name}: not a complete shard");
        try
        {
            var layers = JsonSerializer.Deserialize<LayerSegments[]>(text, Json) ?? [];
            return [.. layers.Select(l => (l.Layer, l.Segments))];
        }
        catch (JsonException e) { throw new PerceptException($"{shard.Directory}: {PerceptionFields.ShardStatistics.Name} is damaged ({e.Message})"); }
    }

    /// <summary>The shard's rows as <c>samples.parquet</c> beside its table, for tools that read Parquet (DuckDB, pandas, Spark).</summary>
    internal static void ExportRows(Run staged)
    {
        using var samples = staged.OpenSamples();
        samples.Export(Path.Combine(staged.Directory, RowsFile), parquet: true);
    }

    /// <summary>The shard's rows as Parquet.</summary>
    public const string RowsFile = "samples.parquet";
}
