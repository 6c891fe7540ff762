using Percept.Projection;

namespace Percept.Tests.Projection;

public class TSneInterpolationTests
{
    /// <summary>Σⱼ q²(yᵢ − yⱼ) and Z by their definition, in double.</summary>
    static (double[] Rep, double Z) Exact(float[] y)
    {
        int n = y.Length / 2;
        var rep = new double[2 * n];
        double z = 0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
            {
                if (i == j) continue;
                double dx = y[2 * i] - y[2 * j], dy = y[2 * i + 1] - y[2 * j + 1];
                double q = 1 / (1 + dx * dx + dy * dy);
                z += q; rep[2 * i] += q * q * dx; rep[2 * i + 1] += q * q * dy;
            }
        return (rep, z);
    }

    /// <summary>Clusters of different widths at different places: a layout like t-SNE's, not a uniform cloud.</summary>
    static float[] Layout(int n, float span, int seed)
    {
        var rng = new Random(seed);
        var y = new float[2 * n];
        for (int i = 0; i < n; i++)
        {
            int c = rng.Next(7);
            double cx = Math.Cos(c * 0.9) * span * 0.35 + 3, cy = Math.Sin(c * 1.3) * span * 0.35 - 2, w = 0.5 + c * 0.4;
            double u = Math.Max(1e-12, rng.NextDouble()), v = rng.NextDouble();
            double g = Math.Sqrt(-2 * Math.Log(u));
            y[2 * i] = (float)(cx + w * g * Math.Cos(2 * Math.PI * v));
            y[2 * i + 1] = (float)(cy + w * g * Math.Sin(2 * Math.PI * v));
        }
        return y;
    }

    [Theory]
    [InlineData(1501, 4f)]
    [InlineData(2003, 40f)]
    [InlineData(997, 150f)]
    public void Interpolated_repulsion_and_normalisation_match_the_sums_by_definition(int n, float span)
    {
        var y = Layout(n, span, n);
        var (rep, z) = Exact(y);
        // At openTSNE's resolution (one box of 3 x 3 nodes per unit) the interpolation error is about 1% of the forces
        // and 0.1% of Z; it is third order in the node spacing, so four boxes per unit must cut the force error by far more
        // than 4x. Z is then limited by the float32 transforms (a few 1e-4 on grids of 3,000 x 3,000), not the nodes.
        var (zErr, fErr) = Errors(new TSneInterpolation(), y, rep, z);
        Assert.True(zErr < 3e-3, $"relative error of Z {zErr:E2}");
        Assert.True(fErr < 3e-2, $"relative error of the forces {fErr:E2}");
        var (zFine, fFine) = Errors(new TSneInterpolation(boxesPerUnit: 4), y, rep, z);
        Assert.True(zFine < 1e-3, $"relative error of Z on the fine grid {zFine:E2}");
        Assert.True(fFine < 1e-3 && fFine < fErr / 4, $"relative error of the forces on the fine grid {fFine:E2} (coarse {fErr:E2})");
    }

    static (double Z, double Forces) Errors(TSneInterpolation grid, float[] y, double[] rep, double z)
    {
        var got = new float[y.Length];
        double zi = grid.Repulsion(y, got, threads: 2);
        double err = 0, norm = 0;
        for (int t = 0; t < y.Length; t++) { err += (got[t] - rep[t]) * (got[t] - rep[t]); norm += rep[t] * rep[t]; }
        return (Math.Abs(zi - z) / z, Math.Sqrt(err / norm));
    }

    [Fact]
    public void Repulsion_does_not_depend_on_the_thread_count()
    {
        var y = Layout(3001, 60, 5);
        var one = new float[y.Length]; var four = new float[y.Length];
        double z1 = new TSneInterpolation().Repulsion(y, one, threads: 1);
        double z4 = new TSneInterpolation().Repulsion(y, four, threads: 4);
        Assert.Equal(z1, z4);
        Assert.Equal(one, four);
    }

    [SkippableTheory]
    [InlineData("Scalar")]
    [InlineData("Gathered")]
    [InlineData("Loaded")]
    public void Each_attraction_kernel_equals_the_sum_by_definition(string kernelName)
    {
        // Rows of 0 to 37 edges (every tail length of the eight-lane loop), random weights, a layout with clusters.
        var kernel = Enum.Parse<TSne.AttractionKernel>(kernelName);
        Skip.If(kernel != TSne.AttractionKernel.Scalar && !System.Runtime.Intrinsics.X86.Avx2.IsSupported, "no AVX2: only the scalar kernel runs here");
        const int n = 1203;
        var rng = new Random(8);
        var y = Layout(n, 30, 2);
        var rowStart = new int[n + 1];
        var columns = new List<int>();
        for (int i = 0; i < n; i++)
        {
            int count = i % 38;
            for (int t = 0; t < count; t++) columns.Add((i + 1 + rng.Next(n - 1)) % n);
            rowStart[i + 1] = columns.Count;
        }
        var weights = columns.Select(_ => (float)rng.NextDouble() * 1e-4f).ToArray();
        var p = new Umap.SparseGraph(rowStart, columns.ToArray(), weights, n);
        var grad = new float[2 * n];
        TSne.Attraction(y, p, 12f, grad, threads: 2, kernel);
        for (int i = 0; i < n; i++)
        {
            double ax = 0, ay = 0, scale = 0;
            for (int e = rowStart[i]; e < rowStart[i + 1]; e++)
            {
                int j = columns[e];
                double dx = y[2 * i] - y[2 * j], dy = y[2 * i + 1] - y[2 * j + 1], f = weights[e] / (1 + dx * dx + dy * dy);
                ax += f * dx; ay += f * dy; scale += Math.Abs(f) * (Math.Abs(dx) + Math.Abs(dy));
            }
            Assert.Equal(12 * ax, grad[2 * i], 12 * 1e-6 * scale + 1e-30);
            Assert.Equal(12 * ay, grad[2 * i + 1], 12 * 1e-6 * scale + 1e-30);
        }
    }
}
