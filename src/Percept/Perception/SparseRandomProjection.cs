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
}
