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
}
