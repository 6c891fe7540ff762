namespace Percept.Perception;

/// <summary>
/// Builds perception vectors from pooled layer blocks once dataset-wide statistics are known: each feature is
/// standardised over the dataset, each layer's block is weighted by 1/sqrt(its live features) so every layer adds
/// the same expected squared length whatever its width, the blocks are concatenated, and a seeded sparse random
/// projection reduces the result when it is wider than the bound. Every vector depends only on its own sample and
/// the dataset statistics, never on which batch it came in. See docs/perception-vectors.md.
/// </summary>
internal sealed class PerceptionVectorBuilder
{
    /// <summary>Features whose standard deviation is below this are treated as constant and contribute zero.</summary>
    public const float ConstantFeatureStd = 1e-6f;

    readonly float[][] _mean;
    readonly float[][] _scale;  // weight / std, or 0 for a constant feature
    readonly int[] _widths;
    readonly SparseRandomProjection? _projection;
    readonly float[] _concat;

    /// <summary>Width of the concatenated, weighted blocks before any projection.</summary>
    public int ConcatenatedWidth { get; }

    /// <summary>Width of the vectors produced.</summary>
    public int Width => _projection?.OutputDimensions ?? ConcatenatedWidth;

    /// <summary>Weight applied to each layer's standardised block.</summary>
    public IReadOnlyList<float> LayerWeights { get; }

    /// <param name="means">Per layer, the mean of each pooled feature over the dataset.</param>
    /// <param name="stds">Per layer, the standard deviation of each pooled feature over the dataset.</param>
    /// <param name="maxWidth">Project when the concatenation is wider than this (0 = never).</param>
    /// <param name="seed">Seed of the random projection.</param>
    public PerceptionVectorBuilder(IReadOnlyList<float[]> means, IReadOnlyList<float[]> stds, int maxWidth, ulong seed)
    {
        _widths = means.Select(m => m.Length).ToArray();
        _mean = [.. means];
        _scale = new float[means.Count][];
        var weights = new float[means.Count];
        for (int l = 0; l < means.Count; l++)
        {
            int live = stds[l].Count(s => s > ConstantFeatureStd);
            weights[l] = live == 0 ? 0f : 1f / MathF.Sqrt(live);
            _scale[l] = stds[l].Select(s => s > ConstantFeatureStd ? weights[l] / s : 0f).ToArray();
        }
        LayerWeights = weights;
        ConcatenatedWidth = _widths.Sum();
        _concat = new float[ConcatenatedWidth];
        if (maxWidth > 0 && ConcatenatedWidth > maxWidth)
            _projection = new SparseRandomProjection(ConcatenatedWidth, maxWidth, seed);
    }

    /// <summary>Builds the vector of one sample from its pooled block of every layer (not thread-safe: use <see cref="BuildRows"/> from several threads).</summary>
    public void Build(IReadOnlyList<ReadOnlyMemory<float>> blocks, Span<float> destination)
    {
        Span<float> target = _projection == null ? destination[..ConcatenatedWidth] : _concat;
        for (int l = 0, offset = 0; l < _widths.Length; offset += _widths[l], l++)
            Standardise(l, blocks[l].Span, target.Slice(offset, _widths[l]));
        _projection?.Project(_concat, destination);
    }

    void Standardise(int l, ReadOnlySpan<float> x, Span<float> dst)
    {
        var mean = _mean[l];
        var scale = _scale[l];
        for (int j = 0; j < dst.Length; j++) dst[j] = (x[j] - mean[j]) * scale[j];
    }

    /// <summary>Floats of scratch <see cref="BuildRows"/> needs.</summary>
    public int ScratchLength => _projection == null ? 0
        : SparseRandomProjection.BatchRows * (2 * ConcatenatedWidth + _projection.OutputDimensions);

    /// <summary>
    /// Builds the vectors of <paramref name="count"/> consecutive samples, row <paramref name="first"/> of each layer's
    /// block (<paramref name="layers"/>[l] holds rows of that layer's width) onwards, into <paramref name="destination"/>
    /// (count × <see cref="Width"/>): the same values as <see cref="Build"/>, bit for bit. Thread-safe with a scratch span per thread.
    /// </summary>
    public void BuildRows(IReadOnlyList<float[]> layers, int first, int count, Span<float> destination, Span<float> scratch)
    {
        if (_projection == null)
        {
            for (int r = 0; r < count; r++)
                for (int l = 0, offset = 0; l < _widths.Length; offset += _widths[l], l++)
                    Standardise(l, layers[l].AsSpan((first + r) * _widths[l], _widths[l]), destination.Slice(r * ConcatenatedWidth + offset, _widths[l]));
            return;
        }
        int d = ConcatenatedWidth, k = _projection.OutputDimensions;
        var rows = scratch[..(SparseRandomProjection.BatchRows * d)];
        var work = scratch[rows.Length..];
        for (int start = 0; start < count; start += SparseRandomProjection.BatchRows)
        {
            int n = Math.Min(SparseRandomProjection.BatchRows, count - start);
            for (int r = 0; r < n; r++)
                for (int l = 0, offset = 0; l < _widths.Length; offset += _widths[l], l++)
                    Standardise(l, layers[l].AsSpan((first + start + r) * _widths[l], _widths[l]), rows.Slice(r * d + offset, _widths[l]));
            _projection.ProjectBatch(rows, n, destination.Slice(start * k, n * k), work);
        }
    }
}
