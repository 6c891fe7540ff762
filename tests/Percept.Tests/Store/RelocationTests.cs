using System.Net;
using Percept.Tests.Cli;
using Percept.IO;
using Percept.Server;
using Percept.Store;
using static Percept.Tests.Cli.CliHarness;

namespace Percept.Tests.Store;

/// <summary>Runs that move: a run copied elsewhere, its data moved and named with --data, serves, explains and reports; a changed file is refused.</summary>
public class RelocationTests
{
    /// <summary>A small image dataset (12 × 12, .npy with labels), a CNN for it, and its run, in separate folders.</summary>
    static (string Run, string Data, string Model) Analysed(TempDir dir)
    {
        Directory.CreateDirectory(dir["data"]);
        Directory.CreateDirectory(dir["work/models"]);
        var rng = new Random(4);
        int n = 120;
        var pixels = new byte[n * 12 * 12];
        for (int i = 0; i < n; i++)
            for (int p = 0; p < 144; p++) pixels[i * 144 + p] = (byte)(p / 12 % 3 == i % 3 ? 200 + rng.Next(50) : rng.Next(60));
        using (var w = new NpyWriter(dir["data/x.npy"], NpyType.UInt8, [12, 12])) w.WriteRows(pixels);
        Npy.Write(dir["data/y.npy"], Enumerable.Range(0, n).Select(i => (long)(i % 3)).ToArray(), n);
        string model = TinyModels.ConvNet(dir["work/models/cnn.onnx"], 1, 12, 4, 3);
        var (code, _, err) = CliHarness.Percept("analyze", "--model", model, "--data", dir["data/x.npy"], "--labels", dir["data/y.npy"], "--out", dir["work/runs/r"]);
        Assert.True(code == 0, err);
        return (dir["work/runs/r"], dir["data/x.npy"], model);
    }

    [Fact]
    public void A_moved_run_finds_its_model_beside_it_and_its_data_where_it_is_told()
    {
        using var dir = new TempDir();
        Analysed(dir);
        // The run and its model move together (the model sat beside the run); the data move elsewhere.
        Directory.Move(dir["work"], dir["moved"]);
        Directory.Move(dir["data"], dir["elsewhere"]);
        string run = dir["moved/runs/r"];

        var (code, output, _) = CliHarness.Percept("info", run);
        Assert.Equal(0, code);
        Assert.Contains($"model: {dir["moved/models/cnn.onnx"]} (moved from {dir["work/models/cnn.onnx"]})", output);
        Assert.Contains("data: missing: the data is no longer at", output);
        Assert.Contains("add --data PATH", output);

        // Explaining needs the data: refused with one line saying how to point at them, then done when pointed.
        (code, _, var err) = CliHarness.Percept("explain", "--run", run, "--sample", "4", "--method", "saliency", "--out", dir["h.npy"]);
        Assert.Equal(1, code);
        Assert.Contains("point at the data with --data", OneLineError(err));
        (code, output, err) = CliHarness.Percept("explain", "--run", run, "--sample", "4", "--method", "saliency", "--out", dir["h.npy"], "--data", dir["elsewhere/x.npy"]);
        Assert.True(code == 0, err);
        Assert.Equal([1L, 12, 12], Npy.ReadHeader(dir["h.npy"]).Shape);
        // The labels travelled with the data, and are found beside it.
        (code, output, _) = CliHarness.Percept("info", run, "--data", dir["elsewhere/x.npy"]);
        Assert.Contains($"labels: {dir["elsewhere/y.npy"]} (moved from", output);

        // The report carries the thumbnails when it finds the data.
        (code, output, err) = CliHarness.Percept("report", run, "--out", dir["r.html"], "--data", dir["elsewhere/x.npy"]);
        Assert.True(code == 0, err);
        Assert.Contains("thumbnails: 120", output);
        (code, output, err) = CliHarness.Percept("report", run, "--out", dir["r2.html"]);
        Assert.True(code == 0, err);
        Assert.Contains("thumbnails: left out", output);
    }

    [Fact]
    public async Task A_moved_run_serves_its_samples_from_the_data_it_is_told()
    {
        using var dir = new TempDir();
        Analysed(dir);
        Directory.Move(dir["work/runs"], dir["copied"]);
        Directory.Move(dir["data"], dir["elsewhere"]);
        using var client = new HttpClient();
        await using var server = await DashboardServer.StartAsync([dir["copied/r"]], new DashboardOptions
        {
            Port = 0, Locations = new RunLocations(dir["work/models/cnn.onnx"], dir["elsewhere/x.npy"]),
        });
        var image = await client.GetAsync(new Uri(server.Url, "api/runs/r/samples/7/image.png"));
        Assert.Equal(HttpStatusCode.OK, image.StatusCode);
        var explain = await client.GetAsync(new Uri(server.Url, "api/runs/r/samples/7/explain?method=saliency"));
        Assert.Equal(HttpStatusCode.OK, explain.StatusCode);
    }

    [Fact]
    public void Export_takes_a_row_range_and_refuses_one_outside_the_run_with_one_line()
    {
        using var dir = new TempDir();
        var (run, _, _) = Analysed(dir);
        var (code, output, err) = CliHarness.Percept("export", run, "--field", "embedding", "--rows", "10:30", "--out", dir["e.npy"]);
        Assert.True(code == 0, err);
        Assert.Contains("wrote 20 rows of embedding", output);
        var whole = global::Percept.Store.Run.Open(run).ReadMatrix(global::Percept.Perception.PerceptionFields.Embedding);
        Assert.Equal(whole.Data.AsSpan(10 * whole.Columns, 20 * whole.Columns).ToArray(), Npy.ReadFloat32(dir["e.npy"], out var shape));
        Assert.Equal([20L, whole.Columns], shape);
        foreach (var rows in new[] { "100:130", "30:10", "0:999" })
        {
            (code, _, err) = CliHarness.Percept("export", run, "--field", "embedding", "--rows", rows, "--out", dir["x.npy"]);
            Assert.Equal(1, code);
            Assert.Contains("are not inside the run's 120 samples", OneLineError(err));
        }
        // A run-wide field exports whole: a layer's statistics, two rows.
        (code, _, err) = CliHarness.Percept("export", run, "--field", "layer_stats:conv", "--out", dir["s.npy"]);
        Assert.True(code == 0, err);
        Assert.Equal(2L, Npy.ReadHeader(dir["s.npy"]).Shape[0]);
    }

    [Fact]
    public void A_changed_data_file_or_model_is_refused_with_one_line()
    {
        using var dir = new TempDir();
        var (run, data, model) = Analysed(dir);
        File.Copy(data, dir["changed.npy"]);
        using (var f = new FileStream(dir["changed.npy"], FileMode.Open)) { f.Seek(-1, SeekOrigin.End); f.WriteByte(7); }
        var (code, _, err) = CliHarness.Percept("explain", "--run", run, "--sample", "1", "--method", "saliency", "--out", dir["h.npy"], "--data", dir["changed.npy"]);
        Assert.Equal(1, code);
        Assert.Contains("is not the data this run was made from (its SHA-256 differs)", OneLineError(err));
        // Changed in place, where it was: refused too.
        File.Copy(dir["changed.npy"], data, overwrite: true);
        (code, _, err) = CliHarness.Percept("explain", "--run", run, "--sample", "1", "--method", "saliency", "--out", dir["h.npy"]);
        Assert.Equal(1, code);
        Assert.Contains("has changed since the analysis", OneLineError(err));
        (code, _, err) = CliHarness.Percept("serve", run, "--model", data, "--port", "0");
        Assert.Equal(1, code);
        Assert.Contains("is not the model this run was made from", OneLineError(err));
    }
}
