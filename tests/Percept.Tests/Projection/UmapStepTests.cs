using Percept.Core;
using Percept.Projection;

namespace Percept.Tests.Projection;

/// <summary>
/// The 2-D UMAP step's kernels against a naive reference: the same edges in the same order with the same random draws,
/// in double precision with <see cref="Math.Pow(double, double)"/>, one sample at a time.
/// </summary>
public class UmapStepTests
{
    const float A = 1.577f, B = 0.895f, Gamma = 1f;

    /// <summary>A random graph with rows of 0 to 2k edges, weights' sampling periods 1–3, and optionally coincident points.</summary>
    static (int[] RowStart, int[] Columns, float[] Epochs, float[] Start) Graph(int n, int k, int seed, bool coincident)
    {
        var rng = new Random(seed);
        var rowStart = new int[n + 1];
        var columns = new List<int>();
        for (int i = 0; i < n; i++)
        {
            int count = i % 17 == 0 ? 0 : rng.Next(2 * k + 1);
            for (int t = 0; t < count; t++) columns.Add((i + 1 + rng.Next(n - 1)) % n);
            rowStart[i + 1] = columns.Count;
        }
        var epochs = columns.Select(_ => 1f + rng.Next(3) * (float)rng.NextDouble()).ToArray();
        // On a jittered grid over [−10, 10]²: random points would often start a few hundredths apart, where a push's slope
        // is near 1/0.001 and a millionth of rounding in either becomes a thousandth.
        int side = (int)Math.Ceiling(Math.Sqrt(n));
        float spacing = 20f / side;
        var cells = Enumerable.Range(0, side * side).OrderBy(_ => rng.Next()).ToArray();
        var start = new float[2 * n];
        for (int i = 0; i < n; i++)
        {
            start[2 * i] = -10 + spacing * (cells[i] % side + 0.25f + 0.5f * (float)rng.NextDouble());
            start[2 * i + 1] = -10 + spacing * (cells[i] / side + 0.25f + 0.5f * (float)rng.NextDouble());
        }
        for (int i = 0; coincident && i + 1 < n; i += 50) { start[2 * i + 2] = start[2 * i]; start[2 * i + 3] = start[2 * i + 1]; }
        return (rowStart, columns.ToArray(), epochs, start);
    }

    /// <summary>One sample's move of head i at (yx, yy): the pull towards tail k at (kx, ky), or a push from it.</summary>
    static (double X, double Y) Move(int i, int k, float kx, float ky, double yx, double yy, bool pull)
    {
        if (!pull && k == i) return (0, 0);
        // Differences in single precision, as the layout is stored (two near points' difference cancels the same
        // digits in both); the rest in double precision.
        double dx = (float)yx - kx, dy = (float)yy - ky, d2 = dx * dx + dy * dy;
        if (!(d2 > 0)) return (0, 0);
        double p = Math.Pow(d2, B);
        double coeff = pull ? -2.0 * A * B * p / (d2 * (A * p + 1)) : 2.0 * Gamma * B / ((0.001 + d2) * (A * p + 1));
        return (Math.Clamp(coeff * dx, -4, 4), Math.Clamp(coeff * dy, -4, 4));
    }

    delegate void Stepper(float[] y, float[] samples, int[] rowStart, int[] columns, float[] epochs, float[] nextSample, float[] nextNegative,
        float alpha, float negRate, int ep, ref SplitMix64 rng);

    /// <summary>
    /// What the vector kernel computes, written out plainly. Its random stream: eight lanes seeded from the chunk's
    /// generator, each a PCG-RXS-M-XS 32, eight indices a batch; the heads of [i0, i1) in two halves whose due edges are
    /// taken in turn; per edge one batch whose lane 0 is the edge's tail and whose lanes 1 to min(count, 7) are negative
    /// samples, then batches of eight for the rest; everything from the head's position before the step.
    /// </summary>
    static void Reference(float[] y, float[] samples, int[] rowStart, int[] columns, float[] epochs, float[] nextSample, float[] nextNegative,
        float alpha, float negRate, int ep, ref SplitMix64 rng)
    {
        int n = y.Length / 2;
        var state = new uint[8];
        for (int l = 0; l < 8; l++) state[l] = (uint)rng.Next();
        // A batch's points are read when it is drawn, one batch ahead of its use (the kernel's loads are in flight while
        // the step before computes), so a point that step moves is pushed from where it was.
        (int[] K, float[] X, float[] Y) Draw()
        {
            var k = new int[8]; var x = new float[8]; var yy = new float[8];
            for (int l = 0; l < 8; l++)
            {
                uint s = state[l];
                uint word = ((s >> (int)((s >> 28) + 4)) ^ s) * 277803737u;
                k[l] = (int)(((ulong)((word >> 22) ^ word) * (ulong)n) >> 32);
                state[l] = s * 747796405u + 2891336453u;
                x[l] = samples[2 * k[l]]; yy[l] = samples[2 * k[l] + 1];
            }
            return (k, x, yy);
        }
        var pending = Draw();
        (int[] K, float[] X, float[] Y) Batch()
        {
            var current = pending;
            pending = Draw();
            return current;
        }
        void Step(int i, int e)
        {
            double yx = y[2 * i], yy = y[2 * i + 1];
            int j = columns[e];
            nextSample[e] += epochs[e];
            int negatives = (int)((ep + 1 - nextNegative[e]) * negRate / epochs[e]);
            nextNegative[e] += negatives * epochs[e] / negRate;
            var batch = Batch();
            var (gx, gy) = Move(i, j, y[2 * j], y[2 * j + 1], yx, yy, pull: true);
            double sx = gx, sy = gy;
            for (int d = 1; d <= Math.Min(negatives, 7); d++) { var (mx, my) = Move(i, batch.K[d], batch.X[d], batch.Y[d], yx, yy, false); sx += mx; sy += my; }
            for (int s = 7; s < negatives; s += 8)
            {
                batch = Batch();
                for (int d = 0; d < Math.Min(8, negatives - s); d++) { var (mx, my) = Move(i, batch.K[d], batch.X[d], batch.Y[d], yx, yy, false); sx += mx; sy += my; }
            }
            y[2 * i] = (float)(yx + sx * alpha); y[2 * i + 1] = (float)(yy + sy * alpha);
            y[2 * j] = (float)(y[2 * j] - gx * alpha); y[2 * j + 1] = (float)(y[2 * j + 1] - gy * alpha);
        }
        IEnumerable<(int I, int E)> Due(int from, int to)
        {
            for (int i = from; i < to; i++)
                for (int e = rowStart[i]; e < rowStart[i + 1]; e++)
                    if (nextSample[e] <= ep + 1) yield return (i, e);
        }
        // The due edges of each half, found lazily (an edge's own step is what changes whether it is due).
        int mid = (n + 1) / 2;
        using var first = Due(0, mid).GetEnumerator();
        using var second = Due(mid, n).GetEnumerator();
        bool moreFirst = first.MoveNext(), moreSecond = second.MoveNext();
        while (moreFirst || moreSecond)
        {
            if (moreFirst) { Step(first.Current.I, first.Current.E); moreFirst = first.MoveNext(); }
            if (moreSecond) { Step(second.Current.I, second.Current.E); moreSecond = second.MoveNext(); }
        }
    }

    /// <summary>What the scalar kernel computes: heads in order, a draw per negative sample, every point read when used
    /// (negative samples from <paramref name="samples"/>, the layout itself or its copy).</summary>
    static void ScalarReference(float[] y, float[] samples, int[] rowStart, int[] columns, float[] epochs, float[] nextSample, float[] nextNegative,
        float alpha, float negRate, int ep, ref SplitMix64 rng)
    {
        int n = y.Length / 2;
        for (int i = 0; i < n; i++)
            for (int e = rowStart[i]; e < rowStart[i + 1]; e++)
            {
                if (nextSample[e] > ep + 1) continue;
                double yx = y[2 * i], yy = y[2 * i + 1];
                int j = columns[e];
                nextSample[e] += epochs[e];
                int negatives = (int)((ep + 1 - nextNegative[e]) * negRate / epochs[e]);
                nextNegative[e] += negatives * epochs[e] / negRate;
                var (gx, gy) = Move(i, j, y[2 * j], y[2 * j + 1], yx, yy, pull: true);
                double sx = gx, sy = gy;
                for (int s = 0; s < negatives; s++)
                {
                    int k = (int)(((rng.Next() >> 32) * (ulong)n) >> 32);
                    var (mx, my) = Move(i, k, samples[2 * k], samples[2 * k + 1], yx, yy, false);
                    sx += mx; sy += my;
                }
                y[2 * i] = (float)(yx + sx * alpha); y[2 * i + 1] = (float)(yy + sy * alpha);
                y[2 * j] = (float)(y[2 * j] - gx * alpha); y[2 * j + 1] = (float)(y[2 * j + 1] - gy * alpha);
            }
    }

    [SkippableTheory]
    [InlineData(601, 10, 5f, "Gathered", false, false)]
    [InlineData(601, 10, 5f, "Loaded", false, false)]
    [InlineData(601, 10, 5f, "Scalar", false, false)]
    [InlineData(333, 7, 13f, "Gathered", false, false)]    // 13 negative samples an edge: a second and third batch
    [InlineData(333, 7, 13f, "Loaded", false, false)]
    [InlineData(333, 7, 13f, "Scalar", false, false)]
    [InlineData(98, 3, 5f, "Loaded", true, false)]
    [InlineData(601, 10, 5f, "Gathered", true, false)]
    [InlineData(601, 10, 5f, "Scalar", true, false)]
    // Negative samples from a copy of the layout (as when fitting), which differs from it: the pull must read the layout.
    [InlineData(601, 10, 5f, "Gathered", false, true)]
    [InlineData(333, 7, 13f, "Loaded", false, true)]
    [InlineData(601, 10, 5f, "Scalar", true, true)]
    public void Each_step_kernel_equals_a_naive_reference_with_the_same_draws(int n, int k, float negRate, string kernelName, bool coincident, bool copy)
    {
        var kernel = Enum.Parse<Umap.Sgd2D.Kernel>(kernelName);
        Skip.If(kernel != Umap.Sgd2D.Kernel.Scalar && !System.Runtime.Intrinsics.X86.Avx2.IsSupported, "no AVX2: only the scalar step runs here");
        var (rowStart, columns, epochs, start) = Graph(n, k, n, coincident);
        int epochCount = 4;
        var y = (float[])start.Clone();
        var nextSample = (float[])epochs.Clone(); var nextNegative = epochs.Select(e => e / negRate).ToArray();
        var refNextSample = (float[])epochs.Clone(); var refNextNegative = epochs.Select(e => e / negRate).ToArray();
        var generator = new SplitMix64(9); var refGenerator = new SplitMix64(9);
        for (int ep = 0; ep < epochCount; ep++)
        {
            // Each epoch from a fresh layout (the edges' schedules carried on): an epoch brings some points within a few
            // hundredths of each other, and rounding (a power within 1e-5, sums in another order) compounded over epochs
            // through such steep pushes would say nothing of the kernel.
            if (ep > 0)
            {
                var (_, _, _, fresh) = Graph(n, k, n + ep, coincident);
                fresh.CopyTo(y, 0);
            }
            var reference = (float[])y.Clone();
            // The copy: the layout as it was an epoch before (another random layout), so that reading one for the other fails.
            var samples = copy ? Graph(n, k, 7 * n + ep, coincident).Start : y;
            var refSamples = copy ? samples : reference;
            float alpha = 1f - ep / 4f;
            var sgd = new Umap.Sgd2D(y, y, samples, rowStart, columns, epochs, nextSample, nextNegative, A, B, Gamma, alpha, negRate, true);
            sgd.Run(0, n, ep, ref generator, kernel);
            (kernel == Umap.Sgd2D.Kernel.Scalar ? (Stepper)ScalarReference : Reference)(reference, refSamples, rowStart, columns, epochs, refNextSample, refNextNegative, alpha, negRate, ep, ref refGenerator);
            Assert.Equal(refNextSample, nextSample);
            Assert.Equal(refNextNegative, nextNegative);
            // Nearly every coordinate within 1e-4 of the reference (a dropped or misplaced sample moves most points by
            // 1e-3 to 1e-1); within an epoch, a few pushes between points brought a few hundredths apart (slope near
            // 1/0.001) turn a millionth of rounding into up to a few thousandths.
            var errors = Enumerable.Range(0, y.Length).Select(t => Math.Abs(y[t] - (double)reference[t])).ToArray();
            int off = errors.Count(d => d > 1e-4);
            Assert.True(off <= y.Length / 100, $"epoch {ep}: {off} of {y.Length} coordinates are over 1e-4 from the reference");
            Assert.True(errors.Max() < 1e-2, $"epoch {ep}: the kernel is {errors.Max()} from the reference");
        }
        double moved = 0;
        for (int t = 0; t < y.Length; t++) moved = Math.Max(moved, Math.Abs(start[t] - y[t]));
        Assert.True(moved > 1, $"the layout barely moved ({moved})");
    }

    [Theory]
    [InlineData(1, 3, 1)]
    [InlineData(777, 9, 2)]
    [InlineData(5000, 15, 4)]
    [InlineData(5000, 15, 7)]
    public void The_regions_renumber_the_graph_without_changing_it(int n, int k, int regions)
    {
        var (rowStart, columns, epochs, start) = Graph(n, k, n + k, coincident: n > 1);
        var y = new Matrix(start, n, 2);
        var (order, newStart, newColumns, periods) = Umap.InRegions(y, rowStart, columns, epochs, regions);
        Assert.Equal(Enumerable.Range(0, n), order.Order());
        var rank = new int[n];
        for (int r = 0; r < n; r++) rank[order[r]] = r;
        Assert.Equal(columns.Length, newStart[n]);
        for (int r = 0; r < n; r++)
        {
            int i = order[r];
            var before = Enumerable.Range(rowStart[i], rowStart[i + 1] - rowStart[i]).Select(e => (rank[columns[e]], epochs[e]));
            var after = Enumerable.Range(newStart[r], newStart[r + 1] - newStart[r]).Select(e => (newColumns[e], periods[e]));
            Assert.Equal(before, after);
        }
        // Equal parts, each in the points' own order, and regions of the layout: on average a region's points are nearer
        // its centre than the layout's points are to the layout's (on the jittered grid a quarter of the layout is about
        // half as spread; a part that crosses one of the curve's jumps is two pieces, so not every part is compact).
        double Spread(IEnumerable<int> points)
        {
            var p = points.ToArray();
            double cx = p.Average(i => start[2 * i]), cy = p.Average(i => start[2 * i + 1]);
            return p.Average(i => Math.Sqrt(Math.Pow(start[2 * i] - cx, 2) + Math.Pow(start[2 * i + 1] - cy, 2)));
        }
        double spread = 0;
        for (int t = 0; t < regions; t++)
        {
            // Region t holds the curve's places r with r · regions / n = t.
            static int From(int t, int n, int regions) => (int)(((long)t * n + regions - 1) / regions);
            var part = order[From(t, n, regions)..From(t + 1, n, regions)];
            Assert.True(part.Zip(part.Skip(1)).All(p => p.First < p.Second), $"region {t} is not in the points' order");
            spread += Spread(part) / regions;
        }
        if (regions > 1) Assert.True(spread < 0.8 * Spread(Enumerable.Range(0, n)), $"the regions are spread over the layout ({spread:F2})");
    }

    [Fact]
    public void The_vector_power_and_reciprocal_are_within_1e5_of_the_exact_ones()
    {
        var rng = new Random(12);
        var x = new float[8];
        for (int t = 0; t < 50_000; t++)
        {
            float y = (float)(rng.NextDouble() * 3 - 1);
            for (int l = 0; l < 8; l++) x[l] = (float)Math.Pow(10, rng.NextDouble() * 14 - 8);
            var v = System.Runtime.Intrinsics.Vector256.Create(x);
            var pow = Numerics.FastPow(v, y);
            var reciprocal = Numerics.Reciprocal(v);
            for (int l = 0; l < 8; l++)
            {
                double want = Math.Pow(x[l], y);
                Assert.True(Math.Abs(pow[l] - want) <= 1e-5 * want, $"{x[l]}^{y}: {pow[l]} vs {want}");
                Assert.True(Math.Abs(reciprocal[l] * (double)x[l] - 1) <= 1e-6, $"1/{x[l]}: {reciprocal[l]}");
            }
        }
        Assert.Equal(1f, Numerics.FastPow(System.Runtime.Intrinsics.Vector256<float>.One, 0.79f)[3], 6);
    }
}
