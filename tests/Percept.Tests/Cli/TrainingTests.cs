using Percept.Cli;
using Percept.IO;

namespace Percept.Tests.Cli;

/// <summary>A training's checkpoints as one training folder: epochs analysed in order, maps aligned, histories; and watch mode.</summary>
public class TrainingTests
{
    static (int Code, string Out, string Err) Percept(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = CommandLine.Run(args, o, e, CancellationToken.None);
        return (code, o.ToString(), e.ToString());
    }

    /// <summary>Three well-separated classes of four features, and checkpoints of one MLP architecture with different weights.</summary>
    static string Table(TempDir dir)
    {
        var rng = new Random(4);
        File.WriteAllText(dir["t.csv"], "a,b,c,d,label\n" + string.Concat(Enumerable.Range(0, 150).Select(i =>
            $"{i % 3 * 2 + 0.3 * rng.NextDouble():F3},{rng.NextDouble():F3},{(i % 3 == 1 ? 2 : 0) + 0.3 * rng.NextDouble():F3},{rng.NextDouble():F3},{i % 3}\n")));
        return dir["t.csv"];
    }

    [Fact]
    public void Checkpoints_make_one_training_in_natural_order_with_aligned_maps_and_histories()
    {
        using var dir = new TempDir();
        string data = Table(dir);
        Directory.CreateDirectory(dir["ckpts"]);
        foreach (var (name, seed) in new[] { ("ckpt10.onnx", 3), ("ckpt2.onnx", 2), ("ckpt1.onnx", 1) }) TinyModels.Mlp(dir[$"ckpts/{name}"], 4, 6, 3, seed);
        var (code, output, err) = Percept("analyze", "--checkpoints", dir["ckpts"], "--data", data, "--out", dir["train"], "--map", "pca");
        Assert.True(code == 0, err);
        var m = Training.Open(dir["train"]);
        Assert.Equal(["ckpt1.onnx", "ckpt2.onnx", "ckpt10.onnx"], m.Epochs.Select(e => Path.GetFileName(e.Checkpoint)));
        Assert.Equal([1, 2, 3], m.Epochs.Select(e => e.Epoch));
        Assert.Null(m.Epochs[0].MeanDisplacement);
        Assert.All(m.Epochs.Skip(1), e => Assert.True(e.MeanDisplacement is > 0 and < 10, $"displacement {e.MeanDisplacement}"));
        for (int e = 0; e < 3; e++)
        {
            var run = global::Percept.Store.Run.Open(Path.Combine(dir["train"], m.Epochs[e].Run));
            Assert.Equal(run.Manifest.Summary!.Accuracy, m.Epochs[e].Accuracy);
        }

        // Histories: N × epochs, and per sample in the newest epoch's run.
        var loss = Npy.ReadFloat32(dir["train/history/loss_history.npy"], out var shape);
        Assert.Equal([150L, 3L], shape);
        var correct = Npy.ReadFloat32(dir["train/history/correct_history.npy"], out _);
        Assert.Equal(0, Percept("export", dir["train"], "--epoch", "2", "--field", "loss", "--out", dir["loss2.npy"]).Code);
        var loss2 = Npy.ReadFloat32(dir["loss2.npy"], out _);
        for (int i = 0; i < 150; i++) Assert.Equal(loss[i * 3 + 1], loss2[i]);
        Assert.Equal(0, Percept("export", dir["train"], "--field", "first_learned", "--out", dir["first.npy"]).Code);
        Assert.Equal(0, Percept("export", dir["train"], "--field", "forgotten", "--out", dir["forgotten.npy"]).Code);
        var first = Npy.ReadFloat32(dir["first.npy"], out _);
        var forgotten = Npy.ReadFloat32(dir["forgotten.npy"], out _);
        for (int i = 0; i < 150; i++)
        {
            var row = correct.AsSpan(i * 3, 3).ToArray();
            int from = 3;
            while (from > 0 && row[from - 1] == 1) from--;
            Assert.Equal(from < 3 ? from + 1 : float.NaN, first[i]);
            Assert.Equal((row[0] == 1 && row[1] == 0 ? 1 : 0) + (row[1] == 1 && row[2] == 0 ? 1 : 0), forgotten[i]);
        }
        Assert.Equal(0, Percept("export", dir["train"], "--field", "loss_history", "--out", dir["h.npy"]).Code);
        Assert.Equal([150L, 3L], Npy.ReadHeader(dir["h.npy"]).Shape);
        using (var reader = new global::Percept.Report.RunReader(global::Percept.Store.Run.Open(Training.EpochDirectory(dir["train"]))))
            Assert.Contains(reader.Fields, f => f.Name == "neighborhood_change");

        // The last epoch keeps each label's probability over the epochs, which its label_issue used.
        var last = global::Percept.Store.Run.Open(Training.EpochDirectory(dir["train"]));
        var history = last.ReadMatrix(global::Percept.Insights.InsightFields.LabelHistory);
        Assert.Equal((150, 3), (history.Rows, history.Columns));
        for (int i = 0; i < 150; i++) for (int e = 0; e < 3; e++) Assert.Equal(MathF.Exp(-loss[i * 3 + e]), history.Row(i)[e], 1e-6f);
        var labelIssue = last.ReadFloat32(global::Percept.Insights.InsightFields.LabelIssue);

        // Commands that read one run take a training folder as its last epoch.
        (code, output, err) = Percept("info", dir["train"]);
        Assert.True(code == 0, err);
        Assert.Contains("epoch-3", output);
        Assert.Equal(0, Percept("insights", dir["train"], "--json").Code);
        // Insights computed again on an epoch read its history as the training did: label_issue is unchanged.
        last = global::Percept.Store.Run.Open(Training.EpochDirectory(dir["train"]));
        Assert.Equal(labelIssue, last.ReadFloat32(global::Percept.Insights.InsightFields.LabelIssue));

        // Again: nothing is recomputed.
        (code, output, _) = Percept("analyze", "--checkpoints", dir["ckpts/ckpt1.onnx"], dir["ckpts/ckpt2.onnx"], "--data", data, "--out", dir["train"], "--map", "pca");
        Assert.Equal(0, code);
        Assert.Contains("epoch 1: ckpt1.onnx already analysed", output);
        Assert.Equal(3, Training.Open(dir["train"]).Epochs.Count);

        // Mistakes are one line.
        (code, _, err) = Percept("export", dir["train"], "--epoch", "7", "--field", "loss", "--out", dir["x.npy"]);
        Assert.Equal(1, code);
        Assert.Contains("has no epoch 7", err);
        Assert.Equal(2, Percept("analyze", "--checkpoints", dir["ckpts"], "--model", dir["ckpts/ckpt1.onnx"], "--data", data, "--out", dir["t2"]).Code);
        (code, _, err) = Percept("analyze", "--checkpoints", dir["nothing"], "--data", data, "--out", dir["t3"]);
        Assert.Equal(1, code);
        Assert.Contains("checkpoint not found", err);
    }

    [Fact]
    public void Watch_reads_a_checkpoint_folder_named_watch()
    {
        using var dir = new TempDir();
        string data = Table(dir);
        Directory.CreateDirectory(dir["ckpts/watch"]);
        TinyModels.Mlp(dir["ckpts/watch/epoch1.onnx"], 4, 6, 3, 1);
        var (code, output, err) = Percept("watch", dir["ckpts/watch"], "--data", data, "--out", dir["train"], "--map", "pca", "--max-epochs", "1", "--interval", "0.2");
        Assert.True(code == 0, err);
        Assert.Contains("epoch 1: epoch1.onnx", output);
    }

    [Fact]
    public async Task Watch_serve_starts_a_live_dashboard()
    {
        using var dir = new TempDir();
        string data = Table(dir);
        Directory.CreateDirectory(dir["ckpts"]);
        TinyModels.Mlp(dir["ckpts/epoch1.onnx"], 4, 6, 3, 1);
        var o = new StringWriter();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var watch = Task.Run(() => CommandLine.Run(["watch", dir["ckpts"], "--data", data, "--out", dir["train"], "--map", "pca", "--max-epochs", "1",
            "--interval", "0.2", "--serve", "--port", "0"], TextWriter.Synchronized(o), TextWriter.Synchronized(new StringWriter()), cts.Token));
        string? url = null;
        while (url == null && !watch.IsCompleted && !cts.IsCancellationRequested)
        {
            await Task.Delay(100);
            url = o.ToString().Split('\n').FirstOrDefault(l => l.StartsWith("dashboard: ", StringComparison.Ordinal))?["dashboard: ".Length..].Split(' ')[0];
        }
        Assert.True(url != null, o.ToString());
        using (var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromMinutes(1) })
            // Pages of a watched training open the event stream: it gains runs.
            Assert.Equal("{\"live\":true}", await http.GetStringAsync("api/status"));
        await cts.CancelAsync();
        await watch;
    }

    [Fact]
    public async Task Watch_analyses_each_checkpoint_once_in_order_when_complete_and_skips_a_corrupt_one()
    {
        using var dir = new TempDir();
        string data = Table(dir);
        Directory.CreateDirectory(dir["ckpts"]);
        TinyModels.Mlp(dir["m1.onnx"], 4, 6, 3, 1);
        TinyModels.Mlp(dir["m3.onnx"], 4, 6, 3, 3);
        var o = new StringWriter();
        var e = new StringWriter();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var watch = Task.Run(() => CommandLine.Run(["watch", dir["ckpts"], "--data", data, "--out", dir["train"], "--map", "pca",
            "--max-epochs", "2", "--interval", "0.2", "--settle", "3"], TextWriter.Synchronized(o), TextWriter.Synchronized(e), cts.Token));

        // The first checkpoint arrives in two halves with a pause between: it must not be read half-way.
        var bytes = await File.ReadAllBytesAsync(dir["m1.onnx"]);
        await using (var f = new FileStream(dir["ckpts/epoch1.onnx"], FileMode.Create, FileAccess.Write, FileShare.ReadWrite))
        {
            await f.WriteAsync(bytes.AsMemory(0, bytes.Length / 2));
            await f.FlushAsync();
            await Task.Delay(1200);
            await f.WriteAsync(bytes.AsMemory(bytes.Length / 2));
        }
        // A corrupt one, then a good one.
        await File.WriteAllBytesAsync(dir["ckpts/epoch2.onnx"], Enumerable.Range(0, 900).Select(i => (byte)(i * 37)).ToArray());
        await Task.Delay(300);
        File.Copy(dir["m3.onnx"], dir["ckpts/epoch3.onnx"]);

        int code = await watch;
        Assert.True(code == 0, e.ToString());
        string output = o.ToString();
        Assert.Single(output.Split('\n'), l => l.StartsWith("epoch 1: epoch1.onnx", StringComparison.Ordinal));
        Assert.Single(output.Split('\n'), l => l.StartsWith("epoch 2: epoch3.onnx", StringComparison.Ordinal));
        Assert.True(output.IndexOf("epoch 1:", StringComparison.Ordinal) < output.IndexOf("epoch 2:", StringComparison.Ordinal));
        Assert.Contains("skipped corrupt checkpoint epoch2.onnx", e.ToString());
        var m = Training.Open(dir["train"]);
        Assert.Equal(["epoch1.onnx", "epoch3.onnx"], m.Epochs.Select(x => Path.GetFileName(x.Checkpoint)));
        // The first epoch's model is the whole file.
        Assert.Equal(Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(bytes)).ToLowerInvariant(), m.Epochs[0].Sha256);

        // Started again, it resumes: nothing is analysed twice.
        var again = new StringWriter();
        Assert.Equal(0, CommandLine.Run(["watch", dir["ckpts"], "--data", data, "--out", dir["train"], "--map", "pca", "--max-epochs", "2"], again, new StringWriter(), CancellationToken.None));
        Assert.Contains("already has 2 epochs", again.ToString());
    }
}
