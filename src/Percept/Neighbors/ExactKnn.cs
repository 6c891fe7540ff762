using System.Numerics.Tensors;

namespace Percept.Neighbors;

/// <summary>
/// Exact k nearest neighbours by brute force, blocked and multithreaded: queries are taken in tiles, data points in
/// blocks small enough to stay in cache, and each distance is ‖q‖² + ‖x‖² − 2 q·x with the dot product from
/// <see cref="TensorPrimitives.Dot(ReadOnlySpan{float}, ReadOnlySpan{float})"/> (SIMD). Memory: one k-heap per query;
/// no N×N matrix.
/// </summary>
public static class ExactKnn
{
    const int QueryTile = 32;
    const int DataBlock = 128;

    /// <summary>The k nearest points of <paramref name="data"/> to each of its own points (excluding itself).</summary>
    public static KnnGraph Search(Matrix data, int k, Metric metric = Metric.Euclidean, int threads = 0) =>
        Search(data, null, k, metric, threads);

    /// <summary>
    /// The k nearest points of <paramref name="data"/> to each row of <paramref name="queries"/>; when queries is null the
    /// data are their own queries and a point is not its own neighbour.
    /// </summary>
    public static KnnGraph Search(Matrix data, Matrix? queries, int k, Metric metric = Metric.Euclidean, int threads = 0)
    {
        bool self = queries == null;
        int available = data.Rows - (self ? 1 : 0);
        if (k < 1 || k > available) throw new PerceptException($"k = {k} needs at least {k + (self ? 1 : 0)} points; there are {data.Rows}");
        if (!self && queries!.Columns != data.Columns) throw new PerceptException($"queries have {queries.Columns} columns, the data {data.Columns}");
        var x = Distance.Prepare(data, metric);
        var q = self ? x : Distance.Prepare(queries!, metric);
        var xNorm = SquaredNorms(x);
        var qNorm = self ? xNorm : SquaredNorms(q);
        int nq = q.Rows;
        var indices = new int[nq * k];
        var distances = new float[nq * k];
        int tiles = (nq + QueryTile - 1) / QueryTile;
        var options = new ParallelOptions { MaxDegreeOfParallelism = threads > 0 ? threads : Environment.ProcessorCount };
        Parallel.For(0, tiles, options, tile =>
        {
            int q0 = tile * QueryTile, q1 = Math.Min(nq, q0 + QueryTile);
            for (int i = q0; i < q1; i++)
            {
                distances.AsSpan(i * k, k).Fill(float.PositiveInfinity);
                indices.AsSpan(i * k, k).Fill(-1);
            }
            for (int b0 = 0; b0 < x.Rows; b0 += DataBlock)
            {
                int b1 = Math.Min(x.Rows, b0 + DataBlock);
                for (int i = q0; i < q1; i++)
                {
                    var qi = q.Row(i);
                    var heapD = distances.AsSpan(i * k, k);
                    var heapI = indices.AsSpan(i * k, k);
                    for (int j = b0; j < b1; j++)
                    {
                        if (self && j == i) continue;
                        float d = qNorm[i] + xNorm[j] - 2 * TensorPrimitives.Dot(qi, x.Row(j));
                        if (d < heapD[0]) NeighborHeap.Push(heapD, heapI, MathF.Max(0, d), j, checkDuplicate: false);
                    }
                }
            }
            for (int i = q0; i < q1; i++)
            {
                var heapD = distances.AsSpan(i * k, k);
                NeighborHeap.Sort(heapD, indices.AsSpan(i * k, k));
                for (int t = 0; t < k; t++) heapD[t] = Distance.Report(heapD[t], metric);
            }
        });
        return new KnnGraph(indices, distances, nq, k);
    }

    internal static float[] SquaredNorms(Matrix m)
    {
        var norms = new float[m.Rows];
        for (int i = 0; i < m.Rows; i++) { var r = m.Row(i); norms[i] = TensorPrimitives.Dot(r, r); }
        return norms;
    }
}
