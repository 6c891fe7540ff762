using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

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
        // The same entries by output coordinate (CSC), each column's in increasing input order: the order Project adds them in.
        var colStart = new int[outputDimensions + 1];
        foreach (int c in _column) colStart[c + 1]++;
        for (int c = 0; c < outputDimensions; c++) colStart[c + 1] += colStart[c];
        var fill = colStart[..^1].ToArray();
        _row = new int[_column.Length];
        _byColumnWeight = new float[_column.Length];
        for (int i = 0; i < inputDimensions; i++)
            for (int e = _start[i]; e < _start[i + 1]; e++)
            {
                int at = fill[_column[e]]++;
                _row[at] = i;
                _byColumnWeight[at] = _weight[e];
            }
        _columnStart = colStart;
    }

    readonly int[] _columnStart;   // CSC over output coordinates
    readonly int[] _row;
    readonly float[] _byColumnWeight;

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

    /// <summary>Rows projected together by <see cref="ProjectBatch(ReadOnlySpan{float}, int, Span{float}, Span{float})"/>: its transposed block of inputs is inputs × rows floats (525 KB at 4,106 inputs, read from L2).</summary>
    public const int BatchRows = 32;

    /// <summary>
    /// Projects up to <see cref="BatchRows"/> rows at once, each exactly as <see cref="Project"/> does (the same products
    /// added in the same order, so the same bits): the rows are transposed so that a sample's values of one input feature
    /// lie side by side, then each output coordinate is summed over its entries (in increasing input order, as
    /// <see cref="Project"/> adds them) in registers, one vector multiply-add over the rows per entry: the block of inputs
    /// is only read, and each output written once. <paramref name="scratch"/> holds (inputs + outputs) × <see cref="BatchRows"/> floats.
    /// </summary>
    public void ProjectBatch(ReadOnlySpan<float> source, int rows, Span<float> destination, Span<float> scratch) =>
        ProjectBatch(source, rows, destination, scratch, Vector256.IsHardwareAccelerated);

    /// <summary>The batch projection with the 256-bit kernel or the portable one (<paramref name="wide"/> false; tests pin both to <see cref="Project"/>).</summary>
    internal void ProjectBatch(ReadOnlySpan<float> source, int rows, Span<float> destination, Span<float> scratch, bool wide)
    {
        if (rows is < 1 or > BatchRows) throw new ArgumentOutOfRangeException(nameof(rows));
        const int b = BatchRows;
        int d = InputDimensions, k = OutputDimensions;
        var xt = scratch[..(d * b)];
        // Transpose in: xt[i, r] = source[r, i] (rows past the last are zero and stay out of the result).
        for (int i = 0; i < d; i++)
        {
            var col = xt.Slice(i * b, b);
            for (int r = 0; r < rows; r++) col[r] = source[r * d + i];
            col[rows..].Clear();
        }
        if (wide && Vector256.IsHardwareAccelerated && b == 4 * Vector256<float>.Count) ProjectColumns256(xt, rows, destination);
        else ProjectColumns(xt, rows, destination, scratch.Slice(d * b, k * b));
    }

    /// <summary>
    /// Lanes: the 32 rows of the batch in four 256-bit accumulators per output coordinate. Multiply, then add (not
    /// fused): the same rounding as the row-by-row projection; a zero input adds ±0, which leaves a sum that started at
    /// +0 unchanged, as skipping it does.
    /// </summary>
    [SkipLocalsInit]
    void ProjectColumns256(ReadOnlySpan<float> xt, int rows, Span<float> destination)
    {
        const int b = BatchRows;
        int k = OutputDimensions;
        var start = _columnStart; var inputRow = _row; var weight = _byColumnWeight;
        ref float x0 = ref MemoryMarshal.GetReference(xt);
        Span<float> lanes = stackalloc float[b];
        for (int c = 0; c < k; c++)
        {
            Vector256<float> a0 = Vector256<float>.Zero, a1 = a0, a2 = a0, a3 = a0;
            for (int e = start[c], end = start[c + 1]; e < end; e++)
            {
                var w = Vector256.Create(weight[e]);
                ref float xi = ref Unsafe.Add(ref x0, inputRow[e] * b);
                a0 += Vector256.LoadUnsafe(ref xi) * w;
                a1 += Vector256.LoadUnsafe(ref xi, 8) * w;
                a2 += Vector256.LoadUnsafe(ref xi, 16) * w;
                a3 += Vector256.LoadUnsafe(ref xi, 24) * w;
            }
            a0.CopyTo(lanes); a1.CopyTo(lanes[8..]); a2.CopyTo(lanes[16..]); a3.CopyTo(lanes[24..]);
            // Transpose out: row r's coordinate c.
            for (int r = 0; r < rows; r++) destination[r * k + c] = lanes[r];
        }
    }

    /// <summary>The same sums with <see cref="Vector{T}"/> of any width (and scalar below it), through a transposed output block.</summary>
    void ProjectColumns(ReadOnlySpan<float> xt, int rows, Span<float> destination, Span<float> yt)
    {
        const int b = BatchRows;
        int k = OutputDimensions, lanes = Vector<float>.Count;
        yt.Clear();
        for (int c = 0; c < k; c++)
        {
            var yc = yt.Slice(c * b, b);
            for (int e = _columnStart[c]; e < _columnStart[c + 1]; e++)
            {
                var xi = xt.Slice(_row[e] * b, b);
                float wf = _byColumnWeight[e];
                if (Vector.IsHardwareAccelerated && b % lanes == 0)
                {
                    var w = new Vector<float>(wf);
                    for (int r = 0; r < b; r += lanes)
                        (new Vector<float>(yc[r..]) + new Vector<float>(xi[r..]) * w).CopyTo(yc[r..]);
                }
                else
                    for (int r = 0; r < b; r++) yc[r] += xi[r] * wf;
            }
            for (int r = 0; r < rows; r++) destination[r * k + c] = yc[r];
        }
    }
}
