using Percept.Attribution;
using Percept.Data;
using Percept.IO;
using Percept.Model;
using Percept.Perception;

namespace Percept.Tests.Attribution;

/// <summary>Fetch Similar's maps: the cosine of two perception vectors, differentiated back to the input.</summary>
public class SimilarityTests(DemoRunFixture fixture) : IClassFixture<DemoRunFixture>
{
    [Fact]
    public void Similarity_maps_agree_with_finite_differences_of_the_perception_vector_cosine()
    {
        var run = fixture.Run;
        int a = 417, b = 2093;
        var (maps, cosine, _) = Similarity.Explain(run, a, b);
        var emb = run.ReadMatrix("embedding", out _, out int width);
        var vb = emb.AsSpan(b * width, width).ToArray();
        double Cos(float[] x, float[] y) => x.Zip(y).Sum(p => (double)p.First * p.Second) / Math.Sqrt(x.Sum(v => (double)v * v) * y.Sum(v => (double)v * v));
        Assert.Equal(Cos(emb.AsSpan(a * width, width).ToArray(), vb), cosine, 1e-5);

        // The perception vector of any input, built as the analysis built it: pooled layers, the run's statistics.
        var m = run.Manifest;
        var model = OnnxModel.Load(m.Model.Path);
        var fetch = m.Perception.Layers.Select(l => new Fetch(l.Tensor, l.Op == "Conv" ? GraphPooling.GlobalAverage : GraphPooling.None)).ToArray();
        using var runner = new ModelRunner(model, model.Inputs[0], [1, 28, 28], fetch);
        var means = m.Perception.Layers.Select(l => run.ReadMatrix(l.StatsField, out _, out _)[..l.Width]).ToArray();
        var stds = m.Perception.Layers.Select(l => run.ReadMatrix(l.StatsField, out _, out _)[l.Width..]).ToArray();
        var builder = new PerceptionVectorBuilder(means, stds, m.Perception.MaxWidth, m.Perception.Seed);
        float[] Vector(float[] x)
        {
            using var r = runner.Run((float[])x.Clone(), 1);
            var blocks = Enumerable.Range(0, fetch.Length).Select(i => (ReadOnlyMemory<float>)r[i].GetTensorDataAsSpan<float>().ToArray()).ToArray();
            var v = new float[builder.Width];
            builder.Build(blocks, v);
            return v;
        }
        using var ds = new IdxDataset(TestFiles.FashionImages);
        var xa = ds.ReadBatches(1000).First().Values.AsSpan(a * 784, 784).ToArray().Select(v => v / 255f).ToArray();
        Assert.Equal(Cos(Vector(xa), vb), cosine, 1e-4);
        // Float32 finite differences of a cosine carry ~1e-4 absolute noise: compare relative to the map's scale.
        float scale = maps.Maps.Take(784).Max(Math.Abs);
        int checkedCount = 0;
        foreach (int p in Enumerable.Range(0, 784).Where(p => xa[p] > 0.2f).Take(25))
        {
            const float eps = 1e-3f;
            var plus = (float[])xa.Clone(); plus[p] += eps;
            var minus = (float[])xa.Clone(); minus[p] -= eps;
            double fd = (Cos(Vector(plus), vb) - Cos(Vector(minus), vb)) / (2 * eps) * xa[p];
            Assert.True(Math.Abs(fd - maps.Maps[p]) <= 2e-2 * scale, $"pixel {p}: finite difference × input {fd:G5}, map {maps.Maps[p]:G5} (scale {scale:G3})");
            checkedCount++;
        }
        Assert.Equal(25, checkedCount);
    }
}
