using Percept.Perception;

namespace Percept.Tests.Perception;

public class PoolingTests
{
    static float[] RandomData(int n, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 4 - 2)).ToArray();
    }

    [Theory]
    [InlineData(3, 5, 1, 1)]
    [InlineData(2, 7, 3, 5)]
    [InlineData(4, 16, 13, 11)]
    [InlineData(1, 3, 31, 1)]
    public void Channels_first_matches_a_naive_reduction(int batch, int channels, int h, int w)
    {
        var act = RandomData(batch * channels * h * w, batch + channels + h + w);
        foreach (var mode in new[] { PoolingMode.Mean, PoolingMode.Max })
        {
            var got = new float[batch * channels];
            Pooling.Pool(act, [batch, channels, h, w], channelsLast: false, mode, batch, got);
            for (int b = 0; b < batch; b++)
                for (int c = 0; c < channels; c++)
                {
                    var plane = Enumerable.Range(0, h * w).Select(i => (double)act[((b * channels) + c) * h * w + i]).ToArray();
                    double expected = mode == PoolingMode.Mean ? plane.Average() : plane.Max();
                    Assert.Equal(expected, got[b * channels + c], 1e-5);
                }
        }
    }

    [Theory]
    [InlineData(2, 9, 5)]
    [InlineData(3, 1, 17)]
    [InlineData(1, 12, 3)]
    public void Channels_last_pools_the_middle_axes(int batch, int tokens, int features)
    {
        var act = RandomData(batch * tokens * features, tokens * features);
        foreach (var mode in new[] { PoolingMode.Mean, PoolingMode.Max })
        {
            var got = new float[batch * features];
            Pooling.Pool(act, [batch, tokens, features], channelsLast: true, mode, batch, got);
            for (int b = 0; b < batch; b++)
                for (int f = 0; f < features; f++)
                {
                    var col = Enumerable.Range(0, tokens).Select(t => (double)act[(b * tokens + t) * features + f]).ToArray();
                    Assert.Equal(mode == PoolingMode.Mean ? col.Average() : col.Max(), got[b * features + f], 1e-5);
                }
        }
    }

    [Fact]
    public void Only_the_requested_rows_are_pooled_for_a_padded_batch()
    {
        var act = RandomData(4 * 3 * 2, 9);
        var got = Enumerable.Repeat(-99f, 4 * 3).ToArray();
        Pooling.Pool(act, [4, 3, 2], channelsLast: false, PoolingMode.Mean, rows: 2, got);
        Assert.All(got.Skip(6), v => Assert.Equal(-99f, v));
    }
}
