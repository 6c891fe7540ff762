using Percept.Core;

namespace Percept.Tests.Core;

public class Fft2DTests
{
    /// <summary>The 2-D DFT by its definition, in double.</summary>
    static (double[] Re, double[] Im) NaiveDft(float[] re, float[] im, int m, bool inverse)
    {
        var or = new double[m * m]; var oi = new double[m * m];
        double sign = inverse ? 1 : -1;
        for (int u = 0; u < m; u++)
            for (int v = 0; v < m; v++)
            {
                double sr = 0, si = 0;
                for (int r = 0; r < m; r++)
                    for (int c = 0; c < m; c++)
                    {
                        double a = sign * 2 * Math.PI * ((double)u * r / m + (double)v * c / m);
                        double cr = Math.Cos(a), ci = Math.Sin(a);
                        sr += re[r * m + c] * cr - im[r * m + c] * ci;
                        si += re[r * m + c] * ci + im[r * m + c] * cr;
                    }
                or[u * m + v] = sr; oi[u * m + v] = si;
            }
        return (or, oi);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(12)]
    [InlineData(20)]
    [InlineData(30)]
    [InlineData(36)]
    [InlineData(45)]
    public void Forward_and_inverse_equal_the_dft_by_definition(int m)
    {
        var rng = new Random(m);
        var re = Enumerable.Range(0, m * m).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var im = Enumerable.Range(0, m * m).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var fft = new Fft2D(m);
        foreach (bool inverse in new[] { false, true })
        {
            var (er, ei) = NaiveDft(re, im, m, inverse);
            var r = (float[])re.Clone(); var i = (float[])im.Clone();
            if (inverse) fft.Inverse(r, i, m, threads: 2); else fft.Forward(r, i, m, threads: 2);
            double scale = Math.Sqrt(m * m);
            for (int t = 0; t < m * m; t++)
            {
                Assert.True(Math.Abs(r[t] - er[t]) < 1e-5 * scale * Math.Log2(m + 1) + 1e-5, $"m={m} inverse={inverse} re[{t}] {r[t]} vs {er[t]}");
                Assert.True(Math.Abs(i[t] - ei[t]) < 1e-5 * scale * Math.Log2(m + 1) + 1e-5, $"m={m} inverse={inverse} im[{t}] {i[t]} vs {ei[t]}");
            }
        }
    }

    [Fact]
    public void Pruned_passes_give_the_same_wanted_values_as_full_ones()
    {
        // A 15 x 15 block zero-padded to 30 x 30, as in a convolution: forward told that only 15 columns are non-zero,
        // inverse asked for 15 columns; the top-left block must round-trip.
        const int m = 30, g = 15;
        var rng = new Random(3);
        var re = new float[m * m]; var im = new float[m * m];
        for (int r = 0; r < g; r++) for (int c = 0; c < g; c++) { re[r * m + c] = (float)rng.NextDouble(); im[r * m + c] = (float)rng.NextDouble(); }
        var r0 = (float[])re.Clone(); var i0 = (float[])im.Clone();
        var fft = new Fft2D(m);
        var fr = (float[])re.Clone(); var fi = (float[])im.Clone();
        fft.Forward(fr, fi, m, 1);
        fft.Forward(re, im, g, 1);
        for (int t = 0; t < m * m; t++) { Assert.Equal(fr[t], re[t], 1e-4f); Assert.Equal(fi[t], im[t], 1e-4f); }
        fft.Inverse(re, im, g, 1);
        for (int r = 0; r < g; r++)
            for (int c = 0; c < g; c++)
            {
                Assert.Equal(r0[r * m + c], re[r * m + c] / (m * m), 1e-5f);
                Assert.Equal(i0[r * m + c], im[r * m + c] / (m * m), 1e-5f);
            }
    }

    [Theory]
    [InlineData(30, 15)]
    [InlineData(36, 18)]   // an even number of stages (4, 3, 3): the forward result in the first buffer
    [InlineData(50, 25)]
    [InlineData(90, 45)]   // more rows than one panel, and a panel left partly empty
    public void Convolve_equals_forward_product_and_inverse_bit_for_bit(int m, int g)
    {
        var rng = new Random(m);
        var re = new float[m * m]; var im = new float[m * m];
        for (int r = 0; r < g; r++) for (int c = 0; c < g; c++) { re[r * m + c] = (float)rng.NextDouble(); im[r * m + c] = (float)(rng.NextDouble() - 0.5); }
        var kernel = Enumerable.Range(0, m * m).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var fft = new Fft2D(m);
        var er = (float[])re.Clone(); var ei = (float[])im.Clone();
        fft.Forward(er, ei, g, 2);
        for (int t = 0; t < m * m; t++) { er[t] *= kernel[t]; ei[t] *= kernel[t]; }
        fft.Inverse(er, ei, g, 2);
        fft.Convolve(re, im, kernel, g, g, 2);
        for (int r = 0; r < m; r++)
            for (int c = 0; c < g; c++)
            {
                Assert.Equal(er[r * m + c], re[r * m + c]);
                Assert.Equal(ei[r * m + c], im[r * m + c]);
            }
    }

    [Fact]
    public void Sizes_with_other_prime_factors_are_refused_and_next_smooth_finds_the_next_allowed()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Fft2D(14));
        Assert.Equal(15, Fft2D.NextSmooth(14));
        Assert.Equal(50, Fft2D.NextSmooth(50));
        Assert.Equal(54, Fft2D.NextSmooth(51));
        Assert.True(Fft2D.IsSmooth(1));
    }
}

public class FastPowTests
{
    [Fact]
    public void Fast_pow_is_within_1e4_of_mathf_pow_over_the_range_umap_uses()
    {
        var rng = new Random(11);
        for (int t = 0; t < 200_000; t++)
        {
            float x = (float)Math.Pow(10, rng.NextDouble() * 14 - 8), y = (float)(rng.NextDouble() * 3 - 1);
            double want = Math.Pow(x, y), got = Percept.Core.Numerics.FastPow(x, y);
            Assert.True(Math.Abs(got - want) <= 1e-4 * want, $"{x}^{y}: {got} vs {want}");
        }
        Assert.Equal(1f, Percept.Core.Numerics.FastPow(1f, 0.79f), 6);
        Assert.Equal(8f, Percept.Core.Numerics.FastPow(2f, 3f), 4);
    }
}
