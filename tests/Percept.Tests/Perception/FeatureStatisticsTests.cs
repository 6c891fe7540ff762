using Percept.Perception;

namespace Percept.Tests.Perception;

public class FeatureStatisticsTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(257, 3)]
    [InlineData(1000, 13)]
    public void Batched_merge_equals_a_two_pass_reference_whatever_the_batches(int rows, int features)
    {
        var rng = new Random(rows + features);
        // A large common offset: a naive sum-of-squares formula would lose the variance to cancellation.
        var data = Enumerable.Range(0, rows * features).Select(_ => (float)(1000 + rng.NextDouble() * 3)).ToArray();
        var stats = new FeatureStatistics(features);
        int done = 0;
        while (done < rows)
        {
            int n = Math.Min(rows - done, rng.Next(1, 70));
            stats.Add(data.AsSpan(done * features, n * features), n);
            done += n;
        }
        var mean = stats.Mean();
        var std = stats.StandardDeviation();
        for (int j = 0; j < features; j++)
        {
            var col = Enumerable.Range(0, rows).Select(r => (double)data[r * features + j]).ToArray();
            double m = col.Average();
            double s = Math.Sqrt(col.Sum(v => (v - m) * (v - m)) / rows);
            Assert.Equal(m, mean[j], 1e-3);
            Assert.Equal(s, std[j], Math.Max(1e-4, s * 1e-4));
        }
        Assert.Equal(rows, stats.Count);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 7)]
    [InlineData(256, 8)]
    [InlineData(255, 13)]
    [InlineData(97, 250)]
    public void A_batch_sums_each_feature_in_the_rows_order_bit_for_bit_like_a_loop_over_its_column(int rows, int features)
    {
        var rng = new Random(rows * 31 + features);
        var data = Enumerable.Range(0, rows * features).Select(_ => (float)(rng.NextDouble() * 100 - 20) * (rng.Next(4) == 0 ? 1e-3f : 1f)).ToArray();
        // The reference: each feature's column in turn, in double, a product and a sum (the vector kernels' lanes must not fuse them).
        var mean = new double[features];
        var m2 = new double[features];
        for (int j = 0; j < features; j++)
        {
            for (int r = 0; r < rows; r++) mean[j] += data[r * features + j];
            mean[j] /= rows;
            for (int r = 0; r < rows; r++) { double d = data[r * features + j] - mean[j]; m2[j] += d * d; }
        }
        var sum = new double[features];
        var squares = new double[features];
        for (int r = 0; r < rows; r++) FeatureStatistics.AddRow(data.AsSpan(r * features, features), sum);
        Assert.Equal(mean, sum.Select(v => v / rows).ToArray());
        for (int r = 0; r < rows; r++) FeatureStatistics.AddSquaredDeviations(data.AsSpan(r * features, features), mean, squares);
        Assert.Equal(m2, squares);
    }
}
