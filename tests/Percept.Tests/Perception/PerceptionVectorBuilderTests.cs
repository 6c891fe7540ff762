using Percept.Perception;

namespace Percept.Tests.Perception;

public class PerceptionVectorBuilderTests
{
    static (float[][] Blocks, float[][] Means, float[][] Stds) RandomLayers(int rows, int[] widths, int seed)
    {
        var rng = new Random(seed);
        var blocks = widths.Select(w => Enumerable.Range(0, rows * w).Select(_ => (float)(rng.NextDouble() * 10 - 3)).ToArray()).ToArray();
        var means = new float[widths.Length][];
        var stds = new float[widths.Length][];
        for (int l = 0; l < widths.Length; l++)
        {
            var st = new FeatureStatistics(widths[l]);
            st.Add(blocks[l], rows);
            means[l] = st.Mean();
            stds[l] = st.StandardDeviation();
        }
        return (blocks, means, stds);
    }

    [Fact]
    public void Each_layer_adds_the_same_mean_squared_length_whatever_its_width()
    {
        int rows = 400;
        int[] widths = [3, 50, 700];
        var (blocks, means, stds) = RandomLayers(rows, widths, 1);
        var builder = new PerceptionVectorBuilder(means, stds, maxWidth: 0, seed: 0);
        Assert.Equal(widths.Sum(), builder.Width);
        var v = new float[builder.Width];
        var perLayer = new double[widths.Length];
        for (int r = 0; r < rows; r++)
        {
            builder.Build(widths.Select((w, l) => (ReadOnlyMemory<float>)blocks[l].AsMemory(r * w, w)).ToArray(), v);
            int o = 0;
            for (int l = 0; l < widths.Length; l++) { for (int j = 0; j < widths[l]; j++) perLayer[l] += v[o + j] * v[o + j]; o += widths[l]; }
        }
        foreach (var sum in perLayer) Assert.Equal(1.0, sum / rows, 1e-3);
    }

    [Fact]
    public void Constant_features_contribute_zero_and_do_not_count_towards_the_weight()
    {
        var means = new[] { new float[] { 5f, 1f, 2f } };
        var stds = new[] { new float[] { 0f, 2f, 0.5f } };
        var b = new PerceptionVectorBuilder(means, stds, 0, 0);
        var v = new float[3];
        b.Build([new float[] { 5f, 3f, 1f }], v);
        float w = 1 / MathF.Sqrt(2);
        Assert.Equal(new[] { 0f, w * 1f, w * -2f }, v);
    }

    [Fact]
    public void Wide_vectors_are_projected_deterministically_and_keep_distances()
    {
        int rows = 60;
        int[] widths = [900, 700];
        var (blocks, means, stds) = RandomLayers(rows, widths, 2);
        var full = new PerceptionVectorBuilder(means, stds, 0, 0);
        var a = new PerceptionVectorBuilder(means, stds, 256, seed: 7);
        var b = new PerceptionVectorBuilder(means, stds, 256, seed: 7);
        Assert.Equal(256, a.Width);
        Assert.Equal(1600, a.ConcatenatedWidth);
        float[][] Vectors(PerceptionVectorBuilder builder) => Enumerable.Range(0, rows).Select(r =>
        {
            var v = new float[builder.Width];
            builder.Build(widths.Select((w, l) => (ReadOnlyMemory<float>)blocks[l].AsMemory(r * w, w)).ToArray(), v);
            return v;
        }).ToArray();
        var vf = Vectors(full);
        var va = Vectors(a);
        Assert.Equal(va.SelectMany(x => x), Vectors(b).SelectMany(x => x));
        var ratios = new List<double>();
        for (int i = 0; i < rows; i++)
            for (int j = i + 1; j < rows; j++)
                ratios.Add(Math.Sqrt(Dist2(va[i], va[j]) / Dist2(vf[i], vf[j])));
        Assert.InRange(ratios.Average(), 0.95, 1.05);
        Assert.True(ratios.All(r => r is > 0.75 and < 1.25), $"distance ratios {ratios.Min():F3}..{ratios.Max():F3}");
    }

    static double Dist2(float[] x, float[] y) => x.Zip(y).Sum(p => (double)(p.First - p.Second) * (p.First - p.Second));

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(31)]
    [InlineData(32)]
    [InlineData(33)]
    [InlineData(97)]
    public void Rows_built_together_are_bit_for_bit_the_rows_built_one_at_a_time(int rows)
    {
        // Three layers of odd widths (333 + 17 + 1 features) projected to 129, and the same unprojected; values with zeros
        // (which the row-by-row projection skips) and both signs.
        var rng = new Random(rows);
        int[] widths = [333, 17, 1];
        var means = widths.Select(w => Enumerable.Range(0, w).Select(_ => (float)rng.NextDouble()).ToArray()).ToArray();
        var stds = widths.Select(w => Enumerable.Range(0, w).Select(_ => 0.3f + (float)rng.NextDouble()).ToArray()).ToArray();
        var layers = widths.Select((w, l) => Enumerable.Range(0, rows * w).Select(i => rng.Next(7) == 0 ? means[l][i % w] : (float)(rng.NextDouble() * 4 - 2)).ToArray()).ToArray();
        foreach (int maxWidth in new[] { 129, 0 })
        {
            var builder = new PerceptionVectorBuilder(means, stds, maxWidth, 7);
            var together = new float[rows * builder.Width];
            builder.BuildRows(layers, 0, rows, together, new float[builder.ScratchLength]);
            var one = new float[builder.Width];
            for (int r = 0; r < rows; r++)
            {
                builder.Build(layers.Select((x, l) => (ReadOnlyMemory<float>)x.AsMemory(r * widths[l], widths[l])).ToArray(), one);
                for (int c = 0; c < builder.Width; c++)
                    Assert.True(BitConverter.SingleToInt32Bits(one[c]) == BitConverter.SingleToInt32Bits(together[r * builder.Width + c]),
                        $"max width {maxWidth}, row {r}, coordinate {c}: {one[c]:R} alone, {together[r * builder.Width + c]:R} together");
            }
        }
    }

    [Theory]
    [InlineData(1, true)]
    [InlineData(32, true)]
    [InlineData(7, false)]
    [InlineData(32, false)]
    public void Both_batch_kernels_of_the_projection_equal_the_row_by_row_projection_bit_for_bit(int rows, bool wide)
    {
        // Without 256-bit vectors the wide kernel is the portable one: nothing more to pin.
        if (wide && !System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated) return;
        var rng = new Random(rows * 2 + (wide ? 1 : 0));
        var projection = new SparseRandomProjection(517, 203, 11);
        var source = Enumerable.Range(0, rows * 517).Select(_ => rng.Next(5) == 0 ? 0f : (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var batch = new float[rows * 203];
        projection.ProjectBatch(source, rows, batch, new float[SparseRandomProjection.BatchRows * (517 + 203)], wide);
        var one = new float[203];
        for (int r = 0; r < rows; r++)
        {
            projection.Project(source.AsSpan(r * 517, 517), one);
            for (int c = 0; c < 203; c++)
                Assert.Equal(BitConverter.SingleToInt32Bits(one[c]), BitConverter.SingleToInt32Bits(batch[r * 203 + c]));
        }
    }
}
