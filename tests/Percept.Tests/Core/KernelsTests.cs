using Percept.Core;

namespace Percept.Tests.Core;

/// <summary>The two-row kernels against the one-row kernels they stand in for (bit for bit) and against sums in double.</summary>
public class KernelsTests
{
    static float[] Random(int n, Random rng) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(13)]
    [InlineData(64)]
    [InlineData(784)]
    [InlineData(1001)]
    public void Two_rows_of_dot_products_equal_four_row_dot_products_and_the_definition(int n)
    {
        var rng = new Random(n);
        var p0 = Random(n, rng); var p1 = Random(n, rng);
        var q = Enumerable.Range(0, 4).Select(_ => Random(n, rng)).ToArray();
        var got = new float[8];
        Kernels.Dot2x4(p0, p1, q[0], q[1], q[2], q[3], got);
        Kernels.Dot4(p0, q[0], q[1], q[2], q[3], out float a0, out float a1, out float a2, out float a3);
        Kernels.Dot4(p1, q[0], q[1], q[2], q[3], out float b0, out float b1, out float b2, out float b3);
        Assert.Equal(new[] { a0, a1, a2, a3, b0, b1, b2, b3 }, got);
        for (int t = 0; t < 8; t++)
        {
            var p = t < 4 ? p0 : p1;
            double want = 0;
            for (int i = 0; i < n; i++) want += (double)p[i] * q[t % 4][i];
            Assert.True(Math.Abs(got[t] - want) <= 1e-5 * n, $"n {n}, product {t}: {got[t]} vs {want}");
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(8)]
    [InlineData(17)]
    [InlineData(784)]
    [InlineData(999)]
    public void Two_accumulators_over_four_rows_equal_the_one_accumulator_kernel_and_the_definition(int n)
    {
        var rng = new Random(100 + n);
        var x = Enumerable.Range(0, 4).Select(_ => Random(n, rng)).ToArray();
        var a = Random(4, rng); var b = Random(4, rng);
        var acc0 = Random(n, rng); var acc1 = Random(n, rng);
        var one0 = (float[])acc0.Clone(); var one1 = (float[])acc1.Clone();
        var start0 = (float[])acc0.Clone(); var start1 = (float[])acc1.Clone();
        Kernels.MultiplyAdd2x4(acc0, acc1, a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3], x[0], x[1], x[2], x[3]);
        Kernels.MultiplyAdd4(one0, a[0], x[0], a[1], x[1], a[2], x[2], a[3], x[3]);
        Kernels.MultiplyAdd4(one1, b[0], x[0], b[1], x[1], b[2], x[2], b[3], x[3]);
        Assert.Equal(one0, acc0);
        Assert.Equal(one1, acc1);
        for (int i = 0; i < n; i++)
        {
            double w0 = start0[i], w1 = start1[i];
            for (int r = 0; r < 4; r++) { w0 += (double)a[r] * x[r][i]; w1 += (double)b[r] * x[r][i]; }
            Assert.True(Math.Abs(acc0[i] - w0) <= 1e-5 && Math.Abs(acc1[i] - w1) <= 1e-5, $"n {n}, element {i}");
        }
    }
}
