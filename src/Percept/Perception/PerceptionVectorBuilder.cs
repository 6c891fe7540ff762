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

    /// <summary>Builds the vector of one sample from its pooled block of every layer.</summary>
    public void Build(IReadOnlyList<ReadOnlyMemory<float>> blocks, Span<float> destination)
    {
        Span<float> target = _projection == null ? destination[..ConcatenatedWidth] : _concat;
        int offset = 0;
        for (int l = 0; l < _widths.Length; l++)
        {
            var x = blocks[l].Span;
            var mean = _mean[l];
            var scale = _scale[l];
            var dst = target.Slice(offset, _widths[l]);
            for (int j = 0; j < dst.Length; j++) dst[j] = (x[j] - mean[j]) * scale[j];
            offset += _widths[l];
        }
        _projection?.Project(_concat, destination);
    }
}
