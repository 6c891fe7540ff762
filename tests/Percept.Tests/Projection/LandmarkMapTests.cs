using Percept.Neighbors;
using Percept.Projection;

namespace Percept.Tests.Projection;

/// <summary>A UMAP fitted on landmarks with the other samples placed on it keeps the map's quality.</summary>
public class LandmarkMapTests
{
    [Fact]
    public void A_map_fitted_on_a_quarter_of_the_samples_keeps_their_neighbourhoods()
    {
        // 6,000 points in 12 Gaussian clusters of 20 dimensions.
        var rng = new Random(7);
        double Gauss() => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
        const int n = 6000, dims = 20, clusters = 12;
        var centres = Enumerable.Range(0, clusters).Select(_ => Enumerable.Range(0, dims).Select(_ => 8 * Gauss()).ToArray()).ToArray();
        var x = new Matrix(n, dims);
        for (int i = 0; i < n; i++) for (int d = 0; d < dims; d++) x.Row(i)[d] = (float)(centres[i % clusters][d] + Gauss());
        var options = new MapOptions { Method = MapMethod.Umap, Seed = 3, Threads = 1 };
        var full = Maps.Make(x, options);
        var landmark = Maps.Make(x, options with { Landmarks = 1500 });

        Assert.Equal(n, landmark.Coordinates.Rows);
        Assert.All(landmark.Coordinates.Data, v => Assert.True(float.IsFinite(v)));
        var qFull = MapQuality.Evaluate(x, full.Coordinates, 10, 3000, 1, Metric.Euclidean, 1);
        var qLandmark = MapQuality.Evaluate(x, landmark.Coordinates, 10, 3000, 1, Metric.Euclidean, 1);
        Assert.True(qLandmark.Trustworthiness >= qFull.Trustworthiness - 0.02, $"trustworthiness {qLandmark.Trustworthiness:F4} against {qFull.Trustworthiness:F4} fitting all");
        // And it is a good map in its own right.
        Assert.True(qLandmark.Trustworthiness > 0.9, $"trustworthiness {qLandmark.Trustworthiness:F4}");
        // The same seed, the same map.
        Assert.Equal(landmark.Coordinates.Data, Maps.Make(x, options with { Landmarks = 1500 }).Coordinates.Data);
    }
}
