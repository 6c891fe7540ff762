using Percept.Cli;
using Percept.IO;

namespace Percept.Tests.Cli;

public class CliTests
{
    static (int Code, string Out, string Err) Percept(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = CommandLine.Run(args, o, e, CancellationToken.None);
        return (code, o.ToString(), e.ToString());
    }

    static void AssertOneLineError(string err, string contains)
    {
        var lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("error: ", lines[0]);
        Assert.Contains(contains, lines[0]);
        Assert.DoesNotContain("   at ", err);
    }

    [Fact]
    public void Analyze_then_export_on_a_csv_table()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir["t.csv"], "f0,f1,f2,label\n" + string.Join("\n", Enumerable.Range(0, 40).Select(i => $"{i % 7},{i % 3},{i * 0.1},{i % 2}")));
        string model = TinyModels.Mlp(dir["m.onnx"], 3, 5, 2);
        var (code, output, err) = Percept("analyze", "--model", model, "--data", dir["t.csv"], "--out", dir["run"], "--batch-size", "8");
        Assert.True(code == 0, err);
        Assert.Contains("samples: 40", output);
        Assert.Contains("accuracy:", output);
        (code, output, err) = Percept("export", dir["run"], "--field", "loss", "--out", dir["loss.npy"]);
        Assert.True(code == 0, err);
        Assert.Equal(40, Npy.ReadFloat32(dir["loss.npy"], out _).Length);
        (code, output, _) = Percept("info", dir["run"]);
        Assert.Equal(0, code);
        Assert.Contains("worst samples", output);
    }

    /// <summary>A run of a tiny model on a 30-row table, written to <paramref name="run"/>.</summary>
    static void TinyRun(TempDir dir, string run)
    {
        File.WriteAllText(dir["t.csv"], "a,b,c,label\n" + string.Concat(Enumerable.Range(0, 30).Select(i => $"{i % 5},{i % 7},{i % 3},{i % 2}\n")));
        var (code, _, err) = Percept("analyze", "--model", TinyModels.Mlp(dir["m.onnx"], 3, 5, 2), "--data", dir["t.csv"], "--out", run, "--map", "none");
        Assert.True(code == 0, err);
    }

    [Fact]
    public void Info_reads_a_run_folder_named_info()
    {
        using var dir = new TempDir();
        TinyRun(dir, dir["runs/info"]);
        var (code, output, err) = Percept("info", dir["runs/info"]);
        Assert.True(code == 0, err);
        Assert.Contains("worst samples", output);
    }

    [Fact]
    public void Export_reads_a_run_folder_named_export()
    {
        using var dir = new TempDir();
        TinyRun(dir, dir["runs/export"]);
        var (code, _, err) = Percept("export", dir["runs/export"], "--field", "loss", "--out", dir["loss.npy"]);
        Assert.True(code == 0, err);
        Assert.Equal(30, Npy.ReadFloat32(dir["loss.npy"], out _).Length);
    }

    [Fact]
    public void Project_and_neighbors_work_on_any_matrix_and_reject_bad_input()
    {
        using var dir = new TempDir();
        var x = global::Percept.Tests.Neighbors.NeighborsTests.RandomMatrix(120, 6, 1);
        Npy.Write(dir["x.npy"], x.Data, 120, 6);
        var (code, output, err) = Percept("project", "--input", dir["x.npy"], "--method", "umap", "--out", dir["y.npy"], "--quality", "--threads", "1");
        Assert.True(code == 0, err);
        Assert.Contains("trustworthiness@10", output);
        Npy.ReadFloat32(dir["y.npy"], out var shape);
        Assert.Equal(new long[] { 120, 2 }, shape);
        (code, _, err) = Percept("project", "--input", dir["x.npy"], "--method", "pca", "--dims", "3", "--out", dir["p.npy"], "--align-to", dir["y.npy"]);
        Assert.Equal(1, code); AssertOneLineError(err, "cannot align");
        (code, _, err) = Percept("neighbors", "--input", dir["x.npy"], "--k", "7", "--out", dir["i.npy"], "--distances", dir["d.npy"], "--exact");
        Assert.True(code == 0, err);
        var idx = Npy.ReadInt64(dir["i.npy"], out shape);
        Assert.Equal(new long[] { 120, 7 }, shape);
        Assert.DoesNotContain(0L, idx.Take(7));

        (code, _, err) = Percept("neighbors", "--input", dir["x.npy"], "--k", "120", "--out", dir["i.npy"]);
        Assert.Equal(1, code); AssertOneLineError(err, "--k 120");
        Npy.Write(dir["few.npy"], x.Data.AsSpan(0, 10 * 6).ToArray(), 10, 6);
        (code, _, err) = Percept("project", "--input", dir["few.npy"], "--method", "umap", "--out", dir["y.npy"]);
        Assert.Equal(1, code); AssertOneLineError(err, "needs more than 15 points");
        Npy.Write(dir["vec.npy"], x.Data.AsSpan(0, 6).ToArray(), 6);
        (code, _, err) = Percept("neighbors", "--input", dir["vec.npy"], "--k", "2", "--out", dir["i.npy"]);
        Assert.Equal(1, code); AssertOneLineError(err, "2-D float32");
        Npy.Write(dir["ints.npy"], new long[] { 1, 2, 3, 4 }, 2, 2);
        (code, _, err) = Percept("project", "--input", dir["ints.npy"], "--method", "pca", "--out", dir["y.npy"]);
        Assert.Equal(1, code); AssertOneLineError(err, "2-D float32");
        var bad = (float[])x.Data.Clone();
        bad[3 * 6 + 2] = float.NaN; bad[77 * 6] = float.PositiveInfinity;
        Npy.Write(dir["nan.npy"], bad, 120, 6);
        (code, _, err) = Percept("neighbors", "--input", dir["nan.npy"], "--k", "3", "--out", dir["i.npy"]);
        Assert.Equal(1, code); AssertOneLineError(err, "2 row(s): 3, 77");
        (code, output, err) = Percept("neighbors", "--input", dir["nan.npy"], "--k", "3", "--out", dir["i.npy"], "--drop-nonfinite");
        Assert.True(code == 0, err);
        Assert.Contains("dropped 2 row(s) with NaN/Inf (3, 77)", output);
        Npy.ReadInt64(dir["i.npy"], out shape);
        Assert.Equal(118, shape[0]);
        (code, _, err) = Percept("project", "--input", dir["x.npy"], "--method", "tsne", "--dims", "3", "--out", dir["y.npy"]);
        Assert.Equal(1, code); AssertOneLineError(err, "t-SNE makes 2-D maps");
        (code, output, err) = Percept("project", "--input", dir["x.npy"], "--method", "tsne", "--out", dir["t.npy"], "--quality");
        Assert.True(code == 0, err);
        Assert.Contains("tsne: 120 x 6 → 120 x 2", output);
    }

    [Fact]
    public void Explain_writes_maps_and_a_picture_and_rejects_bad_requests()
    {
        using var dir = new TempDir();
        string[] common = ["explain", "--model", TestFiles.DemoModel, "--data", TestFiles.FashionImages, "--labels", TestFiles.FashionLabels, "--classes", TestFiles.FashionClasses];
        var (code, output, err) = Percept([.. common, "--sample", "417", "--method", "occlusion", "--target", "all", "--out", dir["h.npy"], "--png", dir["h.png"]]);
        Assert.True(code == 0, err);
        Assert.Contains("sample 417", output);
        Npy.ReadFloat32(dir["h.npy"], out var shape);
        Assert.Equal(new long[] { 11, 28, 28 }, shape);
        Assert.True(new FileInfo(dir["h.png"]).Length > 1000);

        // The same sample through a run: the run's model, data and preprocessing, the same maps.
        (code, _, err) = Percept(["analyze", "--model", TestFiles.DemoModel, "--data", TestFiles.FashionImages, "--labels", TestFiles.FashionLabels,
            "--out", dir["run"], "--map", "none"]);
        Assert.True(code == 0, err);
        (code, _, err) = Percept(["explain", "--run", dir["run"], "--sample", "417", "--method", "occlusion", "--target", "all", "--out", dir["r.npy"]]);
        Assert.True(code == 0, err);
        Assert.Equal(Npy.ReadFloat32(dir["h.npy"], out _), Npy.ReadFloat32(dir["r.npy"], out _));

        (code, _, err) = Percept([.. common, "--sample", "10000", "--out", dir["x.npy"]]);
        Assert.Equal(1, code); AssertOneLineError(err, "sample 10000 is out of range");
        (code, _, err) = Percept([.. common, "--sample", "1", "--target", "12", "--out", dir["x.npy"]]);
        Assert.Equal(1, code); AssertOneLineError(err, "target class 12 is out of range");
        // Gradient methods: Grad-CAM at the last convolution by default, at the layer's grid on request, raw saliency.
        (code, output, err) = Percept([.. common, "--sample", "5", "--method", "gradcam", "--target", "pred,loss", "--resolution", "layer", "--out", dir["g.npy"]]);
        Assert.True(code == 0, err);
        Assert.Contains("gradcam at layer conv3 (7x7)", output);
        Npy.ReadFloat32(dir["g.npy"], out shape);
        Assert.Equal(new long[] { 2, 7, 7 }, shape);
        (code, _, err) = Percept([.. common, "--sample", "5", "--method", "saliency", "--raw", "--out", dir["s.npy"], "--png", dir["s.png"]]);
        Assert.True(code == 0, err);
        Npy.ReadFloat32(dir["s.npy"], out shape);
        Assert.Equal(new long[] { 1, 1, 28, 28 }, shape);
        (code, output, err) = Percept([.. common, "--sample", "5", "--method", "ig", "--out", dir["i.npy"], "--faithfulness"]);
        Assert.True(code == 0, err);
        Assert.Contains("completeness gap", output);
        Assert.Contains("deletion area", output);
        Assert.Contains("rank correlation", output);
        // Test image 290: 64 gradients leave a 2.1% gap on its predicted class; by default more are spent until it is under 1%.
        (code, output, err) = Percept([.. common, "--sample", "290", "--method", "ig", "--out", dir["i.npy"]]);
        Assert.True(code == 0, err);
        Assert.Matches(@"integrated gradients, 64 gradients \(\+\d+ to reach the 1% tolerance\)", output);
        Assert.DoesNotContain("still above", output);
        (code, output, err) = Percept([.. common, "--sample", "290", "--method", "ig", "--tolerance", "0", "--out", dir["i.npy"]]);
        Assert.True(code == 0, err);
        Assert.Contains("integrated gradients, 64 gradients, ", output);
        (code, output, err) = Percept([.. common, "--sample", "290", "--method", "ig", "--max-steps", "64", "--out", dir["i.npy"]]);
        Assert.True(code == 0, err);
        Assert.Contains("still above the 1% tolerance after 64 gradients", output);
        // Test image 1300: its class-5 score on the black baseline is within 0.003 of its own, so even 256 gradients leave a
        // gap that is large against that difference; the message says so and sizes the gap against the attributions instead.
        (code, output, err) = Percept([.. common, "--sample", "1300", "--method", "ig", "--target", "5", "--out", dir["i.npy"]]);
        Assert.True(code == 0, err);
        Assert.Matches(@"after 256 gradients; .*the output differs little between the baseline \(a black image; for text, a zero embedding\) and this sample, and the gap is 0\.\d\d% of Σ\|attributions\|", output);
        (code, _, err) = Percept([.. common, "--sample", "290", "--method", "ig", "--tolerance", "-1", "--out", dir["x.npy"]]);
        Assert.Equal(2, code); AssertOneLineError(err, "--tolerance must be 0 or more");
        (code, _, err) = Percept([.. common, "--sample", "290", "--method", "ig", "--steps", "32", "--max-steps", "16", "--out", dir["x.npy"]]);
        Assert.Equal(2, code); AssertOneLineError(err, "--max-steps must be at least --steps (32)");
        (code, _, err) = Percept([.. common, "--sample", "1", "--method", "gradcam", "--layer", "fc1", "--out", dir["x.npy"]]);
        Assert.Equal(1, code); AssertOneLineError(err, "such as 'conv3'");
        (code, _, err) = Percept([.. common, "--sample", "1", "--method", "gradcam", "--layer", "conv9", "--out", dir["x.npy"]]);
        Assert.Equal(1, code); AssertOneLineError(err, "unknown layer 'conv9'; layers with parameters: conv1");
        (code, _, err) = Percept([.. common, "--sample", "1", "--method", "magic", "--out", dir["x.npy"]]);
        Assert.Equal(2, code);
        (code, _, err) = Percept(["explain", "--model", TestFiles.DemoModel, "--data", TestFiles.FashionImages, "--sample", "1", "--target", "loss", "--out", dir["x.npy"]]);
        Assert.Equal(1, code); AssertOneLineError(err, "needs a labelled sample");
    }

    [Fact]
    public void Layers_lists_names_ops_shapes_and_parameters()
    {
        var (code, output, _) = Percept("layers", TestFiles.DemoModel);
        Assert.Equal(0, code);
        Assert.Matches(@"\* conv1\s+Conv\s+\[N, 16, 28, 28\]\s+160", output);
        Assert.Matches(@"\* fc1\s+Gemm\s+\[N, 128\]\s+73,856", output);
        Assert.Contains("5 perception layers", output);
    }

    [Fact]
    public void Bad_input_gives_one_line_errors_non_zero_exits_and_no_run()
    {
        using var dir = new TempDir();
        string run = dir["run"];
        var (code, _, err) = Percept("analyze", "--model", TestFiles.DemoModel, "--data", dir["missing.gz"], "--out", run);
        Assert.Equal(1, code); AssertOneLineError(err, "file not found");

        File.WriteAllBytes(dir["cut.gz"], File.ReadAllBytes(TestFiles.FashionImages)[..100000]);
        (code, _, err) = Percept("analyze", "--model", TestFiles.DemoModel, "--data", dir["cut.gz"], "--out", run);
        Assert.Equal(1, code); AssertOneLineError(err, "cut.gz");

        File.WriteAllBytes(dir["labels"], [0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 3]);
        (code, _, err) = Percept("analyze", "--model", TestFiles.DemoModel, "--data", TestFiles.FashionImages, "--labels", dir["labels"], "--out", run);
        Assert.Equal(1, code); AssertOneLineError(err, "label count 3");

        Npy.Write(dir["big.npy"], new float[2 * 32 * 32], 2, 32, 32);
        (code, _, err) = Percept("analyze", "--model", TestFiles.DemoModel, "--data", dir["big.npy"], "--out", run);
        Assert.Equal(1, code); AssertOneLineError(err, "does not fit");

        File.WriteAllText(dir["m.onnx"], "garbage");
        (code, _, err) = Percept("analyze", "--model", dir["m.onnx"], "--data", TestFiles.FashionImages, "--out", run);
        Assert.Equal(1, code); AssertOneLineError(err, "not an ONNX model");

        (code, _, err) = Percept("analyze", "--model", TinyModels.TwoInputs(dir["two.onnx"], 784), "--data", TestFiles.FashionImages, "--out", run);
        Assert.Equal(1, code); AssertOneLineError(err, "--input");

        (code, _, err) = Percept("analyze", "--model", TestFiles.DemoModel, "--data", TestFiles.FashionImages, "--out", run, "--layers", "conv7");
        Assert.Equal(1, code); AssertOneLineError(err, "unknown layer 'conv7'");

        Assert.False(Directory.Exists(run));
        Assert.Empty(Directory.GetDirectories(dir.Path));

        (code, _, err) = Percept("analyze", "--data", "x");
        Assert.Equal(2, code); Assert.Contains("--model is required", err);
        (code, _, err) = Percept("analyze", "--model", "m", "--data", "d", "--out", "o", "--bogus", "1");
        Assert.Equal(2, code); Assert.Contains("unknown option --bogus", err);
        (code, _, err) = Percept("frobnicate");
        Assert.Equal(2, code); Assert.Contains("unknown command", err);
        (code, _, err) = Percept("export", dir.Path, "--field", "loss", "--out", dir["x.npy"]);
        Assert.Equal(1, code); AssertOneLineError(err, "not a Percept run");
    }

    [Fact]
    public void Layers_check_gradients_lists_the_operators_on_the_gradient_path()
    {
        var (code, output, _) = Percept("layers", TestFiles.DemoModel, "--check-gradients");
        Assert.Equal(0, code);
        Assert.Contains("gradient path from input 'image' to output 'logits':", output);
        Assert.Matches(@"MaxPool\s+3\s+yes", output);
        Assert.Contains("every operator has a rule and the gradient graph builds", output);
        using var dir = new TempDir();
        (code, output, _) = Percept("layers", TinyModels.UnknownOp(dir["u.onnx"], 4), "--check-gradients");
        Assert.Equal(0, code);
        Assert.Matches(@"TotallyMadeUpOp\s+1\s+NO RULE \(first: node '/odd/Op'\)", output);
        Assert.Contains("occlusion works for any model", output);
    }

    [Fact]
    public void Export_refuses_a_truncated_matrix_instead_of_copying_it()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir["t.csv"], "a,b,c,d,label\n" + string.Concat(Enumerable.Range(0, 20).Select(i => $"{i % 5},{i % 7},{i % 3},{i % 2},{i % 3}\n")));
        var (code, _, _) = Percept("analyze", "--model", TinyModels.Mlp(dir["m.onnx"], 4, 6, 3), "--data", dir["t.csv"], "--out", dir["run"], "--map", "none");
        Assert.Equal(0, code);
        string embedding = dir["run/embedding.npy"];
        var bytes = File.ReadAllBytes(embedding);
        File.WriteAllBytes(embedding, bytes[..(bytes.Length - 40)]);
        (code, _, var err) = Percept("export", dir["run"], "--field", "embedding", "--out", dir["e.npy"]);
        Assert.Equal(1, code);
        AssertOneLineError(err, "truncated .npy file");
        Assert.False(File.Exists(dir["e.npy"]));
    }

    [Fact]
    public void Insights_prints_cards_writes_the_json_and_works_without_labels()
    {
        using var dir = new TempDir();
        var rng = new Random(2);
        File.WriteAllText(dir["t.csv"], "a,b,c,d,label\n" + string.Concat(Enumerable.Range(0, 90).Select(i => $"{i % 3 * 3 + rng.NextDouble():F3},{rng.NextDouble():F3},{i % 3 - rng.NextDouble():F3},{rng.NextDouble():F3},{i % 3}\n")));
        string model = TinyModels.Mlp(dir["m.onnx"], 4, 6, 3);
        // Analyze computes the insights into the run: the document and the per-sample fields, which export like any field.
        Assert.Equal(0, Percept("analyze", "--model", model, "--data", dir["t.csv"], "--out", dir["run"], "--map", "none").Code);
        Assert.True(File.Exists(dir["run/insights.json"]));
        foreach (string field in new[] { "label_issue", "neighbor_agreement", "outlier_score", "cluster" })
        {
            Assert.Equal(0, Percept("export", dir["run"], "--field", field, "--out", dir[$"{field}.npy"]).Code);
            Assert.Equal([90L], global::Percept.IO.Npy.ReadHeader(dir[$"{field}.npy"]).Shape);
        }
        var agreement = global::Percept.IO.Npy.ReadFloat32(dir["neighbor_agreement.npy"], out _);
        Assert.All(agreement, v => Assert.InRange(v, 0f, 1f));
        // --insights none leaves them out; 'percept insights' then computes them on demand, and the fields appear.
        Assert.Equal(0, Percept("analyze", "--model", model, "--data", dir["t.csv"], "--out", dir["plain"], "--map", "none", "--insights", "none").Code);
        Assert.False(File.Exists(dir["plain/insights.json"]));
        var (code, _, err) = Percept("export", dir["plain"], "--field", "label_issue", "--out", dir["li.npy"]);
        Assert.Equal(1, code);
        AssertOneLineError(err, "percept insights");
        Assert.Equal(0, Percept("insights", dir["plain"]).Code);
        using (var reader = new global::Percept.Report.RunReader(global::Percept.Store.Run.Open(dir["plain"])))
            Assert.Contains(reader.Fields, f => f.Name == "label_issue");
        Assert.Equal(2, Percept("analyze", "--model", model, "--data", dir["t.csv"], "--out", dir["x"], "--insights", "maybe").Code);

        (code, var output, _) = Percept("insights", dir["run"]);
        Assert.Equal(0, code);
        Assert.StartsWith($"insights for {dir["run"]} (10 nearest neighbours in perception space)", output);
        using (var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(dir["run/insights.json"])))
        {
            Assert.Equal(global::Percept.Insights.InsightsDocument.CurrentVersion, json.RootElement.GetProperty("version").GetInt32());
            Assert.Equal(3, json.RootElement.GetProperty("class_proximity").GetProperty("matrix").GetArrayLength());
        }
        (code, output, _) = Percept("insights", dir["run"], "--json", "--k", "5");
        Assert.Equal(0, code);
        Assert.Equal(5, System.Text.Json.JsonDocument.Parse(output).RootElement.GetProperty("neighbors").GetInt32());

        // Without labels: no class proximity, still an answer.
        File.WriteAllText(dir["u.csv"], "a,b,c,d\n" + string.Concat(Enumerable.Range(0, 40).Select(i => $"{rng.NextDouble():F3},{rng.NextDouble():F3},{rng.NextDouble():F3},{rng.NextDouble():F3}\n")));
        Assert.Equal(0, Percept("analyze", "--model", model, "--data", dir["u.csv"], "--out", dir["unlabelled"], "--map", "none").Code);
        (code, output, _) = Percept("insights", dir["unlabelled"], "--json");
        Assert.Equal(0, code);
        Assert.Equal(System.Text.Json.JsonValueKind.Null, System.Text.Json.JsonDocument.Parse(output).RootElement.GetProperty("class_proximity").ValueKind);
        Assert.Equal(2, Percept("insights").Code);
    }
}
