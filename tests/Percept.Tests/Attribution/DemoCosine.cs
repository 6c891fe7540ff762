using Percept.Data;
using Percept.Model;
using Percept.Perception;
using Percept.Store;

namespace Percept.Tests.Attribution;

/// <summary>
/// The cosine of a demo-run image's perception vector with a fixed vector, recomputed from scratch: the model run on the
/// image, its layers pooled and built into a vector with the run's statistics, as the analysis built them. What the
/// similarity and class-mean maps are checked against by finite differences.
/// </summary>
sealed class DemoCosine : IDisposable
{
    readonly ModelRunner _runner;
    readonly Fetch[] _fetch;
    readonly PerceptionVectorBuilder _builder;

    public DemoCosine(Run run)
    {
        var m = run.Manifest;
        var model = OnnxModel.Load(m.Model.Path);
        _fetch = m.Perception.Layers.Select(l => new Fetch(l.Tensor, l.Op == "Conv" ? GraphPooling.GlobalAverage : GraphPooling.None)).ToArray();
        _runner = new ModelRunner(model, model.Inputs[0], [1, 28, 28], _fetch);
        var stats = m.Perception.Layers.Select(l => run.ReadMatrix(l.StatsField, out _, out _)).ToArray();
        _builder = new PerceptionVectorBuilder(stats.Select((s, i) => s[..m.Perception.Layers[i].Width]).ToArray(),
            stats.Select((s, i) => s[m.Perception.Layers[i].Width..]).ToArray(), m.Perception.MaxWidth, m.Perception.Seed);
    }

    /// <summary>Test image <paramref name="index"/> of the demo's data, scaled to [0, 1] as the run read it.</summary>
    public static float[] Image(int index)
    {
        using var ds = new IdxDataset(TestFiles.FashionImages);
        return ds.ReadBatches(1000).First().Values.AsSpan(index * 784, 784).ToArray().Select(v => v / 255f).ToArray();
    }

    /// <summary>The perception vector of an input.</summary>
    public float[] Vector(float[] x)
    {
        using var r = _runner.Run((float[])x.Clone(), 1);
        var blocks = Enumerable.Range(0, _fetch.Length).Select(i => (ReadOnlyMemory<float>)r[i].GetTensorDataAsSpan<float>().ToArray()).ToArray();
        var v = new float[_builder.Width];
        _builder.Build(blocks, v);
        return v;
    }

    public static double Cosine(float[] x, float[] y) =>
        x.Zip(y).Sum(p => (double)p.First * p.Second) / Math.Sqrt(x.Sum(v => (double)v * v) * y.Sum(v => (double)v * v));

    /// <summary>
    /// Asserts that <paramref name="map"/> (gradient × input of cos(v(x), <paramref name="other"/>)) agrees with central
    /// finite differences × input on the first 25 pixels brighter than 0.2, within 2% of the map's largest |value|
    /// (float32 finite differences of a cosine carry ~1e-4 absolute noise).
    /// </summary>
    public void AssertFiniteDifferences(ReadOnlySpan<float> map, float[] x, float[] other)
    {
        float scale = 0;
        foreach (float v in map) scale = Math.Max(scale, Math.Abs(v));
        int checkedCount = 0;
        foreach (int p in Enumerable.Range(0, 784).Where(p => x[p] > 0.2f).Take(25))
        {
            const float eps = 1e-3f;
            var plus = (float[])x.Clone(); plus[p] += eps;
            var minus = (float[])x.Clone(); minus[p] -= eps;
            double fd = (Cosine(Vector(plus), other) - Cosine(Vector(minus), other)) / (2 * eps) * x[p];
            Assert.True(Math.Abs(fd - map[p]) <= 2e-2 * scale, $"pixel {p}: finite difference × input {fd:G5}, map {map[p]:G5} (scale {scale:G3})");
            checkedCount++;
        }
        Assert.Equal(25, checkedCount);
    }

    public void Dispose() => _runner.Dispose();
}
