using System.Numerics.Tensors;
using Percept.Perception;
using Percept.Store;

namespace Percept.Neighbors;

/// <summary>
/// Fetch Similar over a run: the samples the model perceives as most like a given one. Candidates come from the run's
/// neighbour graph (the sample's neighbours, then theirs, nearest first), and are ranked by the cosine similarity of their
/// perception vectors, read row by row, so nothing is searched exhaustively and the vectors never need to fit in memory.
/// Thread-safe.
/// </summary>
public sealed class SimilarSamples : IDisposable
{
    readonly RunGraph _graph;
    readonly FieldReader _vectors;

    /// <exception cref="PerceptException">The run has no neighbour graph.</exception>
    public SimilarSamples(Run run)
    {
        _graph = RunGraph.Read(run);
        _vectors = run.Open(PerceptionFields.Embedding);
    }

    /// <summary>Candidates gathered per neighbour asked for, before ranking.</summary>
    const int CandidatesPerResult = 4;

    /// <summary>
    /// The (at most) <paramref name="k"/> samples most similar to <paramref name="sample"/>, most similar first, with the
    /// cosine similarity of their perception vectors; none for a sample without finite vectors.
    /// </summary>
    public (int Index, float Similarity)[] Nearest(int sample, int k)
    {
        var graph = _graph.Graph;
        if (sample < 0 || sample >= graph.Count) throw new PerceptException($"sample {sample} is outside the run's {graph.Count} samples");
        if (graph.NeighborsOf(sample)[0] < 0 || k < 1) return [];
        // Breadth first through the graph: the sample's neighbours, then theirs, until enough candidates.
        int wanted = Math.Max(CandidatesPerResult * k, 2 * graph.K);
        var seen = new HashSet<int> { sample };
        var candidates = new List<int>();
        var frontier = new Queue<int>();
        frontier.Enqueue(sample);
        while (frontier.Count > 0 && candidates.Count < wanted)
            foreach (int j in graph.NeighborsOf(frontier.Dequeue()))
                if (j >= 0 && seen.Add(j)) { candidates.Add(j); frontier.Enqueue(j); }
        var self = new float[_vectors.Columns];
        var other = new float[_vectors.Columns];
        _vectors.ReadRow(sample, self);
        var scored = new List<(int Index, float Similarity)>(candidates.Count);
        foreach (int j in candidates)
        {
            _vectors.ReadRow(j, other);
            scored.Add((j, TensorPrimitives.CosineSimilarity(self, other)));
        }
        return [.. scored.OrderByDescending(s => s.Similarity).ThenBy(s => s.Index).Take(k)];
    }

    /// <summary>
    /// Every sample's <paramref name="k"/> graph neighbours (at most the graph's k) with the cosine similarity of their
    /// perception vectors, most similar first: the report's neighbour table. Row i of the result lists sample i's (−1 and
    /// NaN where it has none). Vectors larger than 256 MB are not read: the graph's own cosine distances (in its space,
    /// the vectors' first principal components) give the similarities and the order.
    /// </summary>
    public static (int[] Indices, float[] Similarities, int K) All(Run run, int k, CancellationToken cancellationToken = default)
    {
        var graph = RunGraph.Read(run).Graph;
        k = Math.Min(k, graph.K);
        int n = graph.Count;
        using var vectors = run.Open(PerceptionFields.Embedding);
        int width = vectors.Columns;
        if (vectors.Elements * sizeof(float) > 256L << 20)
        {
            var first = graph.First(k);
            return (first.Indices, first.Distances.Select(d => float.IsNaN(d) ? float.NaN : 1 - d).ToArray(), k);
        }
        var all = vectors.ReadAll();
        var indices = new int[n * k];
        var similarities = new float[n * k];
        const int block = 1024;
        Parallel.For(0, (n + block - 1) / block, new ParallelOptions { CancellationToken = cancellationToken }, b =>
        {
            var found = new (int, float)[graph.K];
            for (int i = b * block, end = Math.Min(n, i + block); i < end; i++)
            {
                var nb = graph.NeighborsOf(i);
                ReadOnlySpan<float> a = all.AsSpan(i * width, width);
                int m = 0;
                foreach (int j in nb)
                    if (j >= 0) found[m++] = (j, TensorPrimitives.CosineSimilarity(a, all.AsSpan(j * width, width)));
                var best = found.AsSpan(0, m).ToArray().OrderByDescending(f => f.Item2).ThenBy(f => f.Item1).Take(k).ToArray();
                for (int t = 0; t < k; t++)
                {
                    indices[i * k + t] = t < best.Length ? best[t].Item1 : -1;
                    similarities[i * k + t] = t < best.Length ? best[t].Item2 : float.NaN;
                }
            }
        });
        return (indices, similarities, k);
    }

    public void Dispose() => _vectors.Dispose();
}
