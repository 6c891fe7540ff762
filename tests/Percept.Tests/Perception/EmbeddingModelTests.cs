using System.Text.Json;
using Percept.Insights;
using Percept.Neighbors;
using Percept.Perception;
using Percept.Store;
using Percept.Tests.Cli;

namespace Percept.Tests.Perception;

/// <summary>
/// Models without classes (a backbone ending in a global pooling, an embedding ending in a normalisation): recognised,
/// no accuracy or loss claimed anywhere, the output kept as a field and usable as the map's space, labels still driving
/// the neighbour agreement; and a classifier is still read as one.
/// </summary>
public class EmbeddingModelTests
{
    /// <summary>The first <paramref name="n"/> bundled test images and labels as IDX files in <paramref name="dir"/>.</summary>
    internal static (string Images, string Labels) Images(TempDir dir, int n)
    {
        byte[] Read(string path)
        {
            using var gz = new System.IO.Compression.GZipStream(File.OpenRead(path), System.IO.Compression.CompressionMode.Decompress);
            using var ms = new MemoryStream();
            gz.CopyTo(ms);
            return ms.ToArray();
        }
        void Write(string path, byte[] all, int header, int size)
        {
            var head = all[..header];
            head[4] = (byte)(n >> 24); head[5] = (byte)(n >> 16); head[6] = (byte)(n >> 8); head[7] = (byte)n;
            using var o = new System.IO.Compression.GZipStream(File.Create(path), System.IO.Compression.CompressionLevel.Fastest);
            o.Write(head); o.Write(all.AsSpan(header, n * size));
        }
        Write(dir["x.gz"], Read(TestFiles.FashionImages), 16, 784);
        Write(dir["y.gz"], Read(TestFiles.FashionLabels), 8, 1);
        return (dir["x.gz"], dir["y.gz"]);
    }

    [Fact]
    public void A_backbone_ending_in_global_pooling_is_an_embedding_with_no_accuracy_and_its_labels_still_drive_agreement()
    {
        using var dir = new TempDir();
        var (images, labels) = Images(dir, 400);
        string model = TinyModels.FeatureExtractor(dir["f.onnx"], 1, 28, 12);
        var (code, stdout, stderr) = CliHarness.Percept("analyze", "--model", model, "--data", images, "--labels", labels,
            "--classes", TestFiles.FashionClasses, "--out", dir["run"]);
        Assert.True(code == 0, stderr);
        Assert.Contains("is an embedding (12 × 1 × 1), not class scores: no accuracy or loss", stdout);
        Assert.DoesNotContain("accuracy:", stdout);
        var run = Run.Open(dir["run"]);
        Assert.Equal("embedding", run.Manifest.Model.OutputKind);
        Assert.Equal(0, run.Manifest.NumClasses);
        Assert.Null(run.Manifest.Summary!.Accuracy);
        Assert.Null(run.Manifest.Summary.MeanLoss);
        Assert.False(run.Has(PerceptionFields.Logits));
        Assert.Equal(12, run.Open(PerceptionFields.Outputs).Columns);
        // Labels drive the neighbour agreement: each labelled sample's share of neighbours with its label, from the graph.
        var agreement = run.ReadFloat32(InsightFields.NeighborAgreement);
        var graph = RunGraph.Read(run).Graph;
        int[] y; using (var t = run.OpenSamples()) y = t.ReadInt32(PerceptionFields.Label);
        using var json = JsonDocument.Parse(InsightsStore.ReadJson(run)!);
        int k = json.RootElement.GetProperty("neighbors").GetInt32();
        for (int i = 0; i < run.Count; i++)
        {
            var near = graph.NeighborsOf(i)[..k].ToArray().Where(j => j >= 0).ToArray();
            Assert.Equal(near.Count(j => y[j] == y[i]) / (double)near.Length, agreement[i], 5);
        }
        Assert.InRange(agreement.Average(v => (double)v), 0.15, 1);  // random features of images still group some classes (chance: 0.1)
        Assert.Equal(10, json.RootElement.GetProperty("class_proximity").GetProperty("classes").GetArrayLength());
        // The report is written, and claims no accuracy either.
        (code, _, stderr) = CliHarness.Percept("report", dir["run"], "--out", dir["report.html"]);
        Assert.True(code == 0, stderr);
        string html = File.ReadAllText(dir["report.html"]);
        Assert.Contains("\"accuracy\":null", html);
        Assert.Contains("\"meanLoss\":null", html);
    }

    [Fact]
    public void A_normalised_embedding_is_recognised_and_can_be_the_space_of_the_map()
    {
        using var dir = new TempDir();
        var rng = new Random(3);
        File.WriteAllText(dir["t.csv"], "id,a,b,c,d,label\n" + string.Concat(Enumerable.Range(0, 120).Select(i =>
        {
            int c = i % 3;
            string F(double v) => v.ToString("F3", System.Globalization.CultureInfo.InvariantCulture);
            return $"s{i},{F(c + rng.NextDouble() * 0.3)},{F(-c + rng.NextDouble() * 0.3)},{F(rng.NextDouble())},{F(c * 0.5)},{c}\n";
        })));
        string model = TinyModels.NormalisedEmbedding(dir["e.onnx"], 4, 16, 6);
        var (code, stdout, stderr) = CliHarness.Percept("analyze", "--model", model, "--data", dir["t.csv"], "--out", dir["run"], "--map-space", "output");
        Assert.True(code == 0, stderr);
        Assert.Contains("is an embedding", stdout);
        var run = Run.Open(dir["run"]);
        Assert.Equal("embedding", run.Manifest.Model.OutputKind);
        Assert.Equal("outputs", run.Manifest.Neighbors!.Space);
        // The graph is the exact cosine k-NN of the model's outputs (120 samples: exact search).
        var outputs = run.ReadMatrix(PerceptionFields.Outputs);
        var graph = RunGraph.Read(run).Graph;
        var exact = ExactKnn.Search(outputs, graph.K, Metric.Cosine);
        for (int i = 0; i < run.Count; i++)
            Assert.Equal(exact.NeighborsOf(i).ToArray().Order(), graph.NeighborsOf(i).ToArray().Order());
        // Its heat maps are of the classes' mean directions: by gradient × input (no convolution to read), the gradient graph
        // built up to the last recorded layer, since LpNormalization, after it, has no gradient rule.
        var (code3, stdout3, stderr3) = CliHarness.Percept("explain", "--run", dir["run"], "--sample", "5", "--target", "all", "--out", dir["maps.npy"]);
        Assert.True(code3 == 0, stderr3);
        Assert.Contains("gradxinput of the likeness to 0, 1, 2", stdout3);
        var maps = Percept.IO.Npy.ReadFloat32(dir["maps.npy"], out var mapShape);
        Assert.Equal(new long[] { 3, 1, 4 }, mapShape);
        Assert.Contains(maps, v => v != 0);
        // The same model without its normalisation records the same layers, so it has the same perception vectors and
        // cosines; its graph is the usual one (its output is the last recorded layer), whose seeds the finite-difference
        // tests check. The maps of the two must agree.
        string plain = TinyModels.NormalisedEmbedding(dir["plain.onnx"], 4, 16, 6, normalise: false);
        var (code4, _, stderr4) = CliHarness.Percept("analyze", "--model", plain, "--data", dir["t.csv"], "--out", dir["plain"], "--map-space", "output", "--output-kind", "embedding");
        Assert.True(code4 == 0, stderr4);
        Assert.Equal(run.ReadMatrix(PerceptionFields.Embedding).Data, Run.Open(dir["plain"]).ReadMatrix(PerceptionFields.Embedding).Data);
        (code4, _, stderr4) = CliHarness.Percept("explain", "--run", dir["plain"], "--sample", "5", "--target", "all", "--out", dir["plain-maps.npy"]);
        Assert.True(code4 == 0, stderr4);
        var plainMaps = Percept.IO.Npy.ReadFloat32(dir["plain-maps.npy"], out _);
        float scale = plainMaps.Max(Math.Abs);
        for (int i = 0; i < maps.Length; i++) Assert.True(Math.Abs(maps[i] - plainMaps[i]) <= 1e-4f * scale, $"value {i}: {maps[i]} against {plainMaps[i]}");
        // Asked to, the same model is read as logits: then it has classes.
        var (code2, _, stderr2) = CliHarness.Percept("analyze", "--model", model, "--data", dir["t.csv"], "--out", dir["logits"], "--output-kind", "logits", "--map", "pca");
        Assert.True(code2 == 0, stderr2);
        Assert.Equal(6, Run.Open(dir["logits"]).Manifest.NumClasses);
    }

    [Fact]
    public void A_classifier_stays_a_classifier_and_a_pooled_map_as_wide_as_the_classes_is_class_scores()
    {
        using var dir = new TempDir();
        var (images, labels) = Images(dir, 200);
        // Ten pooled channels and ten class names: scores, as SqueezeNet's head gives them.
        string pooled = TinyModels.FeatureExtractor(dir["p.onnx"], 1, 28, 10);
        var (code, stdout, stderr) = CliHarness.Percept("analyze", "--model", pooled, "--data", images, "--labels", labels,
            "--classes", TestFiles.FashionClasses, "--out", dir["pooled"], "--map", "pca", "--insights", "none");
        Assert.True(code == 0, stderr);
        Assert.Contains("accuracy:", stdout);
        Assert.Equal(10, Run.Open(dir["pooled"]).Manifest.NumClasses);
        // Without class names, the same pooled output is features.
        var (code2, _, stderr2) = CliHarness.Percept("analyze", "--model", pooled, "--data", images, "--out", dir["features"], "--map", "pca", "--insights", "none");
        Assert.True(code2 == 0, stderr2);
        Assert.Equal("embedding", Run.Open(dir["features"]).Manifest.Model.OutputKind);
        // A class-map head (a 1×1 convolution pooled, as SqueezeNet ends) is class scores even without class names.
        string squeeze = TinyModels.FeatureExtractor(dir["s.onnx"], 1, 28, 10, kernel: 1);
        var (code4, stdout4, stderr4) = CliHarness.Percept("analyze", "--model", squeeze, "--data", images, "--labels", labels, "--out", dir["squeeze"], "--map", "pca", "--insights", "none");
        Assert.True(code4 == 0, stderr4);
        Assert.Contains("accuracy:", stdout4);
        Assert.Equal(10, Run.Open(dir["squeeze"]).Manifest.NumClasses);
        // An MLP classifier (Gemm head) is class scores.
        File.WriteAllText(dir["m.csv"], "a,b,label\n" + string.Concat(Enumerable.Range(0, 40).Select(i => $"{i % 2},{i * 0.1:F1},{i % 2}\n")));
        var (code3, stdout3, stderr3) = CliHarness.Percept("analyze", "--model", TinyModels.Mlp(dir["mlp.onnx"], 2, 4, 2), "--data", dir["m.csv"], "--out", dir["mlp"], "--map", "pca", "--insights", "none");
        Assert.True(code3 == 0, stderr3);
        Assert.Contains("accuracy:", stdout3);
        Assert.Equal("logits", Run.Open(dir["mlp"]).Manifest.Model.OutputKind);
    }
}
