using System.Diagnostics;
using Percept.Store;

namespace Percept.Neighbors;

/// <summary>The fields the neighbour stage writes: one k-NN graph of the perception vectors per run, and the space it was measured in.</summary>
public static class NeighborFields
{
    const string Owner = "Neighbors";

    public static readonly Field Indices = new()
    {
        Name = "neighbors", Type = FieldType.Int32, Kind = FieldKind.Other, Owner = Owner,
        Description = "N × k: each sample's k nearest samples in perception space, nearest first (−1: none, for a sample without finite vectors)",
    };
    public static readonly Field Distances = new()
    {
        Name = "neighbor_distances", Type = FieldType.Float32, Kind = FieldKind.Other, Owner = Owner,
        Description = "N × k: the distances to those neighbours, in the graph's space and metric (NaN: none)",
    };
    public static readonly Field Space = new()
    {
        Name = "neighbor_space", Type = FieldType.Float32, Owner = Owner,
        Description = "N × 50: the perception vectors' first principal components, where the graph was measured (only when the vectors are wider)",
    };

    /// <summary>Every field this stage declares.</summary>
    public static IReadOnlyList<Field> All => [Indices, Distances, Space];
}

/// <summary>Options of the run's neighbour graph.</summary>
public sealed record NeighborGraphOptions
{
    /// <summary>Neighbours per sample (UMAP takes 14 of them with itself as the 15th, insights and the history 10).</summary>
    public int K { get; init; } = 15;
    /// <summary>
    /// Cosine: perception vectors are standardised (every feature centred on the dataset's mean), so their principal
    /// components keep their angles, and a sample's direction — which features it excites more than most samples do —
    /// is what makes two samples alike to the model.
    /// </summary>
    public Metric Metric { get; init; } = Metric.Cosine;
    /// <summary>Up to this many points the graph is exact; above, NN-descent.</summary>
    public int ExactUpTo { get; init; } = 20_000;
    /// <summary>Samples whose exact neighbours are found to estimate an approximate graph's recall.</summary>
    public int RecallSample { get; init; } = 200;
    public ulong Seed { get; init; } = 1;
    public int Threads { get; init; }
}

/// <summary>
/// A graph of the k nearest samples of every sample of a run, over all N samples in dataset order: samples whose
/// perception vectors are not finite have no neighbours (−1) and are nobody's neighbour.
/// </summary>
/// <param name="Graph">N rows of K neighbours.</param>
/// <param name="Finite">The samples that have neighbours, ascending.</param>
public sealed record RunGraph(KnnGraph Graph, int[] Finite)
{
    /// <summary>The graph of the finite samples alone, numbered 0 … Finite.Length − 1 (for the engines that want no gaps), keeping the first <paramref name="k"/> neighbours (all when 0).</summary>
    public KnnGraph Compact(int k = 0)
    {
        k = k <= 0 ? Graph.K : Math.Min(k, Graph.K);
        int n = Finite.Length;
        var position = new int[Graph.Count];
        Array.Fill(position, -1);
        for (int r = 0; r < n; r++) position[Finite[r]] = r;
        var indices = new int[n * k];
        var distances = new float[n * k];
        for (int r = 0; r < n; r++)
        {
            var nb = Graph.NeighborsOf(Finite[r]);
            var d = Graph.DistancesOf(Finite[r]);
            for (int t = 0; t < k; t++) { indices[r * k + t] = nb[t] >= 0 ? position[nb[t]] : -1; distances[r * k + t] = d[t]; }
        }
        return new KnnGraph(indices, distances, n, k);
    }

    /// <summary>The graph with only its first <paramref name="k"/> neighbours per sample.</summary>
    public KnnGraph First(int k) => Graph.First(k);

    /// <summary>Reads a run's graph.</summary>
    /// <exception cref="PerceptException">The run has none.</exception>
    public static RunGraph Read(Run run)
    {
        var m = run.Manifest.Neighbors ?? throw new PerceptException($"run {run.Directory} has no neighbour graph (it has too few samples with finite perception vectors)");
        using var indices = run.Open(NeighborFields.Indices);
        using var distances = run.Open(NeighborFields.Distances);
        var graph = new KnnGraph(indices.ReadAllInt32(), distances.ReadAll(), indices.Rows, m.K);
        var finite = Enumerable.Range(0, graph.Count).Where(i => graph.NeighborsOf(i)[0] >= 0).ToArray();
        return new RunGraph(graph, finite);
    }
}

/// <summary>
/// The run's neighbour graph, built once per analysis and read by every stage that needs neighbours: the map (as
/// umap-learn's <c>precomputed_knn</c>), map quality, insights, the training history, Fetch Similar and the report.
/// The one rule for building a k-NN graph lives here: exact up to <see cref="NeighborGraphOptions.ExactUpTo"/> points,
/// NN-descent above, its recall estimated against exact neighbours of a seeded sample.
/// </summary>
public static class NeighborGraph
{
    /// <summary>
    /// The k-NN graph of <paramref name="points"/> by the one rule: exact up to <paramref name="exactUpTo"/> points, and
    /// for large k (t-SNE's 3·perplexity) while brute force costs under about 2.5·10¹¹ multiply-adds (70,000 points of 50
    /// dimensions take a few seconds: at such k exact is faster than NN-descent, and leaves nothing to chance); else
    /// NN-descent seeded with <paramref name="seed"/>.
    /// </summary>
    /// <param name="cancellationToken">Stops the build (checked per block of points).</param>
    public static KnnGraph Build(Matrix points, int k, Metric metric, int exactUpTo = 20_000, ulong seed = 1, int threads = 0,
        CancellationToken cancellationToken = default) =>
        IsExact(points.Rows, points.Columns, k, exactUpTo)
            ? ExactKnn.Search(points, k, metric, threads, cancellationToken)
            : NNDescent.Build(points, k, metric, new NNDescentOptions { Seed = seed, Threads = threads, CancellationToken = cancellationToken });

    /// <summary>Whether <see cref="Build(Matrix, int, Metric, int, ulong, int, CancellationToken)"/> searches exhaustively.</summary>
    public static bool IsExact(int rows, int columns, int k, int exactUpTo = 20_000) =>
        rows <= exactUpTo || (k >= 60 && (double)rows * rows * columns <= 2.5e11);

    /// <summary>
    /// Builds the graph of <paramref name="space"/>: a row per sample, in dataset order; rows with non-finite values have
    /// no neighbours and are nobody's neighbour.
    /// </summary>
    /// <param name="spaceName">What the space is (<c>embedding</c>, <c>pca-50</c>), for the manifest.</param>
    /// <returns>The graph and how it was made; null when fewer than two samples are finite.</returns>
    public static (RunGraph Graph, RunManifest.NeighborsSection Section)? Build(Matrix space, string spaceName, NeighborGraphOptions options,
        IProgress<AnalysisProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        int n = space.Rows;
        var finite = Enumerable.Range(0, n).Where(i => Numerics.AllFinite(space.Row(i))).ToArray();
        if (finite.Length < 2) return null;
        int k = Math.Min(options.K, finite.Length - 1);
        progress?.Report(new AnalysisProgress("neighbors", 0, 1));
        var compact = finite.Length == n ? space : Rows(space, finite);
        cancellationToken.ThrowIfCancellationRequested();
        bool exact = IsExact(compact.Rows, compact.Columns, k, options.ExactUpTo);
        var graph = Build(compact, k, options.Metric, options.ExactUpTo, options.Seed, options.Threads, cancellationToken);
        cancellationToken.ThrowIfCancellationRequested();
        var (recall, sample) = exact ? (1.0, 0) : EstimateRecall(compact, graph, options);

        // Over all N samples, in dataset order.
        var indices = new int[n * k];
        var distances = new float[n * k];
        Array.Fill(indices, -1);
        Array.Fill(distances, float.NaN);
        for (int r = 0; r < finite.Length; r++)
        {
            int i = finite[r];
            var nb = graph.NeighborsOf(r);
            var d = graph.DistancesOf(r);
            for (int t = 0; t < k; t++) if (nb[t] >= 0) { indices[i * k + t] = finite[nb[t]]; distances[i * k + t] = d[t]; }
        }
        progress?.Report(new AnalysisProgress("neighbors", 1, 1));
        var section = new RunManifest.NeighborsSection(k, options.Metric.ToString().ToLowerInvariant(), spaceName, space.Columns, exact,
            Math.Round(recall, 4), sample, Math.Round(clock.Elapsed.TotalSeconds, 3));
        return (new RunGraph(new KnnGraph(indices, distances, n, k), finite), section);
    }

    /// <summary>
    /// <paramref name="m"/> of <paramref name="n"/> points, drawn with <paramref name="seed"/>, ascending: the landmarks a
    /// landmark map is fitted on and a landmark graph is queried against (the same draw for both).
    /// </summary>
    public static int[] Landmarks(int n, int m, ulong seed)
    {
        var rng = new SplitMix64(seed ^ 0x1A4D3A4C);
        var order = Enumerable.Range(0, n).ToArray();
        m = Math.Min(m, n);
        for (int i = 0; i < m; i++) { int j = i + (int)(rng.Next() % (ulong)(n - i)); (order[i], order[j]) = (order[j], order[i]); }
        var chosen = order[..m];
        Array.Sort(chosen);
        return chosen;
    }

    /// <summary>
    /// The graph of <paramref name="space"/> past one machine's memory for a full graph: each sample's k nearest among
    /// <paramref name="landmarks"/> landmarks (drawn as for the landmark map, with <paramref name="seed"/>), found by
    /// querying the landmarks' index a chunk at a time. Memory and build time follow the landmarks; the neighbours are
    /// landmarks only.
    /// </summary>
    public static (RunGraph Graph, RunManifest.NeighborsSection Section)? BuildFromLandmarks(Matrix space, string spaceName, NeighborGraphOptions options,
        int landmarks, ulong seed, IProgress<AnalysisProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        int n = space.Rows;
        var finite = Enumerable.Range(0, n).Where(i => Numerics.AllFinite(space.Row(i))).ToArray();
        if (finite.Length <= landmarks) return Build(space, spaceName, options, progress, cancellationToken);
        var chosen = Landmarks(finite.Length, landmarks, seed).Select(r => finite[r]).ToArray();
        int k = Math.Min(options.K, chosen.Length - 1);
        progress?.Report(new AnalysisProgress("neighbors", 0, finite.Length));
        var index = KnnIndex.Build(Rows(space, chosen), k, options.Metric, new NNDescentOptions { Seed = options.Seed, Threads = options.Threads, CancellationToken = cancellationToken });
        var indices = new int[n * k];
        var distances = new float[n * k];
        Array.Fill(indices, -1);
        Array.Fill(distances, float.NaN);
        const int chunk = 65_536;
        for (int start = 0; start < finite.Length; start += chunk)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var rows = finite.AsSpan(start, Math.Min(chunk, finite.Length - start)).ToArray();
            var found = index.Query(Rows(space, rows), k + 1, threads: options.Threads);
            for (int t = 0; t < rows.Length; t++)
            {
                int i = rows[t], kept = 0;
                var nb = found.NeighborsOf(t);
                var d = found.DistancesOf(t);
                for (int u = 0; u < nb.Length && kept < k; u++)
                {
                    if (nb[u] < 0 || chosen[nb[u]] == i) continue;   // a landmark is not its own neighbour
                    indices[i * k + kept] = chosen[nb[u]];
                    distances[i * k + kept] = d[u];
                    kept++;
                }
            }
            progress?.Report(new AnalysisProgress("neighbors", start + rows.Length, finite.Length));
        }
        var section = new RunManifest.NeighborsSection(k, options.Metric.ToString().ToLowerInvariant(), spaceName, space.Columns, false,
            double.NaN, 0, Math.Round(clock.Elapsed.TotalSeconds, 3)) { Landmarks = chosen.Length };
        return (new RunGraph(new KnnGraph(indices, distances, n, k), finite), section);
    }

    /// <summary>Writes the graph into the run, and the space it was measured in when that is not the perception vectors themselves.</summary>
    public static void Write(IRunOutput output, RunGraph graph, Matrix? space)
    {
        output.Write(NeighborFields.Indices, graph.Graph.Indices, graph.Graph.K);
        output.Write(NeighborFields.Distances, graph.Graph.Distances, graph.Graph.K);
        if (space != null) output.Write(NeighborFields.Space, space.Data, space.Columns);
    }

    /// <summary>Recall@k of <paramref name="graph"/> against the exact neighbours of a seeded sample of its points.</summary>
    static (double Recall, int Sample) EstimateRecall(Matrix points, KnnGraph graph, NeighborGraphOptions options)
    {
        int n = points.Rows, s = Math.Min(options.RecallSample, n);
        var rng = new SplitMix64(options.Seed ^ 0x7EC0);
        var chosen = new HashSet<int>();
        while (chosen.Count < s) chosen.Add((int)(rng.NextDouble() * n) % n);
        var rows = chosen.Order().ToArray();
        var queries = Rows(points, rows);
        // One more than k: the query itself is among the data, at distance 0.
        var exact = ExactKnn.Search(points, queries, graph.K + 1, options.Metric, options.Threads);
        long hits = 0;
        for (int q = 0; q < rows.Length; q++)
        {
            var truth = exact.NeighborsOf(q).ToArray().Where(j => j != rows[q]).Take(graph.K).ToHashSet();
            foreach (int j in graph.NeighborsOf(rows[q])) if (truth.Contains(j)) hits++;
        }
        return (hits / (double)(rows.Length * graph.K), rows.Length);
    }

    static Matrix Rows(Matrix m, int[] rows)
    {
        var sub = new Matrix(rows.Length, m.Columns);
        for (int i = 0; i < rows.Length; i++) m.Row(rows[i]).CopyTo(sub.Row(i));
        return sub;
    }
}
