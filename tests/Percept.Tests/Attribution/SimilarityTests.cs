using Percept.Attribution;
using Percept.Data;
using Percept.IO;
using Percept.Model;
using Percept.Perception;

namespace Percept.Tests.Attribution;

/// <summary>Fetch Similar's maps: the cosine of two perception vectors, differentiated back to the input.</summary>
public class SimilarityTests(DemoRunFixture fixture, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<DemoRunFixture>
{
    /// <summary>The share of a map's positive attribution that lies in its top 20% of pixels (ranked by value).</summary>
    static double TopFifthShare(ReadOnlySpan<float> map)
    {
        var sorted = map.ToArray();
        Array.Sort(sorted, (x, y) => y.CompareTo(x));
        double positive = sorted.Where(v => v > 0).Sum(v => (double)v);
        return positive == 0 ? double.NaN : sorted.Take(sorted.Length / 5).Where(v => v > 0).Sum(v => (double)v) / positive;
    }

    /// <summary>How many 4-connected regions the map's top 20% of pixels (ranked by value, positive only) form: 1 for one blob, many for speckle.</summary>
    static int TopFifthRegions(ReadOnlySpan<float> map, int h, int w)
    {
        var order = Enumerable.Range(0, map.Length).ToArray();
        var values = map.ToArray();
        Array.Sort(order, (x, y) => values[y].CompareTo(values[x]));
        var top = new bool[map.Length];
        foreach (int p in order.Take(map.Length / 5)) top[p] = values[p] > 0;
        int regions = 0;
        var stack = new Stack<int>();
        for (int start = 0; start < top.Length; start++)
        {
            if (!top[start]) continue;
            regions++;
            top[start] = false;
            stack.Push(start);
            while (stack.Count > 0)
            {
                int p = stack.Pop(), y = p / w, x = p % w;
                foreach (int q in new[] { y > 0 ? p - w : -1, y < h - 1 ? p + w : -1, x > 0 ? p - 1 : -1, x < w - 1 ? p + 1 : -1 })
                    if (q >= 0 && top[q]) { top[q] = false; stack.Push(q); }
            }
        }
        return regions;
    }

    [Fact]
    public void The_neighbours_map_alone_equals_the_second_map_of_the_pair()
    {
        using var explainer = new SimilarityExplainer(fixture.Run);
        foreach (var overlay in new[] { SimilarityOverlay.Gradient, SimilarityOverlay.GradCam })
            foreach (var (a, b) in new[] { (0, 1), (17, 4242), (9999, 3) })
            {
                var (pair, cosine, _) = explainer.Explain(a, b, overlay);
                var one = explainer.ExplainNeighbour(a, b, overlay);
                int plane = pair.Height * pair.Width;
                Assert.Equal(pair.Maps.AsSpan(plane, plane).ToArray(), one.Maps);
                Assert.Equal(b, one.Targets.Single().Class);
                Assert.Equal(cosine, one.Scores.Single());
            }
    }

    [Fact]
    public void Similarity_gradcam_reads_the_last_convolution_the_perception_vectors_depend_on()
    {
        // Only conv1 recorded: conv2 and conv3 come after every perception layer, so the cosine does not depend on them and
        // a Grad-CAM there would be blank. The default is conv1, and its maps are not.
        using var dir = new TempDir();
        var run = Analysis.Run(new AnalysisOptions
        {
            ModelPath = TestFiles.DemoModel, Layers = ["conv1"], Insights = false, BatchSize = 500,
            Map = new Percept.Projection.MapOptions { Method = Percept.Projection.MapMethod.None },
            Data = new DataSource { Path = TestFiles.FashionImages, LabelsPath = TestFiles.FashionLabels, ClassNamesPath = TestFiles.FashionClasses },
            OutputDirectory = dir["conv1"],
        });
        Assert.Equal(["conv1"], run.Manifest.Perception.Layers.Select(l => l.Name));
        using var explainer = new SimilarityExplainer(run);
        Assert.Equal("conv1", explainer.CamLayer());
        Assert.Equal("conv3", Similarity.DefaultCamLayer(OnnxModel.Load(TestFiles.DemoModel), fixture.Run.Manifest)!.Name);
        var (maps, _, _) = explainer.Explain(0, 1, SimilarityOverlay.GradCam);
        Assert.True(maps.Maps.Max() > 0, "a blank similarity Grad-CAM");
    }

    [Fact]
    public void Similarity_gradcam_is_coarser_than_gradient_times_input_on_the_demo()
    {
        // The dashboard's view: the neighbour's map (plane 1) for samples 0..49 and each one's nearest neighbour.
        using var explainer = new SimilarityExplainer(fixture.Run);
        using var neighbours = new Percept.Neighbors.SimilarSamples(fixture.Run);
        var (camShare, fineShare, camRegions, fineRegions, fineNegative) = (new List<double>(), new List<double>(), new List<int>(), new List<int>(), new List<double>());
        for (int i = 0; i < 50; i++)
        {
            int j = neighbours.Nearest(i, 1)[0].Index;
            var (g, _, _) = explainer.Explain(i, j);
            var (c, _, _) = explainer.Explain(i, j, SimilarityOverlay.GradCam);
            int plane = g.Height * g.Width;
            var fine = g.Maps.AsSpan(plane, plane);
            var cam = c.Maps.AsSpan(plane, plane);
            Assert.All(c.Maps, v => Assert.True(v >= 0));
            fineShare.Add(TopFifthShare(fine));
            camShare.Add(TopFifthShare(cam));
            fineRegions.Add(TopFifthRegions(fine, g.Height, g.Width));
            camRegions.Add(TopFifthRegions(cam, c.Height, c.Width));
            double negative = 0, total = 0;
            foreach (var v in fine) { total += Math.Abs(v); if (v < 0) negative -= v; }
            fineNegative.Add(negative / total);
        }
        output.WriteLine($"50 sample–neighbour pairs, the neighbour's map: share of positive attribution in the top 20% of pixels: Grad-CAM {camShare.Where(double.IsFinite).Average():P1} " +
            $"({camShare.Count(double.IsFinite)} maps with a positive part), gradient × input {fineShare.Where(double.IsFinite).Average():P1}; " +
            $"4-connected regions the top 20% forms: Grad-CAM {camRegions.Average():F1} (median {Median(camRegions)}), gradient × input {fineRegions.Average():F1} (median {Median(fineRegions)}); " +
            $"negative share of gradient × input's |attribution| {fineNegative.Average():P1}");
        // Coarse: the strongest fifth of a Grad-CAM map is a few regions, where gradient × input's is speckle.
        Assert.True(camRegions.Average() * 3 < fineRegions.Average(), $"Grad-CAM {camRegions.Average():F1} regions, gradient × input {fineRegions.Average():F1}");
    }

    static double Median(IReadOnlyList<int> values) { var s = values.Order().ToArray(); return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2.0; }

    [Fact]
    public void Similarity_maps_agree_with_finite_differences_of_the_perception_vector_cosine()
    {
        var run = fixture.Run;
        int a = 417, b = 2093;
        var (maps, cosine, _) = Similarity.Explain(run, a, b);
        var emb = run.ReadMatrix("embedding", out _, out int width);
        var vb = emb.AsSpan(b * width, width).ToArray();
        Assert.Equal(DemoCosine.Cosine(emb.AsSpan(a * width, width).ToArray(), vb), cosine, 1e-5);

        // The perception vector of any input, built as the analysis built it: pooled layers, the run's statistics.
        using var probe = new DemoCosine(run);
        var xa = DemoCosine.Image(a);
        Assert.Equal(DemoCosine.Cosine(probe.Vector(xa), vb), cosine, 1e-4);
        probe.AssertFiniteDifferences(maps.Maps.AsSpan(0, 784), xa, vb);
    }
}

/// <summary>Fetch Similar's coarse maps: Grad-CAM of the perception-vector cosine at the last convolution.</summary>
public class SimilarityGradCamTests
{
    [Fact]
    public void Similarity_gradcam_equals_relu_of_the_activations_weighted_by_mean_finite_difference_gradients()
    {
        // x[1,12,12] → Conv(4, 3×3, pad 1) → Relu (r) → GlobalAveragePool → Gemm(3): the perception layers are the Relu ("conv") and the logits ("fc").
        using var dir = new TempDir();
        const int n = 60, size = 12, filters = 4, classes = 3, spatial = size * size;
        var rng = new Random(5);
        var pixels = new byte[n * spatial];
        for (int i = 0; i < n; i++)
            for (int p = 0; p < spatial; p++) pixels[i * spatial + p] = (byte)(p / size % 3 == i % 3 ? 150 + rng.Next(100) : rng.Next(90));
        using (var w = new NpyWriter(dir["x.npy"], NpyType.UInt8, [size, size])) w.WriteRows(pixels);
        Npy.Write(dir["y.npy"], Enumerable.Range(0, n).Select(i => (long)(i % 3)).ToArray(), n);
        string path = TinyModels.ConvNet(dir["c.onnx"], 1, size, filters, classes);
        var run = Analysis.Run(new AnalysisOptions
        {
            ModelPath = path, Data = new DataSource { Path = dir["x.npy"], LabelsPath = dir["y.npy"] }, OutputDirectory = dir["run"], Insights = false,
        });
        var m = run.Manifest;
        Assert.Equal(["conv", "fc"], m.Perception.Layers.Select(l => l.Name));

        // The reference: the perception vector as a function of the activation A (the layer before it is the input), written out
        // here: mean pooling, the head's weights read from the file, the run's statistics; ∂cos/∂A by central differences.
        var proto = Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        var wf = proto.Graph.Initializer.Single(t => t.Name == "wf").FloatData.ToArray();
        var bf = proto.Graph.Initializer.Single(t => t.Name == "bf").FloatData.ToArray();
        var means = m.Perception.Layers.Select(l => run.ReadMatrix(l.StatsField, out _, out _)[..l.Width]).ToArray();
        var stds = m.Perception.Layers.Select(l => run.ReadMatrix(l.StatsField, out _, out _)[l.Width..]).ToArray();
        var builder = new PerceptionVectorBuilder(means, stds, m.Perception.MaxWidth, m.Perception.Seed);
        double Cos(float[] x, float[] y) => x.Zip(y).Sum(p => (double)p.First * p.Second) / Math.Sqrt(x.Sum(v => (double)v * v) * y.Sum(v => (double)v * v));
        float[] Vector(double[] a)
        {
            var pooled = new float[filters];
            for (int k = 0; k < filters; k++) { double s = 0; for (int p = 0; p < spatial; p++) s += a[k * spatial + p]; pooled[k] = (float)(s / spatial); }
            var logits = new float[classes];
            for (int c = 0; c < classes; c++) { double s = bf[c]; for (int k = 0; k < filters; k++) s += wf[c * filters + k] * pooled[k]; logits[c] = (float)s; }
            var v = new float[builder.Width];
            builder.Build([pooled, logits], v);
            return v;
        }
        var model = OnnxModel.Load(path);
        using var runner = new ModelRunner(model, model.Inputs[0], [1, size, size], [new Fetch("r")]);
        double[] Activation(int sample)
        {
            var x = pixels.AsSpan(sample * spatial, spatial).ToArray().Select(v => v / 255f).ToArray();
            using var r = runner.Run(x, 1);
            return r[0].GetTensorDataAsSpan<float>().ToArray().Select(v => (double)v).ToArray();
        }
        var emb = run.ReadMatrix("embedding", out _, out int width);
        float[] Row(int i) => emb.AsSpan(i * width, width).ToArray();
        double[] Reference(int self, int other)
        {
            var a = Activation(self);
            var vo = Row(other);
            // The vector rebuilt from A is the run's own: the reference differentiates the function the run computed.
            Assert.Equal(Cos(Row(self), vo), Cos(Vector(a), vo), 1e-5);
            var cam = new double[spatial];
            for (int k = 0; k < filters; k++)
            {
                double alpha = 0;
                for (int p = 0; p < spatial; p++)
                {
                    const double eps = 1e-2;
                    var plus = (double[])a.Clone(); plus[k * spatial + p] += eps;
                    var minus = (double[])a.Clone(); minus[k * spatial + p] -= eps;
                    alpha += (Cos(Vector(plus), vo) - Cos(Vector(minus), vo)) / (2 * eps);
                }
                alpha /= spatial;
                for (int p = 0; p < spatial; p++) cam[p] += alpha * a[k * spatial + p];
            }
            return cam.Select(v => Math.Max(0, v)).ToArray();
        }

        using var explainer = new SimilarityExplainer(run);
        Assert.Equal("conv", explainer.CamLayer());
        int checkedPairs = 0;
        foreach (var (a, b) in new[] { (0, 3), (1, 2), (4, 7), (5, 9) })
        {
            var (maps, cosine, _) = explainer.Explain(a, b, SimilarityOverlay.GradCam);
            Assert.Equal((size, size), (maps.Height, maps.Width)); // the layer's grid is the input's: upsampling leaves it as it is
            Assert.Equal(Cos(Row(a), Row(b)), cosine, 1e-5);
            foreach (var (self, other, plane) in new[] { (a, b, 0), (b, a, 1) })
            {
                var expected = Reference(self, other);
                double scale = expected.Max();
                if (scale == 0) { Assert.All(maps.Maps.AsSpan(plane * spatial, spatial).ToArray(), v => Assert.Equal(0f, v)); continue; }
                for (int p = 0; p < spatial; p++)
                    Assert.True(Math.Abs(maps.Maps[plane * spatial + p] - expected[p]) <= 1e-3 * scale,
                        $"pair ({self}, {other}), pixel {p}: map {maps.Maps[plane * spatial + p]:G5}, reference {expected[p]:G5} (scale {scale:G3})");
                checkedPairs++;
            }
        }
        Assert.True(checkedPairs >= 4, $"only {checkedPairs} of the maps had a positive part to compare");
        // The gradient overlay is still gradient × input, and differs from the coarse one.
        var (fine, _, _) = explainer.Explain(0, 3);
        Assert.NotEqual(fine.Maps, explainer.Explain(0, 3, SimilarityOverlay.GradCam).Maps.Maps);
    }

    [Fact]
    public void Similarity_gradcam_needs_a_convolution()
    {
        using var dir = new TempDir();
        var rng = new Random(2);
        File.WriteAllText(dir["t.csv"], "a,b,c,label\n" + string.Concat(Enumerable.Range(0, 40).Select(i => $"{i % 3 + rng.NextDouble():F3},{rng.NextDouble():F3},{rng.NextDouble():F3},{i % 3}\n")));
        var run = Analysis.Run(new AnalysisOptions
        {
            ModelPath = TinyModels.Mlp(dir["m.onnx"], 3, 5, 3), Data = new DataSource { Path = dir["t.csv"] }, OutputDirectory = dir["run"], Insights = false,
        });
        using var explainer = new SimilarityExplainer(run);
        var e = Assert.Throws<PerceptException>(() => explainer.Explain(0, 1, SimilarityOverlay.GradCam));
        Assert.Contains("no convolution", e.Message);
        Assert.Equal(2, explainer.Explain(0, 1).Maps.Targets.Count);
    }
}
