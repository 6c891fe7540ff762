using Microsoft.ML.OnnxRuntime;
using Percept.Data;
using Percept.IO;
using Percept.Store;

namespace Percept.Tests.Store;

/// <summary>The demo run against PyTorch's golden values, a plain ONNX Runtime run and hand computations.</summary>
public class DemoRunTests(DemoRunFixture fixture) : IClassFixture<DemoRunFixture>
{
    readonly Run _run = fixture.Run;

    static void AssertClose(float[] expected, ReadOnlySpan<float> actual, double relative, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = expected.Max(v => Math.Abs(v));
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= relative * Math.Max(1, scale), $"{what}[{i}]: expected {expected[i]}, got {actual[i]}");
    }

    [Fact]
    public void Logits_probabilities_and_loss_equal_pytorch_golden_values()
    {
        var logits = _run.ReadMatrix("logits", out int rows, out int cols);
        Assert.Equal((10000, 10), (rows, cols));
        AssertClose(Npy.ReadFloat32(TestFiles.Golden("logits.npy"), out _), logits.AsSpan(0, 320), 1e-4, "logits");
        AssertClose(Npy.ReadFloat32(TestFiles.Golden("probabilities.npy"), out _), _run.ReadMatrix("probabilities", out _, out _).AsSpan(0, 320), 1e-4, "probabilities");
        var loss = _run.ReadColumn("loss").Take(32).Select(v => (float)v!).ToArray();
        AssertClose(Npy.ReadFloat32(TestFiles.Golden("loss.npy"), out _), loss, 1e-4, "loss");
    }

    [Fact]
    public void Pooled_layer_blocks_equal_pytorch_activations()
    {
        foreach (var layer in new[] { "conv1", "conv2", "conv3", "fc1", "fc2" })
        {
            var block = _run.ReadMatrix($"layer:{layer}", out _, out int width);
            var golden = Npy.ReadFloat32(TestFiles.Golden($"pooled_{layer}.npy"), out _);
            AssertClose(golden, block.AsSpan(0, 32 * width), 1e-4, layer);
        }
    }

    [Fact]
    public void Max_pooling_equals_pytorch_amax()
    {
        using var dir = new TempDir();
        var run = Analysis.Run(new AnalysisOptions
        {
            ModelPath = TestFiles.DemoModel,
            Data = new DataSource { Path = TestFiles.FashionImages, LabelsPath = TestFiles.FashionLabels },
            OutputDirectory = dir["max"],
            Layers = ["conv1", "conv3"],
            Pooling = Percept.Perception.PoolingMode.Max,
            Map = new() { Method = Percept.Projection.MapMethod.None },
        });
        Assert.Equal(new[] { "conv1", "conv3" }, run.Manifest.Perception.Layers.Select(l => l.Name));
        foreach (var layer in new[] { "conv1", "conv3" })
        {
            var block = run.ReadMatrix($"layer:{layer}", out _, out int width);
            AssertClose(Npy.ReadFloat32(TestFiles.Golden($"maxpooled_{layer}.npy"), out _), block.AsSpan(0, 32 * width), 1e-4, layer);
        }
    }

    [Fact]
    public void Logits_equal_a_plain_onnx_runtime_run_without_extra_outputs()
    {
        var logits = _run.ReadMatrix("logits", out _, out _);
        using var ds = new IdxDataset(TestFiles.FashionImages);
        var batch = ds.ReadBatches(64).First();
        var input = batch.Values.Take(64 * 784).Select(v => v / 255f).ToArray();
        using var session = new InferenceSession(TestFiles.DemoModel);
        using var value = OrtValue.CreateTensorValueFromMemory(input, [64, 1, 28, 28]);
        using var results = session.Run(new RunOptions(), ["image"], [value], ["logits"]);
        var plain = results[0].GetTensorDataAsSpan<float>().ToArray();
        AssertClose(plain, logits.AsSpan(0, 640), 1e-5, "logits");
    }

    [Fact]
    public void Samples_table_holds_consistent_per_sample_results()
    {
        var m = _run.Manifest;
        Assert.Equal(10000, m.Data.Count);
        Assert.Equal("logits", m.Model.OutputKind);
        Assert.Equal(10, m.NumClasses);
        Assert.Equal("Ankle boot", m.Classes![9]);
        Assert.InRange(m.Summary!.Accuracy!.Value, 0.85, 0.95);
        var probs = _run.ReadMatrix("probabilities", out _, out _);
        var labels = _run.ReadColumn("label");
        var preds = _run.ReadColumn("prediction");
        var correct = _run.ReadColumn("correct");
        var conf = _run.ReadColumn("confidence");
        var loss = _run.ReadColumn("loss");
        double lossSum = 0; int right = 0;
        for (int i = 0; i < 10000; i++)
        {
            var p = probs.AsSpan(i * 10, 10);
            int label = (int)labels[i]!, pred = (int)preds[i]!;
            Assert.Equal(p.IndexOf(p.ToArray().Max()), pred);
            Assert.Equal(p[pred], (float)conf[i]!, 1e-6);
            Assert.Equal(-Math.Log(p[label]), (float)loss[i]!, 2e-3 * Math.Max(1, -Math.Log(p[label])));
            Assert.Equal(pred == label, (bool)correct[i]!);
            lossSum += (float)loss[i]!; if (pred == label) right++;
        }
        Assert.Equal(right / 10000.0, m.Summary.Accuracy.Value, 1e-9);
        Assert.Equal(lossSum / 10000, m.Summary.MeanLoss!.Value, 1e-4);
        var intensity = _run.ReadColumn("mean_intensity");
        Assert.All(intensity, v => Assert.InRange((float)v!, 0f, 1f));
    }

    [Fact]
    public void Embedding_is_the_standardised_weighted_concatenation_of_the_layer_blocks()
    {
        var emb = _run.ReadMatrix("embedding", out int n, out int width);
        var layers = _run.Manifest.Perception.Layers;
        Assert.Equal(layers.Sum(l => l.Width), width);
        Assert.False(_run.Manifest.Perception.Projected);
        int offset = 0;
        foreach (var l in layers)
        {
            var block = _run.ReadMatrix($"layer:{l.Name}", out _, out int w);
            var stats = _run.ReadMatrix(l.StatsField, out _, out _);
            for (int i = 0; i < n; i += 997)
                for (int j = 0; j < w; j++)
                {
                    float std = stats[w + j];
                    float expected = std > 1e-6f ? (block[i * w + j] - stats[j]) / std * l.Weight : 0;
                    Assert.Equal(expected, emb[i * width + offset + j], 1e-4);
                }
            // Each layer adds about one unit of squared length per sample.
            double sq = 0;
            for (int i = 0; i < n; i++) for (int j = 0; j < w; j++) sq += emb[i * width + offset + j] * emb[i * width + offset + j];
            Assert.Equal(1.0, sq / n, 1e-3);
            offset += w;
        }
    }

    [Fact]
    public void Vectors_do_not_depend_on_the_batch_size()
    {
        using var dir = new TempDir();
        var small = Analysis.Run(new AnalysisOptions
        {
            ModelPath = TestFiles.DemoModel,
            Data = new DataSource { Path = TestFiles.FashionImages, LabelsPath = TestFiles.FashionLabels },
            OutputDirectory = dir["b37"],
            BatchSize = 37,
            Map = new() { Method = Percept.Projection.MapMethod.None },
        });
        var a = _run.ReadMatrix("embedding", out _, out _);
        var b = small.ReadMatrix("embedding", out _, out _);
        AssertClose(a, b, 1e-4, "embedding");
    }

    [Fact]
    public void The_run_has_a_trustworthy_umap_with_per_point_preservation()
    {
        var map = _run.Manifest.Map!;
        Assert.Equal("umap", map.Method);
        Assert.True(map.Trustworthiness >= 0.95, $"trustworthiness {map.Trustworthiness}");
        Assert.Equal(5000, map.QualitySample);
        var y = _run.ReadMatrix("map", out int rows, out int dims);
        Assert.Equal((10000, 2), (rows, dims));
        Assert.All(y, v => Assert.True(float.IsFinite(v)));
        var keep = _run.ReadMatrix("map_preservation", out rows, out _);
        Assert.Equal(10000, rows);
        Assert.All(keep, v => Assert.InRange(v, 0f, 1f));
        Assert.InRange(keep.Average(), 0.2, 1.0);
        RunExporter.Export(_run, "map", fixture.Scratch("map.npy"));
        Assert.Equal(y, Npy.ReadFloat32(fixture.Scratch("map.npy"), out _));
    }

    [Fact]
    public void The_map_plots_to_a_png_coloured_by_any_column()
    {
        foreach (var column in new[] { "label", "loss", "correct" })
        {
            string png = fixture.Scratch($"map-{column}.png");
            Percept.Report.MapImage.Render(_run, column, png, 640, 480);
            using var bitmap = SkiaSharp.SKBitmap.Decode(png);
            Assert.Equal((640, 480), (bitmap.Width, bitmap.Height));
            // Dots were drawn: a good share of the pixels are not white.
            int coloured = 0;
            for (int y = 0; y < 480; y += 4) for (int x = 0; x < 640; x += 4) if (bitmap.GetPixel(x, y) != SkiaSharp.SKColors.White) coloured++;
            Assert.InRange(coloured, 500, 640 * 480 / 16);
        }
        Assert.Contains("nonsense", Assert.Throws<PerceptException>(() => Percept.Report.MapImage.Render(_run, "nonsense", fixture.Scratch("x.png"))).Message);
    }

    [Fact]
    public void Exports_round_trip_in_every_format()
    {
        string npy = fixture.Scratch("emb.npy"), csv = fixture.Scratch("pred.csv"), parquet = fixture.Scratch("meta.parquet");
        RunExporter.Export(_run, "embedding", npy);
        Assert.Equal(_run.ReadMatrix("embedding", out _, out _), Npy.ReadFloat32(npy, out var shape));
        Assert.Equal(10000, shape[0]);
        RunExporter.Export(_run, "prediction", fixture.Scratch("pred.npy"));
        var preds = Npy.ReadInt64(fixture.Scratch("pred.npy"), out _);
        Assert.Equal(_run.ReadColumn("prediction").Select(v => (long)(int)v!), preds);
        Assert.Equal(NpyType.Int64, Npy.ReadHeader(fixture.Scratch("pred.npy")).Type);
        RunExporter.Export(_run, "prediction", csv);
        var lines = File.ReadAllLines(csv);
        Assert.Equal("index,prediction", lines[0]);
        Assert.Equal($"0,{preds[0]}", lines[1]);
        RunExporter.Export(_run, "metadata", parquet);
        using var db = new DuckDB.NET.Data.DuckDBConnection("Data Source=:memory:");
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = $"SELECT count(*), sum(CASE WHEN correct THEN 1 ELSE 0 END) FROM read_parquet('{parquet}')";
        using var r = cmd.ExecuteReader();
        r.Read();
        Assert.Equal(10000L, r.GetInt64(0));
        RunExporter.Export(_run, "layer:conv1", fixture.Scratch("conv1.csv"));
        Assert.StartsWith("index,f0,f1", File.ReadLines(fixture.Scratch("conv1.csv")).First());
        Assert.Contains("metadata is a table", Assert.Throws<PerceptException>(() => RunExporter.Export(_run, "metadata", fixture.Scratch("m.npy"))).Message);
        Assert.Contains("unknown field", Assert.Throws<PerceptException>(() => RunExporter.Export(_run, "nonsense", fixture.Scratch("x.npy"))).Message);
        Assert.Contains("no layer 'conv9'", Assert.Throws<PerceptException>(() => RunExporter.Export(_run, "layer:conv9", fixture.Scratch("x.npy"))).Message);
    }
}
