using Percept.Data;
using Percept.Perception;

namespace Percept;

/// <summary>Everything an analysis needs: the model, the data, where to write the run, and how to build perception vectors.</summary>
public sealed record AnalysisOptions
{
    /// <summary>The ONNX model file.</summary>
    public required string ModelPath { get; init; }

    /// <summary>The dataset.</summary>
    public required DataSource Data { get; init; }

    /// <summary>Folder of the run to write.</summary>
    public required string OutputDirectory { get; init; }

    /// <summary>Replace a run already at <see cref="OutputDirectory"/>.</summary>
    public bool Overwrite { get; init; }

    /// <summary>Model input to feed when the model has several.</summary>
    public string? InputName { get; init; }

    /// <summary>Model output holding class scores (default: the first output).</summary>
    public string? OutputName { get; init; }

    public OutputKind OutputKind { get; init; }

    public PreprocessOptions Preprocess { get; init; } = new();

    /// <summary>Layers to record (short names, node names or tensor names); null = every layer with learned parameters.</summary>
    public IReadOnlyList<string>? Layers { get; init; }

    public PoolingMode Pooling { get; init; } = PoolingMode.Mean;

    /// <summary>Perception vectors wider than this are reduced by a seeded sparse random projection (0 = never).</summary>
    public int MaxWidth { get; init; } = 4096;

    /// <summary>Seed of the random projection.</summary>
    public ulong Seed { get; init; }

    /// <summary>Samples per model run (a model with a fixed batch axis uses its own).</summary>
    public int BatchSize { get; init; } = 256;

    /// <summary>CSV or Parquet file of per-sample metadata joined on <c>index</c> or <c>id</c>.</summary>
    public string? MetadataPath { get; init; }

    /// <summary>ONNX Runtime intra-op threads (0 = all cores).</summary>
    public int Threads { get; init; }

    /// <summary>Compute insights (docs/insights.md) into the run once it is written; a failure there is a warning, not a lost run.</summary>
    public bool Insights { get; init; } = true;

    /// <summary>The similarity map made from the perception vectors (default: UMAP, 2-D; Method None for no map).</summary>
    public Projection.MapOptions Map { get; init; } = new();

    /// <summary>
    /// The space the neighbour graph and the map are made in: the perception vectors (default), or the model's own output
    /// (an embedding model's embedding, or a classifier's logits).
    /// </summary>
    public MapSpace MapSpace { get; init; }
}

/// <summary>The space a run's neighbour graph and map are made in.</summary>
public enum MapSpace
{
    /// <summary>The perception vectors: every recorded layer, standardised and weighted.</summary>
    Perception,
    /// <summary>The model's output: an embedding model's embedding (the <c>outputs</c> field), or a classifier's logits.</summary>
    Output,
}
