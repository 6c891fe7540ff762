using System.Numerics.Tensors;

namespace Percept.Neighbors;

/// <summary>
/// A matrix prepared once for exact nearest-neighbour queries (rows normalised for the cosine metric, squared norms
/// computed), so that each query costs one pass of dot products: exhaustive search over a matrix in memory, for callers
/// that want the exact answer (a run's Fetch Similar reads its stored graph instead: <see cref="SimilarSamples"/>).
/// </summary>
public sealed class ExactIndex
{
    readonly Matrix _source, _prepared;
    readonly float[] _norms;
    readonly Metric _metric;

    public ExactIndex(Matrix data, Metric metric)
    {
        _source = data;
        _metric = metric;
        _prepared = Distance.Prepare(data, metric);
        _norms = ExactKnn.SquaredNorms(_prepared);
    }

    /// <summary>Points in the index.</summary>
    public int Count => _prepared.Rows;

    /// <summary>
    /// The <paramref name="k"/> points nearest to point <paramref name="row"/> (itself excluded), nearest first, with their
    /// distances (cosine: 1 − cosine similarity); fewer when fewer points have finite values.
    /// </summary>
    /// <exception cref="PerceptException">A row outside the index, or k not between 1 and the other points.</exception>
    public (int Index, float Distance)[] Nearest(int row, int k)
    {
        if (row < 0 || row >= Count) throw new PerceptException($"point {row} is outside the index of {Count} points");
        if (k < 1 || k > Count - 1) throw new PerceptException($"k = {k} needs at least {k + 1} points; there are {Count}");
        var heapD = new float[k];
        var heapI = new int[k];
        heapD.AsSpan().Fill(float.PositiveInfinity);
        heapI.AsSpan().Fill(-1);
        var q = _prepared.Row(row);
        float qn = _norms[row];
        if (!float.IsFinite(qn)) throw new PerceptException($"point {row} has NaN or infinite values; it has no neighbours");
        for (int j = 0; j < Count; j++)
        {
            // Points with NaN or infinite values are nobody's neighbours.
            if (j == row || !float.IsFinite(_norms[j])) continue;
            float d = qn + _norms[j] - 2 * TensorPrimitives.Dot(q, _prepared.Row(j));
            if (d < heapD[0]) NeighborHeap.Push(heapD, heapI, MathF.Max(0, d), j, checkDuplicate: false);
        }
        NeighborHeap.Sort(heapD, heapI);
        var result = new List<(int, float)>(k);
        for (int t = 0; t < k; t++) if (heapI[t] >= 0) result.Add((heapI[t], Distance.Report(heapD[t], _metric)));
        return [.. result];
    }

    /// <summary>
    /// Every point's <paramref name="k"/> nearest points (itself excluded), as
    /// <see cref="ExactKnn.Search(Matrix, int, Metric, int, CancellationToken)"/>.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled (checked before each block of 64 rows, or each pair of 512-point blocks).</exception>
    public KnnGraph All(int k, int threads = 0, CancellationToken cancellationToken = default) =>
        ExactKnn.Search(_source, k, _metric, threads, cancellationToken);
}
