using Percept.Core;
using Percept.Neighbors;

namespace Percept.Tests.Neighbors;

/// <summary>The k-d tree's neighbours of a map's points: exactly those of a brute-force count, ties to the smaller index.</summary>
public class LowDimensionalKnnTests
{
    static (int[] Indices, float[] Distances) Brute(Matrix x, int k)
    {
        int n = x.Rows;
        var idx = new int[n * k];
        var dist = new float[n * k];
        for (int i = 0; i < n; i++)
        {
            var order = Enumerable.Range(0, n).Where(j => j != i).Select(j =>
            {
                float s = 0;
                for (int a = 0; a < x.Columns; a++) { float t = x.Row(j)[a] - x.Row(i)[a]; s += t * t; }
                return (S: s, J: j);
            }).OrderBy(p => p.S).ThenBy(p => p.J).Take(k).ToArray();
            for (int t = 0; t < k; t++) { idx[i * k + t] = order[t].J; dist[i * k + t] = MathF.Sqrt(order[t].S); }
        }
        return (idx, dist);
    }

    [Theory]
    [InlineData(1, 1, 7, 3)]
    [InlineData(2, 2, 1001, 10)]
    [InlineData(3, 3, 517, 15)]
    [InlineData(4, 2, 13, 12)]       // k = n − 1
    [InlineData(5, 2, 2000, 1)]
    public void Neighbours_are_those_of_a_brute_force_count(int seed, int dims, int n, int k)
    {
        var rng = new Random(seed);
        var x = new Matrix(n, dims);
        // Clusters, a line of equal points and integer coordinates: dense spots, exact ties and empty space.
        for (int i = 0; i < n; i++)
            for (int a = 0; a < dims; a++)
                x.Row(i)[a] = i % 7 == 0 ? (float)Math.Round(rng.NextDouble() * 4) : i % 11 == 0 ? 1f : (float)((i % 3) * 10 + rng.NextDouble());
        var (idx, dist) = Brute(x, k);
        foreach (int threads in new[] { 1, 2 })
        {
            var g = LowDimensionalKnn.Search(x, k, threads);
            Assert.Equal(idx, g.Indices);
            Assert.Equal(dist, g.Distances);
        }
    }

    [Fact]
    public void A_map_mostly_collapsed_to_one_spot_still_gets_neighbours()
    {
        var x = new Matrix(3000, 2);
        for (int i = 0; i < 3000; i++) { x.Row(i)[0] = i < 2000 ? 1f : i; x.Row(i)[1] = 2f; }
        var g = LowDimensionalKnn.Search(x, 5);
        Assert.Equal(3000, g.Count);
        Assert.All(g.Indices, j => Assert.InRange(j, 0, 2999));
        // The spread points' neighbours are exact whichever way they were found: 2,500's nearest are 2,499 and 2,501.
        Assert.Equal([2499, 2501], g.Indices.AsSpan(2500 * 5, 2).ToArray().Order());
    }

    [Fact]
    public void Wide_data_and_too_few_points_are_refused()
    {
        Assert.Throws<PerceptException>(() => LowDimensionalKnn.Search(new Matrix(10, 4), 3));
        Assert.Throws<PerceptException>(() => LowDimensionalKnn.Search(new Matrix(3, 2), 3));
    }
}
