using System.Diagnostics;
using Percept.IO;
using Percept.Neighbors;
using Percept.Store;

namespace Percept.Projection;

/// <summary>
/// The map stage of an analysis: the similarity map of a run's perception vectors (<c>embedding.npy</c>) written as
/// <c>map.npy</c>, with its quality figures and each point's neighbourhood preservation (<c>map_preservation.npy</c>).
/// </summary>
internal static class MapStage
{
    /// <summary>Makes the map of the vectors at <paramref name="pathOf"/>("embedding.npy"); null when there is none to make.</summary>
    /// <param name="pathOf">Resolves a file name inside the run being written.</param>
    /// <param name="warn">Receives a line when the samples are too few for a map.</param>
    /// <exception cref="PerceptException">A map to start from that does not fit the samples.</exception>
    public static RunManifest.MapSection? Build(Func<string, string> pathOf, MapOptions options, IProgress<AnalysisProgress>? progress, Action<string>? warn,
        CancellationToken cancellationToken)
    {
        int rows = (int)Npy.ReadHeader(pathOf("embedding.npy")).Shape[0];
        var method = Maps.Resolve(options.Method, rows, options.Neighbors);
        if (method == MapMethod.None)
        {
            if (options.Method == MapMethod.Auto) warn?.Invoke($"{rows} samples are too few for a map; the run has none");
            return null;
        }
        var vectors = Npy.ReadFloat32(pathOf("embedding.npy"), out var shape);
        var all = new Matrix(vectors, (int)shape[0], (int)shape[1]);
        if (options.Initial != null && options.Initial.Rows != all.Rows)
            throw new PerceptException($"the map to start from has {options.Initial.Rows} points; this run has {all.Rows}");
        // Samples with non-finite vectors have no place on a map: it is made of the others, and theirs are NaN.
        int[] finite = Enumerable.Range(0, all.Rows).Where(i => Numerics.AllFinite(all.Row(i))).ToArray();
        if (finite.Length < all.Rows)
        {
            method = Maps.Resolve(options.Method, finite.Length, options.Neighbors);
            if (method == MapMethod.None)
            {
                warn?.Invoke($"only {finite.Length} of {all.Rows} samples have finite perception vectors: too few for a map; the run has none");
                return null;
            }
        }
        var x = finite.Length == all.Rows ? all : Rows(all, finite);
        var clock = Stopwatch.StartNew();
        progress?.Report(new AnalysisProgress("map", 0, 1));
        var result = Maps.Make(x, options with
        {
            Method = method,
            Initial = options.Initial is { } initial && finite.Length < all.Rows ? Rows(initial, finite) : options.Initial,
            AlignTo = options.AlignTo is { } align && finite.Length < all.Rows && align.Rows == all.Rows ? Rows(align, finite) : options.AlignTo,
        }, cancellationToken);
        var coordinates = finite.Length == all.Rows ? result.Coordinates : Spread(result.Coordinates, finite, all.Rows);
        Npy.Write(pathOf("map.npy"), coordinates.Data, coordinates.Rows, coordinates.Columns);
        int k = Math.Min(10, x.Rows - 1);
        var graph = result.Graph ?? NNDescent.Build(x, k, options.Metric, new NNDescentOptions { Seed = options.Seed, Threads = options.Threads });
        var perPoint = MapQuality.PerPointPreservation(graph, result.Coordinates, k, options.Seed, options.Threads);
        if (finite.Length < all.Rows) perPoint = Spread(new Matrix(perPoint, perPoint.Length, 1), finite, all.Rows).Data;
        Npy.Write(pathOf("map_preservation.npy"), perPoint, perPoint.Length);
        var q = x.Rows >= 3 * k + 2 ? MapQuality.Evaluate(x, result.Coordinates, k, 5000, options.Seed, options.Metric, options.Threads) : null;
        progress?.Report(new AnalysisProgress("map", 1, 1));
        return new RunManifest.MapSection(result.Method.ToString().ToLowerInvariant(), result.Coordinates.Columns,
            options.Neighbors, options.MinDist, options.Seed, "map.npy", "map_preservation.npy",
            q?.Trustworthiness ?? double.NaN, q?.KnnPreservation ?? double.NaN, k, q?.SampleSize ?? 0, Math.Round(clock.Elapsed.TotalSeconds, 3));
    }

    /// <summary>The rows <paramref name="rows"/> of <paramref name="m"/>.</summary>
    static Matrix Rows(Matrix m, int[] rows)
    {
        var sub = new Matrix(rows.Length, m.Columns);
        for (int i = 0; i < rows.Length; i++) m.Row(rows[i]).CopyTo(sub.Row(i));
        return sub;
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
