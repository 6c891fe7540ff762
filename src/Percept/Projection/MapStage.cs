using System.Diagnostics;
using Percept.Neighbors;
using Percept.Store;

namespace Percept.Projection;

/// <summary>The fields the map stage writes into a run.</summary>
public static class MapFields
{
    const string Owner = "Projection";

    public static readonly Field Map = new()
    {
        Name = "map", Type = FieldType.Float32, Owner = Owner,
        Description = "N × dimensions: the similarity map of the perception vectors (NaN: a sample without finite vectors)",
        Absent = "it was analysed without a map, or with too few samples for one",
    };
    public static readonly Field Preservation = new()
    {
        Name = "map_preservation", Type = FieldType.Float32, Kind = FieldKind.Number, Owner = Owner,
        Description = "per sample, the share of its 10 nearest neighbours in perception space that are among its 10 nearest on the map",
        Absent = "it was analysed without a map, or with too few samples for one",
    };

    /// <summary>Every field this stage declares.</summary>
    public static IReadOnlyList<Field> All => [Map, Preservation];
}

/// <summary>
/// The space a run's neighbours are measured in: the perception vectors themselves when they are at most
/// <see cref="Dimensions"/> wide, else their first <see cref="Dimensions"/> principal components, fitted and computed
/// streaming over the vectors (which are never held in memory whole). UMAP and t-SNE reduce wide inputs the same way
/// before finding neighbours.
/// </summary>
public static class NeighborSpace
{
    public const int Dimensions = 50;

    /// <summary>The space's name when it is the perception vectors themselves.</summary>
    public static string Vectors => Perception.PerceptionFields.Embedding.Name;

    /// <summary>The space of <paramref name="vectors"/> (a row per sample; rows with non-finite values stay NaN) and its name.</summary>
    /// <param name="cancellationToken">Stops the passes over the vectors.</param>
    public static (Matrix Space, string Name) Of(IRowSource vectors, ulong seed, int threads, CancellationToken cancellationToken = default)
    {
        if (vectors.Columns <= Dimensions) return (Matrix.From(vectors), Vectors);
        var finite = FiniteRows(vectors);
        if (finite.Length <= Dimensions) return (Matrix.From(vectors), Vectors);
        var source = finite.Length == vectors.Rows ? vectors : new SelectedRows(vectors, finite);
        var pca = Pca.Fit(source, Dimensions, seed, threads: threads, cancellationToken: cancellationToken);
        var reduced = pca.Transform(vectors, threads, cancellationToken);
        if (finite.Length < vectors.Rows)
        {
            var keep = new bool[vectors.Rows];
            foreach (int i in finite) keep[i] = true;
            for (int i = 0; i < reduced.Rows; i++) if (!keep[i]) reduced.Row(i).Fill(float.NaN);
        }
        return (reduced, $"pca-{Dimensions}");
    }

    /// <summary>The rows whose values are all finite, read block by block.</summary>
    internal static int[] FiniteRows(IRowSource rows)
    {
        var finite = new List<int>(rows.Rows);
        var buffer = new float[Blocks.Rows * rows.Columns];
        for (int start = 0; start < rows.Rows; start += Blocks.Rows)
        {
            int n = Math.Min(Blocks.Rows, rows.Rows - start);
            var block = Blocks.Read(rows, start, n, buffer);
            for (int r = 0; r < n; r++) if (Numerics.AllFinite(block.Slice(r * rows.Columns, rows.Columns))) finite.Add(start + r);
        }
        return [.. finite];
    }
}

/// <summary>Some rows of a row source, in the order given.</summary>
internal sealed class SelectedRows(IRowSource source, int[] rows) : IRowSource
{
    public int Rows => rows.Length;
    public int Columns => source.Columns;

    public void Read(int start, int count, Span<float> destination)
    {
        for (int r = 0; r < count; r++) source.Read(rows[start + r], 1, destination.Slice(r * Columns, Columns));
    }
}

/// <summary>
/// The map stage of an analysis: the similarity map of a run's perception vectors, made from the run's neighbour graph
/// and the space it was measured in, with its quality figures (trustworthiness against the vectors themselves, on a
/// sample read row by row) and each point's neighbourhood preservation.
/// </summary>
internal static class MapStage
{
    /// <summary>Makes the map and writes it (<see cref="MapFields"/>); null when there is none to make.</summary>
    /// <param name="vectors">The perception vectors, read only for the quality sample.</param>
    /// <param name="space">The neighbour space, a row per sample (NaN rows for samples without finite vectors).</param>
    /// <param name="graph">The run's neighbour graph of that space.</param>
    /// <param name="warn">Receives a line when the samples are too few for a map.</param>
    /// <exception cref="PerceptException">A map to start from that does not fit the samples.</exception>
    public static RunManifest.MapSection? Build(IRunOutput output, IRowSource vectors, Matrix space, RunGraph? graph, MapOptions options,
        IProgress<AnalysisProgress>? progress, Action<string>? warn, CancellationToken cancellationToken)
    {
        int rows = space.Rows;
        if (options.Initial != null && options.Initial.Rows != rows)
            throw new PerceptException($"the map to start from has {options.Initial.Rows} points; this run has {rows}");
        if (options.Method == MapMethod.None) return null;
        int[] finite = graph?.Finite ?? [];
        var method = Maps.Resolve(options.Method, finite.Length, options.Neighbors);
        if (graph == null || method == MapMethod.None)
        {
            if (options.Method == MapMethod.Auto || graph == null)
                warn?.Invoke(finite.Length < rows
                    ? $"only {finite.Length} of {rows} samples have finite perception vectors: too few for a map; the run has none"
                    : $"{rows} samples are too few for a map; the run has none");
            return null;
        }
        bool all = finite.Length == rows;
        var x = all ? space : MapQuality.Subset(space, finite);
        var clock = Stopwatch.StartNew();
        progress?.Report(new AnalysisProgress("map", 0, 1));
        var neighbors = graph.Compact();
        var result = Maps.Make(x, options with
        {
            Method = method,
            Initial = options.Initial is { } initial && !all ? MapQuality.Subset(initial, finite) : options.Initial,
            AlignTo = options.AlignTo is { } align && !all && align.Rows == rows ? MapQuality.Subset(align, finite) : options.AlignTo,
        }, neighbors, cancellationToken);
        bool landmarks = result.Method == MapMethod.Umap && options.Landmarks > 0 && x.Rows > options.Landmarks && options.Initial == null;
        bool unplaced = landmarks && options.DeferPlacement;
        var (q, k) = unplaced ? (null, Math.Min(10, Math.Min(x.Rows - 1, neighbors.K))) : Measure(output, vectors, result.Coordinates, neighbors, finite, rows, options);
        var coordinates = all ? result.Coordinates : Spread(result.Coordinates, finite, rows);
        output.Write(MapFields.Map, coordinates.Data, coordinates.Columns);
        if (unplaced) output.Write(MapFields.Preservation, Enumerable.Repeat(float.NaN, rows).ToArray());
        progress?.Report(new AnalysisProgress("map", 1, 1));
        return new RunManifest.MapSection(result.Method.ToString().ToLowerInvariant(), result.Coordinates.Columns,
            options.Neighbors, options.MinDist, options.Seed,
            q?.Trustworthiness ?? double.NaN, q?.KnnPreservation ?? double.NaN, k, q?.SampleSize ?? 0, Math.Round(clock.Elapsed.TotalSeconds, 3))
        {
            Landmarks = landmarks ? options.Landmarks : 0, Unplaced = unplaced,
        };
    }

    /// <summary>
    /// Writes each sample's neighbourhood preservation on the map (<see cref="MapFields.Preservation"/>) and measures the
    /// map's trustworthiness and k-NN preservation on a sample; returns them and k (null when the samples are too few).
    /// </summary>
    /// <param name="map">The map of the finite samples, in their order.</param>
    /// <param name="neighbors">The run's graph of the finite samples (compact).</param>
    public static (MapQualityFigures? Quality, int K) Measure(IRunOutput output, IRowSource vectors, Matrix map, KnnGraph neighbors, int[] finite, int rows, MapOptions options)
    {
        bool all = finite.Length == rows;
        int k = Math.Min(10, Math.Min(map.Rows - 1, neighbors.K));
        var perPoint = MapQuality.PerPointPreservation(neighbors.First(k), map, k, options.Seed, options.Threads);
        if (!all) perPoint = Spread(new Matrix(perPoint, perPoint.Length, 1), finite, rows).Data;
        output.Write(MapFields.Preservation, perPoint);
        var high = all ? vectors : new SelectedRows(vectors, finite);
        var q = map.Rows >= 3 * k + 2 ? MapQuality.Evaluate(high, map, k, 5000, options.Seed, options.Metric, options.Threads) : null;
        return (q, k);
    }

    /// <summary>A matrix of <paramref name="count"/> rows with <paramref name="m"/>'s rows at <paramref name="rows"/> and NaN elsewhere.</summary>
    static Matrix Spread(Matrix m, int[] rows, int count)
    {
        var full = new Matrix(count, m.Columns);
        full.Data.AsSpan().Fill(float.NaN);
        for (int i = 0; i < rows.Length; i++) m.Row(i).CopyTo(full.Row(rows[i]));
        return full;
    }
}
