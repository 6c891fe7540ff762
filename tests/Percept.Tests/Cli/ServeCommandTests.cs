using Percept.Cli;

namespace Percept.Tests.Cli;

/// <summary>`percept serve` and `percept report` refuse bad input with one line and a non-zero exit.</summary>
public class ServeCommandTests
{
    static (int Code, string Err) Percept(params string[] args)
    {
        var e = new StringWriter();
        int code = CommandLine.Run(args, new StringWriter(), e, CancellationToken.None);
        return (code, e.ToString());
    }

    static void AssertOneLine(string err, string contains)
    {
        var lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.Contains(contains, lines[0]);
    }

    [Fact]
    public void Serve_refuses_a_folder_that_is_not_a_run()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir["empty"]);
        var (code, err) = Percept("serve", dir["empty"], "--port", "0");
        Assert.Equal(1, code);
        AssertOneLine(err, "not a Percept run");
        (code, err) = Percept("serve", dir["missing"]);
        Assert.Equal(1, code);
        AssertOneLine(err, "run not found");
        (code, err) = Percept("serve");
        Assert.Equal(2, code);
        (code, err) = Percept("serve", dir["empty"], "--port", "70000");
        Assert.Equal(2, code);
        AssertOneLine(err, "--port");
    }

    [Fact]
    public async Task Serve_says_so_when_the_port_is_taken()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        int port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        using var fixture = new DemoRunFixture();
        var e = await Assert.ThrowsAsync<PerceptException>(() => global::Percept.Server.DashboardServer.StartAsync([fixture.Run.Directory], new() { Port = port }));
        Assert.Contains($"cannot listen on 127.0.0.1:{port}", e.Message);
        Assert.Contains("--port", e.Message);
    }

    [Fact]
    public void Report_refuses_bad_input()
    {
        using var dir = new TempDir();
        var (code, err) = Percept("report", dir["missing"], "--out", dir["r.html"]);
        Assert.Equal(1, code);
        AssertOneLine(err, "run not found");
        (code, err) = Percept("report", dir["missing"], "--out", dir["r.txt"]);
        Assert.Equal(2, code);
        AssertOneLine(err, ".html");
        Assert.False(File.Exists(dir["r.html"]));
    }

    /// <summary>Serves a small run with <paramref name="host"/> until it has printed its address; returns what it printed.</summary>
    static async Task<(int Code, string Out, string Err)> ServeBriefly(string run, string host)
    {
        var (o, e) = (new StringWriter(), new StringWriter());
        var (stdout, stderr) = (TextWriter.Synchronized(o), TextWriter.Synchronized(e));
        using var cts = new CancellationTokenSource();
        var serving = Task.Run(() => CommandLine.Run(["serve", run, "--host", host, "--port", "0"], stdout, stderr, cts.Token));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!o.ToString().Contains("dashboard:") && !serving.IsCompleted && clock.Elapsed < TimeSpan.FromSeconds(60)) await Task.Delay(50);
        cts.Cancel();
        int code = await serving;
        return (code, o.ToString(), e.ToString());
    }

    [Fact]
    public async Task Serve_warns_when_it_listens_beyond_this_machine_and_prints_the_real_address()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir["t.csv"], "a,b,c,d,label\n" + string.Concat(Enumerable.Range(0, 20).Select(i => $"{i % 5},{i % 7},{i % 3},{i % 2},{i % 3}\n")));
        var run = Analysis.Run(new AnalysisOptions
        {
            ModelPath = TinyModels.Mlp(dir["m.onnx"], 4, 6, 3), Data = new global::Percept.Data.DataSource { Path = dir["t.csv"] }, OutputDirectory = dir["run"],
            Map = new global::Percept.Projection.MapOptions { Method = global::Percept.Projection.MapMethod.None },
        });
        var (code, output, err) = await ServeBriefly(run.Directory, "127.0.0.1");
        Assert.Equal(0, code);
        Assert.StartsWith("dashboard: http://127.0.0.1:", output);
        Assert.Equal("", err);

        (code, output, err) = await ServeBriefly(run.Directory, "0.0.0.0");
        Assert.Equal(0, code);
        Assert.Matches(@"^dashboard: http://0\.0\.0\.0:\d+ \(from this machine: http://localhost:\d+/\)", output);
        AssertOneLine(err, "no authentication");
        Assert.StartsWith("warning: listening on http://0.0.0.0:", err);
    }
}
