using Percept.Neighbors;

namespace Percept.Projection;

/// <summary>Which map to make.</summary>
public enum MapMethod
{
    /// <summary>UMAP when there are enough points for its neighbourhoods, else PCA, else none.</summary>
    Auto,
    None,
    Pca,
    Umap,
    /// <summary>t-SNE (2-D only): FFT-accelerated interpolation from 10,000 points, Barnes–Hut below.</summary>
    Tsne,
}

/// <summary>Options of <see cref="Maps.Make(Matrix, MapOptions, CancellationToken)"/>.</summary>
public sealed record MapOptions
{
    public MapMethod Method { get; init; } = MapMethod.Auto;
    public int Dimensions { get; init; } = 2;
    public int Neighbors { get; init; } = 15;
    public float MinDist { get; init; } = 0.1f;
    public Metric Metric { get; init; } = Metric.Euclidean;
    /// <summary>t-SNE perplexity (openTSNE's default 30).</summary>
    public float Perplexity { get; init; } = 30;
    /// <summary>t-SNE iterations after the 250 of early exaggeration (0 = 500); UMAP epochs (0 = umap-learn's default).</summary>
    public int Iterations { get; init; }
    public ulong Seed { get; init; }
    public int Threads { get; init; }
    /// <summary>Start from this layout (UMAP) — for example the map of the same samples at the previous checkpoint.</summary>
    public Matrix? Initial { get; init; }
    /// <summary>Rotate the result onto this map of the same samples (orthogonal Procrustes), so dots stay put.</summary>
    public Matrix? AlignTo { get; init; }
    /// <summary>
    /// UMAP on more samples than this: fit the map on this many landmarks (a seeded sample) and place the others with the
    /// fitted model's transform, a chunk at a time, landmarks fixed (0: every sample in the fit).
    /// </summary>
    public int Landmarks { get; init; }
    /// <summary>With <see cref="Landmarks"/>: leave the other samples unplaced (NaN), for <c>percept place</c> to place them in shards.</summary>
    public bool DeferPlacement { get; init; }
    /// <summary>With <see cref="Landmarks"/>: the run's neighbour graph is each sample's nearest landmarks (past one machine's memory for a full graph).</summary>
    public bool LandmarkGraph { get; init; }
}

/// <summary>A map and what was learnt making it.</summary>
/// <param name="Coordinates">N × dimensions.</param>
/// <param name="Method">The method used (Auto resolved).</param>
/// <param name="Graph">The k-NN graph of the data the map was made from (UMAP), for per-point figures.</param>
/// <param name="KlDivergence">t-SNE's final KL divergence; null for other methods.</param>
public sealed record MapResult(Matrix Coordinates, MapMethod Method, KnnGraph? Graph, double? KlDivergence = null);

/// <summary>One entry point for every kind of map.</summary>
public static class Maps
{
    public static MapMethod Resolve(MapMethod method, int points, int neighbors) => method switch
    {
        MapMethod.Auto when points > Math.Max(3 * neighbors, 50) => MapMethod.Umap,
        MapMethod.Auto when points >= 3 => MapMethod.Pca,
        MapMethod.Auto => MapMethod.None,
        _ => method,
    };

    /// <summary>Neighbours per sample the run's graph needs for a map made with <paramref name="o"/>: 15, or t-SNE's 3·perplexity.</summary>
    public static int GraphNeighbors(MapOptions o) =>
        o.Method == MapMethod.Tsne ? Math.Max(15, (int)Math.Ceiling(3 * o.Perplexity)) : Math.Max(15, o.Neighbors - 1);

    /// <summary>Makes a map of <paramref name="data"/>, building its k-NN graph when the method needs one.</summary>
    /// <param name="cancellationToken">Stops UMAP and t-SNE between epochs.</param>
    public static MapResult Make(Matrix data, MapOptions o, CancellationToken cancellationToken = default) => Make(data, o, null, cancellationToken);

    /// <summary>Makes a map of <paramref name="data"/>.</summary>
    /// <param name="cancellationToken">Stops UMAP and t-SNE between epochs.</param>
    /// <param name="neighbors">
    /// The k-NN graph of <paramref name="data"/>, built already (a run's graph): UMAP and t-SNE use it instead of building
    /// their own, and take the data as the space it was measured in.
    /// </param>
    public static MapResult Make(Matrix data, MapOptions o, KnnGraph? neighbors, CancellationToken cancellationToken = default)
    {
        var method = Resolve(o.Method, data.Rows, o.Neighbors);
        if (method == MapMethod.None) throw new PerceptException("no map method chosen");
        if (o.Dimensions is < 1 or > 3 && method != MapMethod.Pca) throw new PerceptException("maps have 1 to 3 dimensions");
        MapResult result = method switch
        {
            MapMethod.Pca => new MapResult(PcaMap(data, o), MapMethod.Pca, null),
            MapMethod.Umap => UmapMap(data, o, neighbors, cancellationToken),
            MapMethod.Tsne when o.Dimensions != 2 => throw new PerceptException($"t-SNE makes 2-D maps; use {Terms.Option("dims")} 2, or UMAP for 3-D"),
            MapMethod.Tsne => TsneMap(data, o, neighbors, cancellationToken),
            _ => throw new ArgumentOutOfRangeException(nameof(o)),
        };
        if (o.AlignTo != null) result = result with { Coordinates = Procrustes.Align(result.Coordinates, o.AlignTo) };
        return result;
    }

    static Matrix PcaMap(Matrix data, MapOptions o)
    {
        if (data.Rows < o.Dimensions + 1 || data.Columns < o.Dimensions)
            throw new PerceptException($"PCA to {o.Dimensions} dimensions needs more than {o.Dimensions} points and at least {o.Dimensions} columns ({data.Rows} x {data.Columns})");
        return Pca.Fit(data, o.Dimensions, o.Seed, threads: o.Threads).Transform(data, o.Threads);
    }

    static MapResult TsneMap(Matrix data, MapOptions o, KnnGraph? neighbors, CancellationToken cancellationToken)
    {
        var options = new TSneOptions { Metric = o.Metric, Seed = o.Seed, Threads = o.Threads, Initial = o.Initial, Perplexity = o.Perplexity, Neighbors = neighbors };
        if (o.Iterations > 0) options = options with { Iterations = o.Iterations };
        var r = TSne.Run(data, options, cancellationToken);
        return new MapResult(r.Embedding, MapMethod.Tsne, null, r.KlDivergence);
    }

    /// <summary>Samples placed at a time on a landmark map.</summary>
    const int PlaceChunk = 65_536;

    static MapResult UmapMap(Matrix data, MapOptions o, KnnGraph? neighbors, CancellationToken cancellationToken)
    {
        if (o.Landmarks > 0 && data.Rows > o.Landmarks && o.Initial == null) return LandmarkMap(data, o, cancellationToken);
        var model = Umap.Fit(data, neighbors, UmapFor(o) with { Initial = o.Initial }, cancellationToken);
        return new MapResult(model.Embedding, MapMethod.Umap, model.Index.Graph);
    }

    /// <summary>
    /// UMAP fitted on <see cref="MapOptions.Landmarks"/> samples drawn with the map's seed (their own k-NN graph), the
    /// others placed by <see cref="UmapModel.Transform"/> in chunks: their neighbours among the landmarks, a weighted start,
    /// then optimisation against the fixed landmarks. Memory and time of the fit follow the landmarks, not N.
    /// </summary>
    static MapResult LandmarkMap(Matrix data, MapOptions o, CancellationToken cancellationToken)
    {
        int n = data.Rows, m = o.Landmarks;
        var landmarks = NeighborGraph.Landmarks(n, m, o.Seed);
        var isLandmark = new bool[n];
        foreach (int i in landmarks) isLandmark[i] = true;
        var model = Umap.Fit(MapQuality.Subset(data, landmarks), null, Landmark(o), cancellationToken);
        var coordinates = new Matrix(n, o.Dimensions);
        for (int t = 0; t < m; t++) model.Embedding.Row(t).CopyTo(coordinates.Row(landmarks[t]));
        if (o.DeferPlacement)
        {
            for (int i = 0; i < n; i++) if (!isLandmark[i]) coordinates.Row(i).Fill(float.NaN);
            return new MapResult(coordinates, MapMethod.Umap, null);
        }
        var rest = Enumerable.Range(0, n).Where(i => !isLandmark[i]).ToArray();
        for (int start = 0; start < rest.Length; start += PlaceChunk)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var chunk = rest.AsSpan(start, Math.Min(PlaceChunk, rest.Length - start)).ToArray();
            var placed = model.Transform(MapQuality.Subset(data, chunk));
            for (int t = 0; t < chunk.Length; t++) placed.Row(t).CopyTo(coordinates.Row(chunk[t]));
        }
        return new MapResult(coordinates, MapMethod.Umap, null);
    }

    /// <summary>
    /// The fitted landmark model again, from the landmarks' rows of the space the map was made in and their coordinates on
    /// it: what <see cref="UmapModel.Transform"/> needs to place more samples (<c>percept place</c>).
    /// </summary>
    public static UmapModel LandmarkModel(Matrix landmarkSpace, Matrix landmarkCoordinates, MapOptions o)
    {
        var options = Landmark(o);
        var index = KnnIndex.Build(landmarkSpace, options.Neighbors - 1, options.Metric, new NNDescentOptions { Seed = options.Seed, Threads = options.Threads });
        var (a, b) = Umap.FitAB(options.Spread, options.MinDist);
        return new UmapModel(landmarkCoordinates, index, null, options, a, b);
    }

    /// <summary>UMAP's options for a map made with <paramref name="o"/>.</summary>
    static UmapOptions UmapFor(MapOptions o) => new()
    {
        Dimensions = o.Dimensions, Neighbors = o.Neighbors, MinDist = o.MinDist, Metric = o.Metric, Seed = o.Seed, Threads = o.Threads, Epochs = o.Iterations,
    };

    /// <summary>The same for a landmark fit: its space is the neighbour space already (no PCA of its own).</summary>
    static UmapOptions Landmark(MapOptions o) => UmapFor(o) with { PcaDimensions = 0 };
}
