using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Percept.Perception;

/// <summary>
/// Mean and variance of each feature over a whole dataset, accumulated batch by batch in double precision
/// (the batch means and squared deviations are merged with Chan et al.'s parallel update, which stays accurate for
/// large counts and large means). Nothing is fitted on a single batch: the statistics are used only once every
/// sample has been seen.
/// </summary>
internal sealed class FeatureStatistics
{
    readonly double[] _mean;
    readonly double[] _m2;
    readonly double[] _batchMean;
    readonly double[] _batchM2;

    public FeatureStatistics(int features)
    {
        _mean = new double[features];
        _m2 = new double[features];
        _batchMean = new double[features];
        _batchM2 = new double[features];
    }

    public int Features => _mean.Length;
    public long Count { get; private set; }

    /// <summary>Adds <paramref name="rows"/> samples (row-major, <see cref="Features"/> values each).</summary>
    /// <remarks>
    /// Row by row, each feature's sum and sum of squared deviations taken in the rows' order in double precision: a lane
    /// per feature, so the same bits as a loop over each feature's column (<c>FeatureStatisticsTests</c>), only without
    /// its strided reads.
    /// </remarks>
    public void Add(ReadOnlySpan<float> values, int rows)
    {
        if (rows == 0) return;
        int f = Features;
        Array.Clear(_batchMean);
        Array.Clear(_batchM2);
        for (int r = 0; r < rows; r++) AddRow(values.Slice(r * f, f), _batchMean);
        for (int j = 0; j < f; j++) _batchMean[j] /= rows;
        for (int r = 0; r < rows; r++) AddSquaredDeviations(values.Slice(r * f, f), _batchMean, _batchM2);
        // The batch joins the running statistics by the one update a segment or a shard joins them with.
        Merge(rows, _batchMean, _batchM2);
    }

    /// <summary><paramref name="sum"/>[j] += <paramref name="row"/>[j], in double.</summary>
    internal static void AddRow(ReadOnlySpan<float> row, Span<double> sum)
    {
        sum = sum[..row.Length];
        int j = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref double s = ref MemoryMarshal.GetReference(sum);
            for (; j + 8 <= row.Length; j += 8)
            {
                var v = Vector256.Create(row.Slice(j, 8));
                (Vector256.LoadUnsafe(ref s, (nuint)j) + Vector256.WidenLower(v)).StoreUnsafe(ref s, (nuint)j);
                (Vector256.LoadUnsafe(ref s, (nuint)j + 4) + Vector256.WidenUpper(v)).StoreUnsafe(ref s, (nuint)j + 4);
            }
        }
        for (; j < row.Length; j++) sum[j] += row[j];
    }

    /// <summary><paramref name="m2"/>[j] += (<paramref name="row"/>[j] − <paramref name="mean"/>[j])², in double (a product and a sum, never fused).</summary>
    internal static void AddSquaredDeviations(ReadOnlySpan<float> row, ReadOnlySpan<double> mean, Span<double> m2)
    {
        mean = mean[..row.Length];
        m2 = m2[..row.Length];
        int j = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref double m = ref MemoryMarshal.GetReference(mean);
            ref double q = ref MemoryMarshal.GetReference(m2);
            for (; j + 8 <= row.Length; j += 8)
            {
                var v = Vector256.Create(row.Slice(j, 8));
                var d0 = Vector256.WidenLower(v) - Vector256.LoadUnsafe(ref m, (nuint)j);
                var d1 = Vector256.WidenUpper(v) - Vector256.LoadUnsafe(ref m, (nuint)j + 4);
                (Vector256.LoadUnsafe(ref q, (nuint)j) + d0 * d0).StoreUnsafe(ref q, (nuint)j);
                (Vector256.LoadUnsafe(ref q, (nuint)j + 4) + d1 * d1).StoreUnsafe(ref q, (nuint)j + 4);
            }
        }
        for (; j < row.Length; j++) { double d = row[j] - mean[j]; m2[j] += d * d; }
    }

    /// <summary>
    /// Adds statistics gathered elsewhere (another segment of the data, another shard): <paramref name="count"/> samples
    /// with these means and sums of squared deviations (Chan et al.'s parallel update; <see cref="Add"/> joins each batch by it).
    /// </summary>
    public void Merge(long count, ReadOnlySpan<double> mean, ReadOnlySpan<double> m2)
    {
        if (count == 0) return;
        if (mean.Length != Features || m2.Length != Features) throw new ArgumentException($"statistics of {mean.Length} features merged into {Features}");
        long n = Count, total = n + count;
        for (int j = 0; j < Features; j++)
        {
            double delta = mean[j] - _mean[j];
            _mean[j] += delta * count / total;
            _m2[j] += m2[j] + delta * delta * n * count / total;
        }
        Count = total;
    }

    /// <summary>Adds <paramref name="other"/>'s samples (see <see cref="Merge(long, ReadOnlySpan{double}, ReadOnlySpan{double})"/>).</summary>
    public void Merge(FeatureStatistics other) => Merge(other.Count, other._mean, other._m2);

    /// <summary>Forgets every sample.</summary>
    public void Clear() { Array.Clear(_mean); Array.Clear(_m2); Count = 0; }

    /// <summary>The running means, in double precision (for a shard's statistics).</summary>
    public ReadOnlySpan<double> MeanValues => _mean;

    /// <summary>The running sums of squared deviations from the mean (M2), in double precision.</summary>
    public ReadOnlySpan<double> M2Values => _m2;

    /// <summary>Mean of each feature.</summary>
    public float[] Mean() => _mean.Select(v => (float)v).ToArray();

    /// <summary>Population standard deviation of each feature.</summary>
    public float[] StandardDeviation() => _m2.Select(v => Count > 0 ? (float)Math.Sqrt(v / Count) : 0f).ToArray();
}
