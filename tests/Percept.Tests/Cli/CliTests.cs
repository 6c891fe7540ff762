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
}
