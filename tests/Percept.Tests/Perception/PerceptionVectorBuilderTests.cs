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
}
