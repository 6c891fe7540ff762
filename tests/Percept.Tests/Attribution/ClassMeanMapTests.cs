using System.Net;
using System.Text.Json;
using Percept.Attribution;
using Percept.Data;
using Percept.IO;
using Percept.Model;
using Percept.Perception;
using Percept.Server;
using Percept.Store;
using Percept.Tests.Cli;

namespace Percept.Tests.Attribution;

/// <summary>
/// Heat maps of a model without class scores: what makes a sample like each class's mean direction in perception space,
/// checked against class means counted here, finite differences of the cosine, and through the CLI and the server.
/// </summary>
public class ClassMeanMapTests(DemoRunFixture fixture) : IClassFixture<DemoRunFixture>
{
    static double Cos(float[] x, float[] y) => DemoCosine.Cosine(x, y);

    /// <summary>Per class, the mean of its samples' unit-length perception vectors, counted row by row.</summary>
    static float[][] NaiveMeans(Run run, out int[] labels)
    {
        var emb = run.ReadMatrix("embedding", out int rows, out int width);
        using (var t = run.OpenSamples()) labels = t.ReadInt32(PerceptionFields.Label);
        int classes = labels.Max() + 1;
        var sums = new double[classes, width];
        var counts = new int[classes];
        for (int i = 0; i < rows; i++)
        {
            if (labels[i] < 0) continue;
            double n = 0;
            for (int j = 0; j < width; j++) n += (double)emb[i * width + j] * emb[i * width + j];
            n = Math.Sqrt(n);
            for (int j = 0; j < width; j++) sums[labels[i], j] += emb[i * width + j] / n;
            counts[labels[i]]++;
        }
        return Enumerable.Range(0, classes).Select(c => Enumerable.Range(0, width).Select(j => (float)(sums[c, j] / counts[c])).ToArray()).ToArray();
    }

    [Fact]
    public void The_cosines_are_those_with_class_means_counted_here_and_a_long_class_list_keeps_the_label_and_the_nearest()
    {
        var run = fixture.Run;
        var means = NaiveMeans(run, out var labels);
        var emb = run.ReadMatrix("embedding", out _, out int width);
        using var explainer = new SimilarityExplainer(run);
        foreach (int a in new[] { 0, 417, 9999 })
        {
            var self = emb.AsSpan(a * width, width).ToArray();
            var (cosines, label) = explainer.ClassLikeness(a);
            Assert.Equal(labels[a], label);
            for (int c = 0; c < means.Length; c++) Assert.Equal(Cos(self, means[c]), cosines[c], 1e-5);
            var (all, _) = explainer.ExplainClassMeans(a);
            Assert.Equal(Enumerable.Range(0, 10), all.Targets.Select(t => t.Class));
            Assert.All(all.Targets, t => Assert.Equal("class-mean", t.Kind));
            for (int c = 0; c < 10; c++) Assert.Equal(cosines[c], all.Scores[c]);
            // At most 4: the label, then the three classes whose means lie nearest, in class order.
            var (few, _) = explainer.ExplainClassMeans(a, most: 4);
            var nearest = Enumerable.Range(0, 10).Where(c => c != label).OrderByDescending(c => cosines[c]).Take(3);
            Assert.Equal(nearest.Append(label).Order(), few.Targets.Select(t => t.Class));
            // Each map is the one computed for its class alone.
            int plane = few.Height * few.Width;
            for (int k = 0; k < few.Targets.Count; k++)
            {
                var (one, _) = explainer.ExplainClassMeans(a, [few.Targets[k].Class]);
                Assert.Equal(few.Maps.AsSpan(k * plane, plane).ToArray(), one.Maps);
            }
        }
    }

    [Fact]
    public void A_class_mean_map_agrees_with_finite_differences_of_the_cosine_with_the_mean()
    {
        var run = fixture.Run;
        var means = NaiveMeans(run, out _);
        int a = 417, c = 6; // a Shirt-like class: not the sample's own, so the map is not just the sample itself
        using var explainer = new SimilarityExplainer(run);
        var (maps, _) = explainer.ExplainClassMeans(a, [c]);

        // The perception vector of any input, built as the analysis built it: pooled layers, the run's statistics.
        using var probe = new DemoCosine(run);
        var xa = DemoCosine.Image(a);
        Assert.Equal(Cos(probe.Vector(xa), means[c]), maps.Scores[0], 1e-4);
        Assert.True(maps.Maps.Max(Math.Abs) > 0);
        probe.AssertFiniteDifferences(maps.Maps, xa, means[c]);
    }

    /// <summary>An embedding model's run (a conv backbone ending in global pooling) over the first 300 test images, labelled or not.</summary>
    static Run EmbeddingRun(TempDir dir, bool labelled)
    {
        string model = TinyModels.FeatureExtractor(dir["f.onnx"], 1, 28, 12);
        var (images, labels) = File.Exists(dir["x.gz"]) ? (dir["x.gz"], dir["y.gz"]) : Percept.Tests.Perception.EmbeddingModelTests.Images(dir, 300);
        return Analysis.Run(new AnalysisOptions
        {
            ModelPath = model, Insights = false, BatchSize = 100,
            Map = new Percept.Projection.MapOptions { Method = Percept.Projection.MapMethod.None },
            Data = labelled
                ? new DataSource { Path = images, LabelsPath = labels, ClassNamesPath = TestFiles.FashionClasses }
                : new DataSource { Path = images },
            OutputDirectory = dir[labelled ? "run" : "unlabelled"],
        });
    }

    [Fact]
    public async Task An_embedding_runs_heat_maps_are_of_the_class_means_in_the_cli_and_the_server()
    {
        using var dir = new TempDir();
        var run = EmbeddingRun(dir, labelled: true);
        Assert.Equal(0, run.Manifest.NumClasses);

        // CLI: every class's map, Grad-CAM by default; pred is the nearest mean; loss is refused in one line.
        var (code, stdout, stderr) = CliHarness.Percept("explain", "--run", dir["run"], "--sample", "5", "--target", "all", "--out", dir["all.npy"], "--png", dir["all.png"]);
        Assert.True(code == 0, stderr);
        Assert.Contains("the model has no class scores", stdout);
        var maps = Npy.ReadFloat32(dir["all.npy"], out var shape);
        Assert.Equal(new long[] { 10, 28, 28 }, shape);
        using (var explainer = new SimilarityExplainer(run))
        {
            var (expected, _) = explainer.ExplainClassMeans(5, null, SimilarityOverlay.GradCam, explainer.CamLayer());
            Assert.Equal(expected.Maps, maps);
            var (cosines, _) = explainer.ClassLikeness(5);
            (code, stdout, stderr) = CliHarness.Percept("explain", "--run", dir["run"], "--sample", "5", "--method", "gradxinput", "--out", dir["pred.npy"]);
            Assert.True(code == 0, stderr);
            Npy.ReadFloat32(dir["pred.npy"], out shape);
            Assert.Equal(new long[] { 1, 28, 28 }, shape);
            int nearest = Enumerable.Range(0, 10).MaxBy(c => cosines[c]);
            Assert.Contains($"of the likeness to {File.ReadAllLines(TestFiles.FashionClasses)[nearest]} →", stdout);
        }
        (code, _, stderr) = CliHarness.Percept("explain", "--run", dir["run"], "--sample", "5", "--target", "loss", "--out", dir["loss.npy"]);
        Assert.NotEqual(0, code);
        Assert.Contains("no loss", stderr);
        Assert.Single(stderr.Trim().Split('\n'));
        (code, _, stderr) = CliHarness.Percept("explain", "--run", dir["run"], "--sample", "5", "--method", "occlusion", "--out", dir["o.npy"]);
        Assert.NotEqual(0, code);
        Assert.Contains("gradcam or gradxinput", stderr);

        // Server: the methods are those of the class means, the targets one per class, the pictures drawn from them.
        var unlabelled = EmbeddingRun(dir, labelled: false);
        await using var server = await DashboardServer.StartAsync([run.Directory, unlabelled.Directory]);
        using var http = new HttpClient { BaseAddress = server.Url, Timeout = TimeSpan.FromMinutes(2) };
        async Task<(HttpStatusCode, JsonElement)> Get(string url)
        {
            using var r = await http.GetAsync(url);
            return (r.StatusCode, JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement);
        }
        var (status, info) = await Get("api/runs/run");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(["gradcam", "gradxinput"], info.GetProperty("methods").EnumerateArray().Select(x => x.GetProperty("name").GetString()));
        Assert.Equal(["conv"], info.GetProperty("camLayers").EnumerateArray().Select(x => x.GetString()));
        (status, var ex) = await Get("api/runs/run/samples/5/explain");
        Assert.True(status == HttpStatusCode.OK, ex.ToString());
        var targets = ex.GetProperty("targets").EnumerateArray().ToArray();
        Assert.Equal(10, targets.Length);
        Assert.All(targets, t => Assert.Equal("class-mean", t.GetProperty("kind").GetString()));
        Assert.Equal(File.ReadAllLines(TestFiles.FashionClasses)[3], targets[3].GetProperty("name").GetString());
        Assert.Equal("conv", ex.GetProperty("layer").GetString());
        using (var png = await http.GetAsync(targets[3].GetProperty("image").GetString()!.TrimStart('/')))
        {
            Assert.Equal(HttpStatusCode.OK, png.StatusCode);
            Assert.Equal("image/png", png.Content.Headers.ContentType?.MediaType);
        }
        (status, ex) = await Get("api/runs/run/samples/5/explain?method=saliency");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, status);
        Assert.Contains("gradcam, gradxinput", ex.ToString());
        (status, ex) = await Get("api/runs/unlabelled/samples/5/explain");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, status);
        Assert.Contains("no labels", ex.ToString());
    }
}
