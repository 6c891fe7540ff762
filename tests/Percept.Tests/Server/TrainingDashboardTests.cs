using Percept.Data;
using Percept.Server;

namespace Percept.Tests.Server;

/// <summary>A training folder of three small checkpoints, served by the dashboard.</summary>
public sealed class TrainingFixture : IAsyncLifetime
{
    readonly TempDir _dir = new();
    public DashboardServer Server { get; private set; } = null!;
    public string Folder => _dir["train"];

    public async Task InitializeAsync()
    {
        var rng = new Random(4);
        File.WriteAllText(_dir["t.csv"], "a,b,c,d,label\n" + string.Concat(Enumerable.Range(0, 150).Select(i =>
            $"{i % 3 * 2 + 0.3 * rng.NextDouble():F3},{rng.NextDouble():F3},{(i % 3 == 1 ? 2 : 0) + 0.3 * rng.NextDouble():F3},{rng.NextDouble():F3},{i % 3}\n")));
        var checkpoints = new[] { 1, 2, 3 }.Select(s => TinyModels.Mlp(_dir[$"epoch{s}.onnx"], 4, 6, 3, s)).ToArray();
        Training.Analyse(checkpoints, new AnalysisOptions { ModelPath = checkpoints[0], Data = new DataSource { Path = _dir["t.csv"] }, OutputDirectory = Folder });
        Server = await DashboardServer.StartAsync([Folder]);
    }

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        _dir.Dispose();
    }
}

/// <summary>The dashboard on a training folder: its epochs in order with their totals, a sample's history, and the page in Chromium.</summary>
public class TrainingDashboardTests(TrainingFixture fixture) : IClassFixture<TrainingFixture>
{
    [Fact]
    public async Task A_training_is_served_as_its_epochs_with_totals_and_histories()
    {
        using var http = new HttpClient { BaseAddress = fixture.Server.Url };
        var runs = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync("api/runs")).RootElement.EnumerateArray().Select(r => r.GetProperty("id").GetString()!).ToArray();
        Assert.Equal(["epoch-1", "epoch-2", "epoch-3"], runs);
        var run = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync("api/runs/epoch-2")).RootElement;
        var training = run.GetProperty("training");
        Assert.Equal(2, training.GetProperty("epoch").GetInt32());
        var manifest = Training.Open(fixture.Folder);
        Assert.Equal(manifest.Epochs.Select(e => e.Accuracy), training.GetProperty("accuracy").EnumerateArray().Select(a => (double?)a.GetDouble()));
        var sample = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync("api/runs/epoch-2/samples/7")).RootElement;
        var loss = sample.GetProperty("history").GetProperty("loss").EnumerateArray().Select(v => v.GetSingle()).ToArray();
        var expected = global::Percept.IO.Npy.ReadFloat32(Path.Combine(fixture.Folder, "history", "loss_history.npy"), out _);
        Assert.Equal(expected.AsSpan(7 * 3, 3).ToArray(), loss);
    }

    [SkippableFact]
    public void The_epoch_selector_and_play_work_in_chromium()
    {
        string chromium = DashboardBrowserTests.Chromium("end-to-end epoch dashboard tests");
        var (code, output) = DashboardBrowserTests.Node("e2e/epochs.e2e.mjs", new Dictionary<string, string>
        {
            ["PERCEPT_URL"] = fixture.Server.Url.ToString(),
            ["CHROMIUM"] = chromium,
            ["SCREENSHOTS"] = DashboardBrowserTests.ScreenshotFolder(),
        }, TimeSpan.FromMinutes(3));
        Skip.If(code == 77, $"end-to-end epoch dashboard tests SKIPPED: {output.Trim()}");
        Assert.True(code == 0, output);
        Assert.DoesNotContain("FAIL", output);
    }
}
