using Percept.Data;
using Percept.Neighbors;

namespace Percept.Tests.Neighbors;

public class NeighborsTests
{
    internal static Matrix RandomMatrix(int rows, int cols, int seed)
    {
        var rng = new Random(seed);
        return new Matrix(Enumerable.Range(0, rows * cols).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray(), rows, cols);
    }

    /// <summary>The first <paramref name="n"/> Fashion-MNIST test images, pixels / 255, and their labels.</summary>
    internal static (Matrix X, int[] Labels) Fashion(int n)
    {
        using var ds = new IdxDataset(TestFiles.FashionImages, TestFiles.FashionLabels);
        var b = ds.ReadBatches(n).First();
        return (new Matrix(b.Values.Take(n * 784).Select(v => v / 255f).ToArray(), n, 784), b.Labels[..n].ToArray());
    }

    static (int[] Idx, double[] Dist) Naive(Matrix x, Matrix q, int k, Metric metric, bool self)
    {
        var idx = new int[q.Rows * k];
        var dist = new double[q.Rows * k];
        for (int i = 0; i < q.Rows; i++)
        {
            var all = Enumerable.Range(0, x.Rows).Where(j => !self || j != i).Select(j =>
            {
                double dd;
                if (metric == Metric.Euclidean) dd = Math.Sqrt(Enumerable.Range(0, x.Columns).Sum(c => Math.Pow(q.Row(i)[c] - x.Row(j)[c], 2)));
                else
                {
                    double dot = 0, nq = 0, nx = 0;
                    for (int c = 0; c < x.Columns; c++) { dot += q.Row(i)[c] * x.Row(j)[c]; nq += q.Row(i)[c] * q.Row(i)[c]; nx += x.Row(j)[c] * x.Row(j)[c]; }
                    dd = 1 - dot / Math.Sqrt(nq * nx);
                }
                return (j, dd);
            }).OrderBy(p => p.dd).ThenBy(p => p.j).Take(k).ToArray();
            for (int t = 0; t < k; t++) { idx[i * k + t] = all[t].j; dist[i * k + t] = all[t].dd; }
        }
        return (idx, dist);
    }

    [Theory]
    [InlineData(1, 7)]
    [InlineData(9, 17)]
    [InlineData(17, 130)]
    [InlineData(33, 50)]
    public void Exact_index_queries_equal_the_exact_search(int dims, int rows)
    {
        foreach (var metric in new[] { Metric.Euclidean, Metric.Cosine })
        {
            var x = RandomMatrix(rows, dims, dims * 31 + rows);
            int k = Math.Min(6, rows - 1);
            var index = new ExactIndex(x, metric);
            var all = ExactKnn.Search(x, k, metric);
            var (_, dist) = Naive(x, x, k, metric, self: true);
            for (int i = 0; i < rows; i++)
            {
                var near = index.Nearest(i, k);
                Assert.DoesNotContain(near, n => n.Index == i);
                for (int t = 0; t < k; t++) Assert.Equal(dist[i * k + t], near[t].Distance, 1e-4);
            }
            Assert.Equal(all.Indices, index.All(k).Indices);
            Assert.Throws<PerceptException>(() => index.Nearest(rows, 1));
            Assert.Throws<PerceptException>(() => index.Nearest(0, rows));
        }
    }

    [Theory]
    [InlineData(1, 7)]
    [InlineData(3, 33)]
    [InlineData(8, 40)]
    [InlineData(9, 17)]
    [InlineData(15, 64)]
    [InlineData(16, 5)]
    [InlineData(17, 130)]
    [InlineData(31, 29)]
    [InlineData(33, 50)]
    [InlineData(50, 1107)]   // 70 panels: three cache blocks, 32 + 32 + 6 panels in pairs (the 512-bit kernel)
    [InlineData(6, 2049)]    // five blocks (the last of one point): an odd number, so each round leaves one out
    [InlineData(12, 1600)]   // four blocks: an even number, every block in every round
    public void Exact_knn_matches_a_naive_reference_for_every_width(int dims, int rows)
    {
        foreach (var metric in new[] { Metric.Euclidean, Metric.Cosine })
        {
            var x = RandomMatrix(rows, dims, dims * 100 + rows);
            int k = Math.Min(5, rows - 1);
            var g = ExactKnn.Search(x, k, metric);
            var (idx, dist) = Naive(x, x, k, metric, self: true);
            for (int i = 0; i < rows * k; i++) Assert.Equal(dist[i], g.Distances[i], 1e-4);
            // Where distances tie, any of the tied points is right: check each returned point's true distance.
            var all = Naive(x, x, rows - 1, metric, self: true);
            for (int i = 0; i < rows; i++)
                for (int t = 0; t < k; t++)
                {
                    int j = g.Indices[i * k + t];
                    int pos = Array.IndexOf(all.Idx, j, i * (rows - 1), rows - 1);
                    Assert.Equal(dist[i * k + t], all.Dist[pos], 1e-4);
                }
            var q = RandomMatrix(11, dims, 3);
            var gq = ExactKnn.Search(x, q, k, metric);
            var (_, qd) = Naive(x, q, k, metric, self: false);
            for (int i = 0; i < 11 * k; i++) Assert.Equal(qd[i], gq.Distances[i], 1e-4);
        }
    }

    [Theory]
    [InlineData(1700, 21, 90)]   // t-SNE's k (3 x perplexity) over four blocks
    [InlineData(513, 9, 512)]    // two blocks, the second of one point; every other point a neighbour
    [InlineData(2049, 50, 30)]   // five blocks: an odd number, each round leaves one out
    public void Exact_knn_computing_each_distance_once_matches_the_naive_reference_and_the_search_per_query(int rows, int dims, int k)
    {
        var x = RandomMatrix(rows, dims, rows + dims);
        var (_, dist) = Naive(x, x, k, Metric.Euclidean, self: true);
        var once = ExactKnn.Search(x, null, k, Metric.Euclidean, 1, symmetric: true);
        for (int i = 0; i < rows * k; i++) Assert.Equal(dist[i], once.Distances[i], 1e-4);
        for (int i = 0; i < rows; i++)
        {
            var row = once.NeighborsOf(i).ToArray();
            Assert.DoesNotContain(i, row);
            Assert.Equal(k, row.Distinct().Count());
        }
        // The same distances from either point, so the same graph as querying each point in turn (random data: no ties).
        var perQuery = ExactKnn.Search(x, null, k, Metric.Euclidean, 1, symmetric: false);
        Assert.Equal(perQuery.Indices, once.Indices);
        Assert.Equal(perQuery.Distances, once.Distances);
        // Rounds run in parallel: the same graph whatever the threads.
        var four = ExactKnn.Search(x, null, k, Metric.Euclidean, 4, symmetric: true);
        Assert.Equal(once.Indices, four.Indices);
        Assert.Equal(once.Distances, four.Distances);
    }

    [Fact]
    public void Exact_knn_keeps_the_lower_index_among_tied_points_on_either_path()
    {
        // Points on a small integer grid, many of them repeated: distances tie everywhere.
        var rng = new Random(5);
        var x = new Matrix(Enumerable.Range(0, 1300 * 3).Select(_ => (float)rng.Next(0, 4)).ToArray(), 1300, 3);
        const int k = 40;
        var all = Naive(x, x, x.Rows - 1, Metric.Euclidean, self: true);
        foreach (bool once in new[] { true, false })
        {
            var g = ExactKnn.Search(x, null, k, Metric.Euclidean, 2, symmetric: once);
            for (int i = 0; i < x.Rows; i++)
            {
                // The k first of every other point by (distance, index).
                var want = Enumerable.Range(0, x.Rows - 1).Select(t => (D: all.Dist[i * (x.Rows - 1) + t], J: all.Idx[i * (x.Rows - 1) + t]))
                    .OrderBy(p => p.D).ThenBy(p => p.J).Take(k).Select(p => p.J).ToArray();
                Assert.Equal(want, g.NeighborsOf(i).ToArray());
            }
        }
    }

    [Fact]
    public void Batched_distances_equal_the_squared_distances_by_definition_for_every_width_and_batch_length()
    {
        for (int dims = 1; dims <= 41; dims++)
        {
            var x = RandomMatrix(23, dims, dims);
            var norms = ExactKnn.SquaredNorms(x);
            for (int m = 0; m <= 13; m++)
            {
                var partners = Enumerable.Range(1, m).Select(t => (t * 7) % 22 + 1).ToArray();
                var got = new float[m];
                Distance.SquaredToMany(x, norms, 0, partners, got);
                for (int t = 0; t < m; t++)
                {
                    double want = 0;
                    for (int d = 0; d < dims; d++) want += Math.Pow(x.Row(0)[d] - x.Row(partners[t])[d], 2);
                    Assert.True(Math.Abs(got[t] - want) <= 1e-4 * Math.Max(1, want), $"dims {dims}, batch {m}, partner {t}: {got[t]} vs {want}");
                }
            }
        }
    }

    [Fact]
    public void Distances_from_two_rows_at_once_equal_the_definition_and_the_one_row_batches_bit_for_bit()
    {
        for (int dims = 1; dims <= 41; dims++)
        {
            var x = RandomMatrix(23, dims, 100 + dims);
            var norms = ExactKnn.SquaredNorms(x);
            for (int m = 0; m <= 13; m++)
            {
                // Partners repeat and include the two rows themselves, as NN-descent's lists may.
                var partners = new[] { 3, 5, 11, 5, 0, 22, 3, 7, 11, 9, 1, 2, 14 }[..m];
                var got0 = new float[m]; var got1 = new float[m];
                var one0 = new float[m]; var one1 = new float[m];
                Distance.SquaredToMany2(x, norms, 3, 11, partners, got0, got1);
                Distance.SquaredToMany(x, norms, 3, partners, one0);
                Distance.SquaredToMany(x, norms, 11, partners, one1);
                Assert.Equal(one0, got0);
                Assert.Equal(one1, got1);
                for (int t = 0; t < m; t++)
                    foreach (var (p, got) in new[] { (3, got0[t]), (11, got1[t]) })
                    {
                        double want = 0;
                        for (int d = 0; d < dims; d++) want += Math.Pow(x.Row(p)[d] - x.Row(partners[t])[d], 2);
                        Assert.True(Math.Abs(got - want) <= 1e-4 * Math.Max(1, want), $"dims {dims}, batch {m}, row {p}, partner {t}: {got} vs {want}");
                    }
            }
        }
    }

    [Theory]
    [InlineData(0, 15, 0, 0, false)]     // Fashion-MNIST, the defaults
    [InlineData(1, 10, 1, 4, false)]     // random 37-d, one tree of leaves of 4: most slots filled at random first
    [InlineData(2, 7, 3, 9, true)]       // random 37-d, cosine
    public void NN_descent_skipping_known_pairs_two_candidates_at_a_time_gives_the_graph_of_measuring_every_pair(int data, int k, int trees, int leaf, bool cosine)
    {
        // More than 2,048 points: more than one group of blocks per round, so later groups skip against heaps that
        // earlier groups of the same round wrote.
        var x = data == 0 ? Fashion(3000).X : RandomMatrix(2601, 37, data);
        var metric = cosine ? Metric.Cosine : Metric.Euclidean;
        var options = new NNDescentOptions { Seed = 11, Trees = trees, LeafSize = leaf, Threads = 2 };
        var fast = NNDescent.Build(x, k, metric, options);
        var reference = NNDescent.Build(x, k, metric, options with { EveryPair = true });
        Assert.Equal(reference.Indices, fast.Indices);
        Assert.Equal(reference.Distances, fast.Distances);
        if (data == 0) Assert.True(fast.Recall(ExactKnn.Search(x, k, metric)) >= 0.95);
    }

    [Fact]
    public void NN_descent_reaches_high_recall_on_fashion_mnist_whatever_the_thread_count()
    {
        var (x, _) = Fashion(3000);
        var exact = ExactKnn.Search(x, 15);
        var one = NNDescent.Build(x, 15, options: new NNDescentOptions { Seed = 3, Threads = 1 });
        var two = NNDescent.Build(x, 15, options: new NNDescentOptions { Seed = 3, Threads = 2 });
        double recall = one.Recall(exact);
        Assert.True(recall >= 0.95, $"recall@15 {recall:F4}");
        Assert.Equal(one.Indices, two.Indices);
        for (int i = 0; i < 3000; i++) Assert.True(one.DistancesOf(i)[0] <= one.DistancesOf(i)[14]);
        Assert.True(NNDescent.Build(x, 15, Metric.Cosine).Recall(ExactKnn.Search(x, 15, Metric.Cosine)) >= 0.95);
    }

    [Fact]
    public void The_index_answers_new_queries_with_high_recall()
    {
        var (all, _) = Fashion(2500);
        var data = new Matrix(all.Data[..(2000 * 784)], 2000, 784);
        var queries = new Matrix(all.Data[(2000 * 784)..], 500, 784);
        var index = KnnIndex.Build(data, 15);
        var approx = index.Query(queries, 10);
        var exact = ExactKnn.Search(data, queries, 10);
        Assert.True(approx.Recall(exact) >= 0.9, $"recall@10 {approx.Recall(exact):F4}");
    }

    [Fact]
    public void Too_few_points_for_k_is_a_clear_error()
    {
        var x = RandomMatrix(5, 3, 1);
        Assert.Contains("k = 5", Assert.Throws<PerceptException>(() => ExactKnn.Search(x, 5)).Message);
        Assert.Contains("k = 5", Assert.Throws<PerceptException>(() => NNDescent.Build(x, 5)).Message);
    }
}
