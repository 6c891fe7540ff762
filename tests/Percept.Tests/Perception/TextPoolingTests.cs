using Percept.Attribution;
using Percept.Data;
using Percept.Model;
using Percept.IO;
using Percept.Perception;
using Percept.Store;

namespace Percept.Tests.Perception;

/// <summary>
/// A text model's layers with one vector per token are pooled over the tokens that are not padding, as its own
/// mean-pooled output is; Fetch Similar's gradients follow the same pooling.
/// </summary>
public class TextPoolingTests
{
    static string Fixture(string file) => Path.Combine(TestFiles.Root, "tests", "fixtures", "text", file);

    [Theory]
    [InlineData(5, 9, 7)]
    [InlineData(3, 1, 17)]
    [InlineData(4, 16, 3)]
    public void Pooling_over_kept_positions_equals_a_naive_count(int batch, int tokens, int features)
    {
        var rng = new Random(batch * 31 + tokens);
        var act = Enumerable.Range(0, batch * tokens * features).Select(_ => (float)(rng.NextDouble() * 4 - 2)).ToArray();
        var keep = Enumerable.Range(0, batch * tokens).Select(_ => rng.NextDouble() < 0.6).ToArray();
        for (int t = 0; t < tokens; t++) keep[t] = false; // the first row is padding alone
        foreach (var mode in new[] { PoolingMode.Mean, PoolingMode.Max })
        {
            var got = new float[batch * features];
            Pooling.Pool(act, [batch, tokens, features], channelsLast: true, mode, batch, got, keep);
            for (int b = 0; b < batch; b++)
                for (int f = 0; f < features; f++)
                {
                    var col = Enumerable.Range(0, tokens).Where(t => keep[b * tokens + t]).Select(t => (double)act[(b * tokens + t) * features + f]).ToArray();
                    double expected = col.Length == 0 ? 0 : mode == PoolingMode.Mean ? col.Average() : col.Max();
                    Assert.Equal(expected, got[b * features + f], 1e-5);
                }
        }
        Assert.Throws<ArgumentException>(() => Pooling.Pool(act, [batch, tokens, features], channelsLast: false, PoolingMode.Mean, batch, new float[batch * tokens], keep));
    }

    /// <summary>Sample <paramref name="index"/>'s raw activations of every recorded tensor, <c>[tokens, D]</c> each.</summary>
    static Dictionary<string, float[]> Activations(Run run, OnnxModel model, ModelRunner runner, IReadOnlyList<string> tensors, float[] ids)
    {
        using var r = runner.Run((float[])ids.Clone(), 1);
        return tensors.Select((t, i) => (t, i)).ToDictionary(p => p.t, p => r[p.i].GetTensorDataAsSpan<float>().ToArray());
    }

    [Fact]
    public void Layers_with_a_vector_per_token_leave_padding_out_and_the_similarity_gradients_match_finite_differences()
    {
        using var dir = new TempDir();
        var run = Analysis.Run(new AnalysisOptions
        {
            ModelPath = Fixture("model.onnx"), OutputDirectory = dir["run"], Insights = false,
            Data = new DataSource { Path = Fixture("tokens.npy"), LabelsPath = Fixture("labels.npy"), ClassNamesPath = Fixture("classes.txt") },
            Map = new Percept.Projection.MapOptions { Method = Percept.Projection.MapMethod.None },
        });
        Assert.True(run.Manifest.Text!.MaskedPooling);
        int pad = run.Manifest.Text.PadId, tokens = run.Manifest.Text.Tokens;
        var ids = Npy.ReadInt64(Fixture("tokens.npy"), out _);
        var model = OnnxModel.Load(run.ModelPath(), pad);
        var layers = run.Manifest.Perception.Layers;
        var tensors = layers.Select(l => l.Tensor).Distinct().ToArray();
        using var runner = new ModelRunner(model, model.SelectInput(null), [tokens], tensors.Select(t => new Fetch(t)).ToArray());
        float[] Ids(int i) => Enumerable.Range(0, tokens).Select(t => (float)ids[i * tokens + t]).ToArray();

        // The stored pooled layers: a per-token layer's mean over the kept tokens, and not over all of them where a text is padded.
        int perToken = 0, differs = 0;
        foreach (int i in new[] { 0, 1, 7, 10, 599 })
        {
            var x = Ids(i);
            var acts = Activations(run, model, runner, tensors, x);
            foreach (var l in layers)
            {
                var stored = run.ReadMatrix(l.Field, out _, out int width).AsSpan(i * width, width).ToArray();
                var a = acts[l.Tensor];
                if (a.Length != tokens * width) { Assert.Equal(width, a.Length); continue; }
                perToken++;
                var kept = Enumerable.Range(0, tokens).Where(t => x[t] != pad).ToArray();
                for (int c = 0; c < width; c++)
                {
                    double mean = kept.Length == 0 ? 0 : kept.Average(t => (double)a[t * width + c]);
                    Assert.Equal(mean, stored[c], 1e-4);
                    double all = Enumerable.Range(0, tokens).Average(t => (double)a[t * width + c]);
                    if (Math.Abs(all - mean) > 1e-3) differs++;
                }
            }
        }
        Assert.True(perToken > 0, "the fixture records a layer with one vector per token");
        Assert.True(differs > 0, "padding changes the plain mean, so the test tells the two apart");

        // Fetch Similar's seeds: ∂cos/∂(activation) is 1/kept on each kept token and 0 on padding, as finite differences of
        // the vector built from the activations say.
        int a0 = 10, b0 = 3;
        using var explainer = new SimilarityExplainer(run);
        var gradients = explainer.LayerGradients(a0, b0);
        var m = run.Manifest.Perception;
        var stats = layers.Select(l => run.ReadMatrix(l.StatsField, out _, out _)).ToArray();
        var builder = new PerceptionVectorBuilder(stats.Select((s, k) => s[..layers[k].Width]).ToArray(), stats.Select((s, k) => s[layers[k].Width..]).ToArray(),
            m.MaxWidth, m.Seed);
        var emb = run.ReadMatrix("embedding", out _, out int dims);
        var vb = emb.AsSpan(b0 * dims, dims).ToArray();
        var xa = Ids(a0);
        var keep = xa.Select(v => v != pad).ToArray();
        Assert.Contains(false, keep);
        double Cos(Dictionary<string, float[]> acts)
        {
            var blocks = layers.Select(l =>
            {
                var pooled = new float[l.Width];
                var act = acts[l.Tensor];
                if (act.Length == l.Width) act.CopyTo(pooled, 0);
                else Pooling.Pool(act, [1, tokens, l.Width], channelsLast: true, PoolingMode.Mean, 1, pooled, keep);
                return (ReadOnlyMemory<float>)pooled;
            }).ToArray();
            var v = new float[builder.Width];
            builder.Build(blocks, v);
            return v.Zip(vb).Sum(p => (double)p.First * p.Second) / Math.Sqrt(v.Sum(q => (double)q * q) * vb.Sum(q => (double)q * q));
        }
        var base0 = Activations(run, model, runner, tensors, xa);
        var va = emb.AsSpan(a0 * dims, dims).ToArray();
        Assert.Equal(va.Zip(vb).Sum(p => (double)p.First * p.Second) / Math.Sqrt(va.Sum(q => (double)q * q) * vb.Sum(q => (double)q * q)), Cos(base0), 1e-4);
        var layer = layers.First(l => base0[l.Tensor].Length == tokens * l.Width);
        var g = gradients[layer.Tensor];
        float scale = g.Max(Math.Abs);
        Assert.True(scale > 0);
        var rng = new Random(3);
        for (int n = 0; n < 24; n++)
        {
            int t = n < 12 ? Array.FindIndex(keep, k => k) + rng.Next(keep.Count(k => k)) : rng.Next(tokens);
            t = Math.Min(t, tokens - 1);
            int c = rng.Next(layer.Width), e = t * layer.Width + c;
            const float eps = 1e-2f;
            var plus = base0.ToDictionary(p => p.Key, p => (float[])p.Value.Clone());
            var minus = base0.ToDictionary(p => p.Key, p => (float[])p.Value.Clone());
            plus[layer.Tensor][e] += eps;
            minus[layer.Tensor][e] -= eps;
            double fd = (Cos(plus) - Cos(minus)) / (2 * eps);
            if (!keep[t]) Assert.Equal(0f, g[e]);
            Assert.True(Math.Abs(fd - g[e]) <= 2e-2 * scale, $"token {t} ({(keep[t] ? "kept" : "padding")}), feature {c}: finite difference {fd:G5}, gradient {g[e]:G5} (scale {scale:G3})");
        }
    }
}
