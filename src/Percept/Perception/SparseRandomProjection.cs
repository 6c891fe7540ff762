using System.Numerics;

namespace Percept.Perception;

/// <summary>
/// A fixed, seeded very sparse random projection (Li, Hastie and Church, 2006): each input feature is sent to about
/// <c>k / sqrt(d)</c> output coordinates with weight ±sqrt(sqrt(d) / k). It preserves pairwise distances in
/// expectation (Johnson–Lindenstrauss) while storing only <c>k·sqrt(d)</c> entries, so wide models need no dense
/// <c>d × k</c> matrix. The same seed and sizes always give the same projection, on any machine.
/// </summary>
internal sealed class SparseRandomProjection
{
    readonly int[] _start;   // CSR over input features
    readonly int[] _column;
    readonly float[] _weight;

    public int InputDimensions { get; }
    public int OutputDimensions { get; }

    public SparseRandomProjection(int inputDimensions, int outputDimensions, ulong seed)
    {
        InputDimensions = inputDimensions;
        OutputDimensions = outputDimensions;
        double s = Math.Sqrt(inputDimensions);
        double density = 1.0 / s;
        float w = (float)Math.Sqrt(s / outputDimensions);
        var rng = new SplitMix64(seed);
        var start = new int[inputDimensions + 1];
        var cols = new List<int>();
        var weights = new List<float>();
        for (int i = 0; i < inputDimensions; i++)
        {
            start[i] = cols.Count;
            for (int j = 0; j < outputDimensions; j++)
            {
                if (rng.NextDouble() >= density) continue;
                cols.Add(j);
                weights.Add(rng.NextDouble() < 0.5 ? -w : w);
            }
        }
        start[inputDimensions] = cols.Count;
        _start = start;
        _column = [.. cols];
        _weight = [.. weights];
    }

    /// <summary>The transpose: <paramref name="destination"/> = R · <paramref name="source"/> (gradients flow back through the projection this way).</summary>
    public void ProjectTranspose(ReadOnlySpan<float> source, Span<float> destination)
    {
        for (int i = 0; i < InputDimensions; i++)
        {
            float s = 0;
            for (int k = _start[i]; k < _start[i + 1]; k++) s += _weight[k] * source[_column[k]];
            destination[i] = s;
        }
    }

    /// <summary>Projects one row: <paramref name="destination"/> = <paramref name="source"/> · R.</summary>
    public void Project(ReadOnlySpan<float> source, Span<float> destination)
    {
        destination[..OutputDimensions].Clear();
        for (int i = 0; i < InputDimensions; i++)
        {
            float x = source[i];
            if (x == 0) continue;
            for (int k = _start[i]; k < _start[i + 1]; k++) destination[_column[k]] += x * _weight[k];
        }
    }

    /// <summary>Rows projected together by <see cref="ProjectBatch"/>: its transposed block is rows × outputs floats (512 KB at 4,096 outputs, in L2).</summary>
    public const int BatchRows = 32;

    /// <summary>
    /// Projects up to <see cref="BatchRows"/> rows at once, each exactly as <see cref="Project"/> does (the same products
    /// added in the same order, so the same bits): the rows are transposed so that a sample's values of one input feature
    /// lie side by side, and each of the projection's entries becomes one vector multiply-add over the rows, instead of one
    /// scattered add per row. <paramref name="scratch"/> holds (inputs + outputs) × <see cref="BatchRows"/> floats.
    /// </summary>
    public void ProjectBatch(ReadOnlySpan<float> source, int rows, Span<float> destination, Span<float> scratch)
    {
        if (rows is < 1 or > BatchRows) throw new ArgumentOutOfRangeException(nameof(rows));
        const int b = BatchRows;
        int d = InputDimensions, k = OutputDimensions;
        var xt = scratch[..(d * b)];
        var yt = scratch.Slice(d * b, k * b);
        // Transpose in: xt[i, r] = source[r, i] (rows past the last are zero and stay out of the result).
        for (int i = 0; i < d; i++)
        {
            var col = xt.Slice(i * b, b);
            for (int r = 0; r < rows; r++) col[r] = source[r * d + i];
            col[rows..].Clear();
        }
        yt.Clear();
        int lanes = Vector<float>.Count;
        for (int i = 0; i < d; i++)
        {
            var xi = xt.Slice(i * b, b);
            for (int e = _start[i]; e < _start[i + 1]; e++)
            {
                var w = new Vector<float>(_weight[e]);
                var yc = yt.Slice(_column[e] * b, b);
                // Multiply, then add (not fused): the same rounding as the row-by-row projection. A zero input adds
                // ±0, which leaves a sum that started at +0 unchanged, as skipping it does.
                for (int r = 0; r < b; r += lanes)
                    (new Vector<float>(yc[r..]) + new Vector<float>(xi[r..]) * w).CopyTo(yc[r..]);
            }
        }
        // Transpose out.
        for (int c = 0; c < k; c++)
        {
            var col = yt.Slice(c * b, b);
            for (int r = 0; r < rows; r++) destination[r * k + c] = col[r];
        }
    }
}
