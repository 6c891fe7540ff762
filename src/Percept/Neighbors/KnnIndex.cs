
namespace Percept.Neighbors;

/// <summary>
/// An index for nearest-neighbour queries of new points: the NN-descent graph of the data, made undirected (each
/// point also links to the points that list it, up to 2k links, closest first), searched greedily from the leaves
/// of random projection trees with a bounded best-first search (as pynndescent does).
/// </summary>
public sealed class KnnIndex
{
    readonly Matrix _data;      // prepared (normalised for cosine)
    readonly int[][] _links;
    readonly Lazy<List<RandomProjectionTree>> _trees;

    public Metric Metric { get; }

    /// <summary>The all-points k-NN graph the index was built from.</summary>
    public KnnGraph Graph { get; }

    KnnIndex(Matrix data, Metric metric, KnnGraph graph, Func<List<RandomProjectionTree>> trees)
    {
        _data = data;
        Metric = metric;
        Graph = graph;
        _trees = new Lazy<List<RandomProjectionTree>>(trees);
        int n = data.Rows, k = graph.K;
        // Each point's links: its own neighbours and the points that list it (CSR), then per point the closest 2k
        // distinct ones.
        var count = new int[n + 1];
        for (int i = 0; i < n; i++)
        {
            count[i + 1] += k;
            foreach (var j in graph.NeighborsOf(i)) count[j + 1]++;
        }
        for (int i = 0; i < n; i++) count[i + 1] += count[i];
        var fill = count[..n];
        var linkD = new float[count[n]];
        var linkJ = new int[count[n]];
        for (int i = 0; i < n; i++)
        {
            var nb = graph.NeighborsOf(i); var ds = graph.DistancesOf(i);
            for (int t = 0; t < k; t++)
            {
                linkD[fill[i]] = ds[t]; linkJ[fill[i]++] = nb[t];
                linkD[fill[nb[t]]] = ds[t]; linkJ[fill[nb[t]]++] = i;
            }
        }
        _links = new int[n][];
        Parallel.For(0, n, i =>
        {
            var d = linkD.AsSpan(count[i], count[i + 1] - count[i]);
            var j = linkJ.AsSpan(count[i], d.Length);
            d.Sort(j);
            Span<int> kept = stackalloc int[2 * k];
            int m = 0;
            for (int t = 0; t < j.Length && m < kept.Length; t++)
                if (!kept[..m].Contains(j[t])) kept[m++] = j[t];
            _links[i] = kept[..m].ToArray();
        });
    }

    /// <summary>Builds the index (NN-descent with <paramref name="k"/> neighbours).</summary>
    public static KnnIndex Build(Matrix data, int k = 15, Metric metric = Metric.Euclidean, NNDescentOptions? options = null)
    {
        var prepared = Distance.Prepare(data, metric);
        var graph = NNDescent.BuildPrepared(prepared, k, metric, options ?? new(), out var trees);
        return new KnnIndex(prepared, metric, graph, () => trees);
    }

    /// <summary>
    /// An index over a graph built already (a run's neighbour graph): the search trees that queries start from are grown
    /// on the first query.
    /// </summary>
    /// <param name="data">The points the graph was built of.</param>
    public static KnnIndex FromGraph(Matrix data, Metric metric, KnnGraph graph, ulong seed = 0)
    {
        if (graph.Count != data.Rows) throw new PerceptException($"the graph has {graph.Count} points; the data {data.Rows}");
        var prepared = Distance.Prepare(data, metric);
        return new KnnIndex(prepared, metric, graph, () =>
        {
            var space = TreeSpace.Create(prepared, seed * 1000003UL, new ParallelOptions());
            int leaf = Math.Max(graph.K + 1, 30);
            return Enumerable.Range(0, 3).Select(t => new RandomProjectionTree(space, leaf, seed * 1000003UL + (ulong)t + 1)).ToList();
        });
    }

    /// <summary>The <paramref name="k"/> nearest indexed points to each query row.</summary>
    /// <param name="epsilon">Search breadth: candidates up to (1 + ε) × the current k-th distance are explored.</param>
    public KnnGraph Query(Matrix queries, int k, double epsilon = 0.1, int threads = 0)
    {
        if (queries.Columns != _data.Columns) throw new PerceptException($"queries have {queries.Columns} columns, the index {_data.Columns}");
        if (k < 1 || k > _data.Rows) throw new PerceptException($"k = {k} needs at least {k} indexed points; there are {_data.Rows}");
        var q = Distance.Prepare(queries, Metric);
        var indices = new int[q.Rows * k];
        var distances = new float[q.Rows * k];
        Parallel.For(0, q.Rows, new ParallelOptions { MaxDegreeOfParallelism = threads > 0 ? threads : Environment.ProcessorCount },
            () => new int[_data.Rows], (i, _, visited) =>
            {
                Search(q.Row(i), k, (float)epsilon, i + 1, visited, distances.AsSpan(i * k, k), indices.AsSpan(i * k, k));
                return visited;
            }, _ => { });
        return new KnnGraph(indices, distances, q.Rows, k);
    }

    void Search(ReadOnlySpan<float> query, int k, float epsilon, int stamp, int[] visited, Span<float> outD, Span<int> outI)
    {
        int ef = Math.Max(k, 10);
        var resultD = new float[ef]; var resultI = new int[ef];
        Array.Fill(resultD, float.PositiveInfinity); Array.Fill(resultI, -1);
        var frontier = new PriorityQueue<int, float>();
        void Visit(int j, ReadOnlySpan<float> qv)
        {
            if (visited[j] == stamp) return;
            visited[j] = stamp;
            float d = Distance.Squared(qv, _data.Row(j));
            if (d < resultD[0] * (1 + epsilon) * (1 + epsilon) || resultI[0] < 0)
            {
                NeighborHeap.Push(resultD, resultI, d, j, checkDuplicate: false);
                frontier.Enqueue(j, d);
            }
        }
        // The forest's trees share one space: the query is projected into it once.
        var trees = _trees.Value;
        var reduced = trees[0].Space.Reduce(query);
        foreach (var tree in trees.Take(3))
            foreach (var j in tree.Leaf(reduced)) Visit(j, query);
        while (frontier.TryDequeue(out int c, out float dc))
        {
            if (resultI[0] >= 0 && dc > resultD[0] * (1 + epsilon) * (1 + epsilon)) break;
            foreach (var j in _links[c]) Visit(j, query);
        }
        NeighborHeap.Sort(resultD, resultI);
        for (int t = 0; t < k; t++) { outD[t] = Distance.Report(resultD[t], Metric); outI[t] = resultI[t]; }
    }
}
