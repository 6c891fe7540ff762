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
}
