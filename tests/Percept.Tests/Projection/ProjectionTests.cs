using Percept.Core;
using Percept.Neighbors;
using Percept.Projection;
using Percept.Tests.Neighbors;

namespace Percept.Tests.Projection;

public class ProjectionTests
{
    [Fact]
    public void Randomized_pca_matches_a_dense_eigendecomposition()
    {
        // Data with a decaying spectrum: 400 points in 23 dimensions.
        var rng = new Random(5);
        int n = 400, d = 23;
        var x = new Matrix(n, d);
        for (int i = 0; i < n; i++) for (int j = 0; j < d; j++) x.Row(i)[j] = (float)((rng.NextDouble() - 0.5) * 10 / (1 + j) + 3);
        var model = Pca.Fit(x, 4, seed: 1);
        var mean = Enumerable.Range(0, d).Select(j => Enumerable.Range(0, n).Average(i => (double)x.Row(i)[j])).ToArray();
        var cov = new double[d * d];
        for (int a = 0; a < d; a++)
            for (int b = 0; b < d; b++)
                cov[a * d + b] = Enumerable.Range(0, n).Sum(i => (x.Row(i)[a] - mean[a]) * (x.Row(i)[b] - mean[b])) / (n - 1);
        var values = SymmetricEigen.Decompose(cov, d, out var vectors);
        for (int c = 0; c < 4; c++)
        {
            Assert.Equal(values[c], model.ExplainedVariance[c], values[c] * 1e-3);
            double cos = Enumerable.Range(0, d).Sum(j => vectors[c * d + j] * model.Components[c * d + j]);
            Assert.True(Math.Abs(cos) > 0.999, $"component {c}: |cos| {Math.Abs(cos)}");
        }
        var y = model.Transform(x);
        Assert.Equal(0, Enumerable.Range(0, n).Average(i => y.Row(i)[0]), 1e-3);
        Assert.Equal(values[0], Enumerable.Range(0, n).Sum(i => (double)y.Row(i)[0] * y.Row(i)[0]) / (n - 1), values[0] * 1e-3);
    }

    [Fact]
    public void The_membership_curve_fit_gives_umap_learns_a_and_b()
    {
        var (a, b) = Umap.FitAB(1f, 0.1f);
        // umap-learn's find_ab_params(1.0, 0.1) = (1.5769434604, 0.8950608781).
        Assert.Equal(1.5769, a, 2e-3);
        Assert.Equal(0.8951, b, 2e-3);
    }

    static double KnnClassifierAccuracy(Matrix map, int[] labels, int k = 10)
    {
        var g = ExactKnn.Search(map, k);
        int right = 0;
        for (int i = 0; i < map.Rows; i++)
        {
            int vote = g.NeighborsOf(i).ToArray().GroupBy(j => labels[j]).OrderByDescending(v => v.Count()).First().Key;
            if (vote == labels[i]) right++;
        }
        return (double)right / map.Rows;
    }

    [Fact]
    public void Umap_of_fashion_mnist_is_trustworthy_separates_classes_and_is_reproducible()
    {
        var (x, labels) = NeighborsTests.Fashion(2000);
        var options = new UmapOptions { Seed = 4, Threads = 1, Epochs = 200 };
        var model = Umap.Fit(x, options);
        var y = model.Embedding;
        Assert.All(y.Data, v => Assert.True(float.IsFinite(v)));
        var q = MapQuality.Evaluate(x, y, 10, 2000);
        Assert.True(q.Trustworthiness >= 0.95, $"trustworthiness {q.Trustworthiness:F4}");
        double acc = KnnClassifierAccuracy(y, labels);
        Assert.True(acc >= 0.70, $"10-NN accuracy on the map {acc:F3}");
        Assert.Equal(y.Data, Umap.Fit(x, options).Embedding.Data);
        // A PCA map of the same data is far less trustworthy: the figure discriminates.
        var pca = Pca.Fit(x, 2).Transform(x);
        Assert.True(MapQuality.Evaluate(x, pca, 10, 2000).Trustworthiness < q.Trustworthiness - 0.03);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]   // 6 regions of 2,000 points: parts of 333 and 334
    public void Umap_on_several_threads_is_as_trustworthy_as_on_one(int threads)
    {
        // Several threads renumber the points into regions of the layout and back (whatever cores the machine has).
        var (x, labels) = NeighborsTests.Fashion(2000);
        var one = Umap.Fit(x, new UmapOptions { Seed = 4, Threads = 1, Epochs = 200 }).Embedding;
        var y = Umap.Fit(x, new UmapOptions { Seed = 4, Threads = threads, Epochs = 200 }).Embedding;
        Assert.All(y.Data, v => Assert.True(float.IsFinite(v)));
        double t1 = MapQuality.Evaluate(x, one, 10, 2000).Trustworthiness, t = MapQuality.Evaluate(x, y, 10, 2000).Trustworthiness;
        Assert.True(t >= 0.95 && t >= t1 - 0.01, $"trustworthiness {t:F4} on {threads} threads, {t1:F4} on one");
        Assert.True(KnnClassifierAccuracy(y, labels) >= 0.70);
    }

    [Fact]
    public void Umap_makes_three_dimensional_maps_too()
    {
        var (x, labels) = NeighborsTests.Fashion(800);
        var y = Umap.Fit(x, new UmapOptions { Dimensions = 3, Seed = 2, Epochs = 150 }).Embedding;
        Assert.Equal(3, y.Columns);
        Assert.All(y.Data, v => Assert.True(float.IsFinite(v)));
        Assert.True(MapQuality.Evaluate(x, y, 10, 800).Trustworthiness >= 0.95);
        Assert.True(KnnClassifierAccuracy(y, labels) >= 0.65);
    }

    [Fact]
    public void Umap_places_new_points_among_their_neighbours()
    {
        var (all, labels) = NeighborsTests.Fashion(2300);
        var train = new Matrix(all.Data[..(2000 * 784)], 2000, 784);
        var test = new Matrix(all.Data[(2000 * 784)..], 300, 784);
        var model = Umap.Fit(train, new UmapOptions { Seed = 1, Epochs = 200 });
        var placed = model.Transform(test);
        Assert.All(placed.Data, v => Assert.True(float.IsFinite(v)));
        var g = ExactKnn.Search(model.Embedding, placed, 10);
        int right = 0;
        for (int i = 0; i < 300; i++)
            if (g.NeighborsOf(i).ToArray().GroupBy(j => labels[j]).OrderByDescending(v => v.Count()).First().Key == labels[2000 + i]) right++;
        Assert.True(right / 300.0 >= 0.65, $"accuracy of transformed points {right / 300.0:F3}");
    }

    [Fact]
    public void Tsne_of_fashion_mnist_is_trustworthy_separates_classes_and_ignores_the_thread_count()
    {
        var (x, labels) = NeighborsTests.Fashion(2000);
        var options = new TSneOptions { Seed = 2, Threads = 1, Iterations = 300, Gradient = TSneGradient.Interpolation };
        var result = TSne.Run(x, options);
        var y = result.Embedding;
        Assert.All(y.Data, v => Assert.True(float.IsFinite(v)));
        var q = MapQuality.Evaluate(x, y, 10, 2000);
        Assert.True(q.Trustworthiness >= 0.95, $"trustworthiness {q.Trustworthiness:F4}");
        Assert.True(KnnClassifierAccuracy(y, labels) >= 0.70);
        Assert.True(result.KlDivergence is > 0 and < 3, $"KL {result.KlDivergence}");
        // The thread count does not change a single coordinate (checked on a slice, to keep the test short).
        var slice = new Matrix(x.Data[..(600 * x.Columns)], 600, x.Columns);
        var brief = options with { Iterations = 60, EarlyExaggerationIterations = 60 };
        Assert.Equal(TSne.Fit(slice, brief).Data, TSne.Fit(slice, brief with { Threads = 2 }).Data);
    }

    [Fact]
    public void Barnes_hut_and_interpolation_reach_the_same_quality_and_divergence()
    {
        var (x, labels) = NeighborsTests.Fashion(800);
        var options = new TSneOptions { Seed = 3, Threads = 2, Iterations = 250 };
        var bh = TSne.Run(x, options with { Gradient = TSneGradient.BarnesHut });
        var fft = TSne.Run(x, options with { Gradient = TSneGradient.Interpolation });
        foreach (var r in new[] { bh, fft })
        {
            var q = MapQuality.Evaluate(x, r.Embedding, 10, 800);
            Assert.True(q.Trustworthiness >= 0.93, $"trustworthiness {q.Trustworthiness:F4}");
            Assert.True(KnnClassifierAccuracy(r.Embedding, labels) >= 0.65);
        }
        // Two approximations of the same gradient: the optimised divergences agree within a few percent.
        Assert.True(Math.Abs(bh.KlDivergence - fft.KlDivergence) / fft.KlDivergence < 0.05, $"KL {bh.KlDivergence:F4} (Barnes-Hut) vs {fft.KlDivergence:F4} (interpolation)");
    }

    [Fact]
    public void Perplexity_calibration_gives_rows_of_the_requested_entropy()
    {
        var x = NeighborsTests.RandomMatrix(300, 4, 8);
        var knn = ExactKnn.Search(x, 90);
        var conditional = TSne.Conditional(knn, 30);
        for (int i = 0; i < 300; i++)
        {
            var row = conditional.AsSpan(i * 90, 90).ToArray();
            Assert.Equal(1.0, row.Sum(v => (double)v), 1e-4);
            double entropy = -row.Where(v => v > 0).Sum(v => v * Math.Log(v));
            Assert.Equal(30.0, Math.Exp(entropy), 0.01);
        }
        // Symmetrised: P_ij = (p(j|i) + p(i|j)) / 2N, listed under both points, summing to 1.
        var p = TSne.Affinities(knn, 30);
        Assert.Equal(1.0, p.Weights.Sum(w => (double)w), 1e-3);
        Assert.All(p.Weights, w => Assert.True(w > 0));
    }

    [Fact]
    public void Trustworthiness_equals_a_direct_implementation_of_its_definition()
    {
        var x = NeighborsTests.RandomMatrix(60, 5, 2);
        var y = NeighborsTests.RandomMatrix(60, 2, 3);
        int n = 60, k = 5;
        double Dist(Matrix m, int i, int j) => Enumerable.Range(0, m.Columns).Sum(c => Math.Pow(m.Row(i)[c] - m.Row(j)[c], 2));
        double sum = 0;
        for (int i = 0; i < n; i++)
        {
            var high = Enumerable.Range(0, n).Where(j => j != i).OrderBy(j => Dist(x, i, j)).ToList();
            var low = Enumerable.Range(0, n).Where(j => j != i).OrderBy(j => Dist(y, i, j)).Take(k);
            foreach (var j in low) { int rank = high.IndexOf(j) + 1; if (rank > k) sum += rank - k; }
        }
        double expected = 1 - 2.0 / (n * k * (2.0 * n - 3 * k - 1)) * sum;
        Assert.Equal(expected, MapQuality.Evaluate(x, y, k).Trustworthiness, 1e-9);
        Assert.Equal(1.0, MapQuality.Evaluate(x, x, k).Trustworthiness, 1e-9);
    }

    [SkippableFact]
    public void Umap_vector_step_gives_the_same_layout_with_hardware_gathers_and_with_loads()
    {
        // The two ways of fetching negative samples (CPU-dependent: Cpu.SlowGathers picks) move the same points the same
        // way: 10 epochs on a random 10-NN graph of 601 points (an odd count), bit for bit.
        Skip.IfNot(System.Runtime.Intrinsics.X86.Avx2.IsSupported, "no AVX2: only the scalar step runs here");
        const int n = 601, k = 10;
        var rng = new Random(5);
        var rowStart = Enumerable.Range(0, n + 1).Select(i => i * k).ToArray();
        var columns = Enumerable.Range(0, n * k).Select(e => (e / k + 1 + rng.Next(n - 1)) % n).ToArray();
        var start = Enumerable.Range(0, 2 * n).Select(_ => (float)(rng.NextDouble() * 20 - 10)).ToArray();
        var epochs = Enumerable.Range(0, n * k).Select(_ => 1f + rng.Next(3)).ToArray();
        float[] Run(bool hardware)
        {
            var y = (float[])start.Clone();
            var nextSample = (float[])epochs.Clone(); var nextNegative = epochs.Select(e => e / 5f).ToArray();
            var sgd = new Umap.Sgd2D(y, y, y, rowStart, columns, epochs, nextSample, nextNegative, 1.577f, 0.895f, 1f, 1f, 5f, true);
            var generator = new SplitMix64(9);
            for (int ep = 0; ep < 10; ep++) sgd.Run(0, n, ep, ref generator, hardware ? Umap.Sgd2D.Kernel.Gathered : Umap.Sgd2D.Kernel.Loaded);
            return y;
        }
        var gathered = Run(true); var loaded = Run(false);
        Assert.NotEqual(start, gathered);
        for (int i = 0; i < 2 * n; i++) Assert.Equal(BitConverter.SingleToInt32Bits(gathered[i]), BitConverter.SingleToInt32Bits(loaded[i]));
    }

    [Fact]
    public void The_cpu_line_names_the_model_and_the_kernels()
    {
        string line = Cpu.Describe();
        Assert.StartsWith("cpu: ", line);
        Assert.Matches(@"UMAP negatives and t-SNE attraction: (scalar|vector, hardware gathers|vector, loaded one by one \(slow gathers\))", line);
        Assert.Matches(@"exact k-NN: (4 x 32 on 512-bit|4 x 16 on 256-bit|portable)", line);
        Assert.Matches(@"sparse projection: (256-bit columns|portable)", line);
        Assert.Matches(@"vectors (512|256|128|0)-bit", line);
    }

    [Fact]
    public void Procrustes_undoes_a_rotation_and_shift()
    {
        var y = NeighborsTests.RandomMatrix(50, 2, 9);
        double t = 0.7;
        var moved = new Matrix(50, 2);
        for (int i = 0; i < 50; i++)
        {
            float a = y.Row(i)[0], b = y.Row(i)[1];
            moved.Row(i)[0] = (float)(Math.Cos(t) * a - Math.Sin(t) * b + 5);
            moved.Row(i)[1] = (float)(Math.Sin(t) * a + Math.Cos(t) * b - 2);
        }
        var back = Procrustes.Align(moved, y);
        for (int i = 0; i < y.Data.Length; i++) Assert.Equal(y.Data[i], back.Data[i], 1e-4);
    }

    [Fact]
    public void Procrustes_fitted_on_shared_points_moves_a_whole_scaled_reflected_map()
    {
        // A 73-point map, reflected, turned, scaled by 2.5 and shifted; the transform is fitted on its first 31 points
        // (the shared samples) and applied to all 73, which must land on the reference.
        var y = NeighborsTests.RandomMatrix(73, 2, 4);
        double t = -1.1, scale = 2.5;
        var moved = new Matrix(73, 2);
        for (int i = 0; i < 73; i++)
        {
            float a = y.Row(i)[0], b = -y.Row(i)[1];
            moved.Row(i)[0] = (float)(scale * (Math.Cos(t) * a - Math.Sin(t) * b) + 3);
            moved.Row(i)[1] = (float)(scale * (Math.Sin(t) * a + Math.Cos(t) * b) + 7);
        }
        var shared = new Matrix(moved.Data[..62], 31, 2);
        var reference = new Matrix(y.Data[..62], 31, 2);
        var back = Procrustes.Align(shared, reference, moved, allowScaling: true);
        Assert.Equal(73, back.Rows);
        for (int i = 0; i < y.Data.Length; i++) Assert.Equal(y.Data[i], back.Data[i], 1e-3);
        // Applied to the fitted points themselves, it is the one-map overload.
        var same = Procrustes.Align(shared, reference, allowScaling: true);
        for (int i = 0; i < same.Data.Length; i++) Assert.Equal(same.Data[i], back.Data[i], 1e-6);
    }

    [Fact]
    public void Pca_of_tall_data_matches_the_covariance_and_survives_rank_deficiency()
    {
        // 3,000 rows (several Gram chunks), 40 columns, 8 components (18 sketch columns): full rank, then rank 3.
        int n = 3000, d = 40;
        var rng = new Random(11);
        var full = new Matrix(n, d);
        for (int i = 0; i < n; i++) for (int j = 0; j < d; j++) full.Row(i)[j] = (float)((rng.NextDouble() - 0.5) * 8 / (1 + 0.5 * j) + j);
        var basis = NeighborsTests.RandomMatrix(3, d, 12);
        var low = new Matrix(n, d);
        for (int i = 0; i < n; i++)
            for (int r = 0; r < 3; r++)
            {
                float w = (float)((rng.NextDouble() - 0.5) * (3 - r));
                for (int j = 0; j < d; j++) low.Row(i)[j] += w * basis.Row(r)[j];
            }
        foreach (var (x, rank) in new[] { (full, 8), (low, 3) })
        {
            var model = Pca.Fit(x, 8, seed: 2);
            var mean = new double[d];
            for (int i = 0; i < n; i++) for (int j = 0; j < d; j++) mean[j] += x.Row(i)[j] / (double)n;
            var cov = new double[d * d];
            for (int i = 0; i < n; i++)
                for (int a = 0; a < d; a++)
                    for (int b = 0; b < d; b++) cov[a * d + b] += (x.Row(i)[a] - mean[a]) * (x.Row(i)[b] - mean[b]) / (n - 1);
            var values = SymmetricEigen.Decompose(cov, d, out var vectors);
            Assert.All(model.Components, v => Assert.True(float.IsFinite(v)));
            for (int c = 0; c < rank; c++)
            {
                Assert.Equal(values[c], model.ExplainedVariance[c], values[c] * 1e-3);
                double cos = Enumerable.Range(0, d).Sum(j => vectors[c * d + j] * model.Components[c * d + j]);
                Assert.True(Math.Abs(cos) > 0.999, $"rank {rank}, component {c}: |cos| {Math.Abs(cos)}");
            }
            for (int c = rank; c < 8; c++) Assert.True(model.ExplainedVariance[c] < 1e-3 * values[0] + values[c] * 1.01, $"rank {rank}, variance {c}");
        }
    }

    [Fact]
    public void The_sgd_lane_generators_match_their_scalar_definitions()
    {
        if (!System.Runtime.Intrinsics.X86.Avx2.IsSupported) return;
        var rng = new Random(3);
        uint Next() => (uint)rng.NextInt64(0, 1L << 32);
        foreach (uint n in new uint[] { 1, 2, 7, 70_000, 1_000_003, uint.MaxValue })
        {
            var x = System.Runtime.Intrinsics.Vector256.Create(Next(), Next(), Next(), Next(), Next(), Next(), Next(), uint.MaxValue);
            var high = Umap.Sgd2D.MultiplyHigh(x, System.Runtime.Intrinsics.Vector256.Create(n));
            for (int l = 0; l < 8; l++) Assert.Equal((uint)(((ulong)x[l] * n) >> 32), high[l]);
        }
        var state = System.Runtime.Intrinsics.Vector256.Create(0u, 1, 2, 3, Next(), Next(), Next(), uint.MaxValue);
        var scalar = new uint[8];
        for (int l = 0; l < 8; l++) scalar[l] = state[l];
        for (int step = 0; step < 100; step++)
        {
            state = Umap.Sgd2D.NextLanes(state, out var output);
            for (int l = 0; l < 8; l++)
            {
                // PCG-RXS-M-XS 32: output permutes the old state, the state advances by the LCG.
                uint s = scalar[l];
                uint word = ((s >> (int)((s >> 28) + 4)) ^ s) * 277803737u;
                Assert.Equal((word >> 22) ^ word, output[l]);
                scalar[l] = s * 747796405u + 2891336453u;
                Assert.Equal(scalar[l], state[l]);
            }
        }
    }

    [Fact]
    public void Rank_by_counting_equals_the_position_in_a_stable_sort_with_ties()
    {
        var rng = new Random(8);
        foreach (int n in new[] { 1, 7, 8, 37, 260 })
        {
            // Few distinct values, so most entries tie.
            var dist = Enumerable.Range(0, n).Select(_ => (float)rng.Next(5)).ToArray();
            var order = Enumerable.Range(0, n).OrderBy(j => dist[j]).ToList();
            for (int j = 0; j < n; j++) Assert.Equal(order.IndexOf(j), MapQuality.RankOf(dist, j));
        }
    }

    [Fact]
    public void The_symmetric_graph_equals_a_pairwise_definition()
    {
        var rng = new Random(6);
        foreach (var (n, k) in new[] { (1, 1), (7, 3), (101, 5) })
        {
            var idx = new int[n * k]; var dist = new float[n * k]; var w = new float[n * k];
            for (int e = 0; e < n * k; e++)
            {
                // Some empty slots (−1), some self-links and repeats, which the graph must skip or merge.
                int r = rng.Next(10);
                idx[e] = r == 0 ? -1 : r == 1 ? e / k : rng.Next(n);
                w[e] = (float)rng.NextDouble();
            }
            var knn = new KnnGraph(idx, dist, n, k);
            Func<float, float, float> combine = (f, b) => f + 2 * b;   // not symmetric: the order of the two must be kept
            var g = SparseSymmetric.FromKnn(knn, w, combine);
            var weight = new Dictionary<(int, int), float>();
            for (int e = 0; e < n * k; e++)
            {
                int i = e / k, j = idx[e];
                if (j < 0 || j == i) continue;
                weight[(i, j)] = Math.Max(weight.GetValueOrDefault((i, j)), w[e]);
            }
            for (int i = 0; i < n; i++)
            {
                var expected = Enumerable.Range(0, n).Where(j => weight.ContainsKey((i, j)) || weight.ContainsKey((j, i))).ToArray();
                var cols = g.Columns[g.RowStart[i]..g.RowStart[i + 1]];
                Assert.Equal(expected, cols);
                for (int t = 0; t < cols.Length; t++)
                {
                    int j = cols[t], lo = Math.Min(i, j), hi = Math.Max(i, j);
                    Assert.Equal(combine(weight.GetValueOrDefault((lo, hi)), weight.GetValueOrDefault((hi, lo))), g.Weights[g.RowStart[i] + t]);
                }
            }
        }
    }
}
