using Percept.Neighbors;

namespace Percept.Projection;

/// <summary>Options of <see cref="Umap"/>; defaults follow umap-learn.</summary>
public sealed record UmapOptions
{
    public int Dimensions { get; init; } = 2;
    /// <summary>Neighbourhood size, counting the point itself as umap-learn does (so 14 neighbours for 15).</summary>
    public int Neighbors { get; init; } = 15;
    public float MinDist { get; init; } = 0.1f;
    public float Spread { get; init; } = 1f;
    /// <summary>Epochs (0 = 500 up to 10,000 points, 200 above, as umap-learn).</summary>
    public int Epochs { get; init; }
    public float LearningRate { get; init; } = 1f;
    public int NegativeSampleRate { get; init; } = 5;
    public float RepulsionStrength { get; init; } = 1f;
    public Metric Metric { get; init; } = Metric.Euclidean;
    /// <summary>Inputs wider than this are first reduced by PCA to this many dimensions (0 = never).</summary>
    public int PcaDimensions { get; init; } = 50;
    /// <summary>Initial layout (N × Dimensions) to start from instead of PCA, e.g. the map of the previous checkpoint.</summary>
    public Matrix? Initial { get; init; }
    public ulong Seed { get; init; }
    /// <summary>Threads (0 = all cores). With one thread the map is the same for a seed; with more, optimisation is lock-free and may differ.</summary>
    public int Threads { get; init; }
}

/// <summary>A fitted UMAP: the map of the training points, and what <see cref="Transform"/> needs to place new ones.</summary>
public sealed class UmapModel
{
    internal UmapModel(Matrix embedding, KnnIndex index, PcaModel? pca, UmapOptions options, float a, float b)
    {
        Embedding = embedding; Index = index; Pca = pca; Options = options; A = a; B = b;
    }

    /// <summary>N × Dimensions coordinates.</summary>
    public Matrix Embedding { get; }
    /// <summary>The k-NN index of the (PCA-reduced) training data.</summary>
    public KnnIndex Index { get; }
    public PcaModel? Pca { get; }
    public UmapOptions Options { get; }
    public float A { get; }
    public float B { get; }

    /// <summary>Places new points on the map: neighbours in the training data, a weighted start, then optimisation with the training map fixed.</summary>
    public Matrix Transform(Matrix data)
    {
        var x = Pca != null ? Pca.Transform(data, Options.Threads) : data;
        int k = Options.Neighbors;
        var knn = Index.Query(x, k, threads: Options.Threads);
        var graph = Umap.FuzzyGraph(knn, k, symmetrise: false);
        int dims = Options.Dimensions;
        var y = new Matrix(data.Rows, dims);
        for (int i = 0; i < data.Rows; i++)
        {
            var row = y.Row(i);
            float total = 0;
            for (int e = graph.RowStart[i]; e < graph.RowStart[i + 1]; e++)
            {
                var t = Embedding.Row(graph.Columns[e]);
                for (int d = 0; d < dims; d++) row[d] += graph.Weights[e] * t[d];
                total += graph.Weights[e];
            }
            if (total > 0) for (int d = 0; d < dims; d++) row[d] /= total;
        }
        int epochs = Math.Max(30, (Options.Epochs > 0 ? Options.Epochs : Umap.DefaultEpochs(Embedding.Rows)) / 3);
        Umap.Optimise(y, Embedding, graph, epochs, A, B, Options with { LearningRate = Options.LearningRate / 4 }, moveOther: false);
        return y;
    }
}
