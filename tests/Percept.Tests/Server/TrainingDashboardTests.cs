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

/// <summary>A watched training gains an epoch: the server serves it and tells open pages through its event stream.</summary>
public class TrainingEventsTests
{
    [Fact]
    public async Task A_new_epoch_is_served_and_announced_without_a_restart()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir["t.csv"], "a,b,label\n" + string.Concat(Enumerable.Range(0, 60).Select(i => $"{i % 3 + 0.01 * i},{i % 5},{i % 3}\n")));
        var options = new AnalysisOptions { ModelPath = "", Data = new DataSource { Path = dir["t.csv"] }, OutputDirectory = dir["train"], Insights = false };
        Training.AnalyseNext(TinyModels.Mlp(dir["e1.onnx"], 2, 4, 3, 1), options);
        await using var server = await DashboardServer.StartAsync([dir["train"]], new DashboardOptions { Live = true });
        using var http = new HttpClient { BaseAddress = server.Url, Timeout = TimeSpan.FromMinutes(1) };
        // A live server says so, and pages open the event stream only then.
        var status = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync("api/status")).RootElement;
        Assert.True(status.GetProperty("live").GetBoolean());
        using var events = await http.GetAsync("api/events", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", events.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await events.Content.ReadAsStreamAsync());
        Assert.Equal(": percept", await reader.ReadLineAsync());

        var manifest = Training.AnalyseNext(TinyModels.Mlp(dir["e2.onnx"], 2, 4, 3, 2), options);
        Assert.Equal("epoch-2", server.AddRun(Path.Combine(dir["train"], manifest.Epochs[^1].Run)));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        string? line;
        do line = await reader.ReadLineAsync(timeout.Token); while (line != null && !line.StartsWith("data:", StringComparison.Ordinal));
        Assert.Equal("data: epoch-2", line);
        var runs = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync("api/runs")).RootElement.EnumerateArray().Select(r => r.GetProperty("id").GetString()!).ToArray();
        Assert.Equal(["epoch-1", "epoch-2"], runs);
        var training = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync("api/runs/epoch-1")).RootElement.GetProperty("training");
        Assert.Equal(2, training.GetProperty("epochs").GetArrayLength());
    }
}
