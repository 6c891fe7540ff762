using System.Diagnostics;
using System.Security.Cryptography;
using Percept.IO;

namespace Percept.Tests.Cli;

/// <summary>
/// `percept analyze` killed with SIGKILL (no chance to clean up) at several points — while the model runs, while the map
/// is made — never damages the run it was replacing with --overwrite, and the next analysis starts clean; `percept report`
/// stopped with SIGTERM stops at once, exits 130 and leaves no file.
/// </summary>
public class KillTests
{
    /// <summary>The CLI built beside the tests (same configuration).</summary>
    static string Cli()
    {
        var here = new DirectoryInfo(AppContext.BaseDirectory); // tests/Percept.Tests/bin/CONFIG/net10.0/
        string config = here.Parent!.Name, framework = here.Name;
        return Path.Combine(TestFiles.Root, "src", "Percept.Cli", "bin", config, framework, "Percept.Cli.dll");
    }

    /// <summary>Starts the CLI and kills it with SIGKILL once a line of its output starts with <paramref name="when"/>; false if it ended first.</summary>
    static bool KillWhen(string[] args, string when)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Cli());
        foreach (var a in args) start.ArgumentList.Add(a);
        using var p = Process.Start(start)!;
        _ = p.StandardError.ReadToEndAsync();
        var deadline = Stopwatch.StartNew();
        while (p.StandardOutput.ReadLine() is { } line)
        {
            if (line.StartsWith(when, StringComparison.Ordinal))
            {
                p.Kill(entireProcessTree: true); // SIGKILL on Linux: no handler runs
                p.WaitForExit();
                return true;
            }
            if (deadline.Elapsed > TimeSpan.FromMinutes(2)) break;
        }
        p.WaitForExit();
        return false;
    }

    static SortedDictionary<string, string> Snapshot(string root) => new(
        Directory.GetFiles(root, "*", SearchOption.AllDirectories).ToDictionary(
            f => Path.GetRelativePath(root, f), f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f)))), StringComparer.Ordinal);

    [Fact]
    public void A_killed_analysis_leaves_the_run_it_replaces_intact_and_the_next_one_starts_clean()
    {
        Assert.True(File.Exists(Cli()), $"the CLI is not built at {Cli()}");
        using var dir = new TempDir();
        var rng = new Random(5);
        const int rows = 4000;
        Npy.Write(dir["x.npy"], Enumerable.Range(0, rows * 4).Select(_ => (float)rng.NextDouble()).ToArray(), rows, 4);
        Npy.Write(dir["y.npy"], Enumerable.Range(0, rows).Select(i => (long)(i % 3)).ToArray(), rows);
        string model = TinyModels.Mlp(dir["m.onnx"], 4, 16, 3);
        Directory.CreateDirectory(dir["runs"]);
        string[] analyze = ["analyze", "--model", model, "--data", dir["x.npy"], "--labels", dir["y.npy"], "--out", dir["runs/run"], "--batch-size", "64"];
        Assert.Equal(0, global::Percept.Cli.CommandLine.Run([.. analyze, "--map", "pca"], new StringWriter(), new StringWriter(), default));
        var before = Snapshot(dir["runs/run"]);

        // Killed while the model runs, and while the map is made: the old run is untouched each time.
        Assert.True(KillWhen([.. analyze, "--overwrite"], "analyze:"), "the analysis ended before it could be killed");
        Assert.Equal(before, Snapshot(dir["runs/run"]));
        Assert.True(KillWhen([.. analyze, "--overwrite"], "map:"), "the analysis ended before its map could be killed");
        Assert.Equal(before, Snapshot(dir["runs/run"]));

        // The next analysis removes what the killed ones left (their writer is gone), says so, and replaces the run.
        var err = new StringWriter();
        Assert.Equal(0, global::Percept.Cli.CommandLine.Run([.. analyze, "--overwrite", "--map", "pca"], new StringWriter(), err, default));
        Assert.Contains("interrupted analysis", err.ToString());
        Assert.Equal(["run"], Directory.GetFileSystemEntries(dir["runs"]).Select(Path.GetFileName));
        Assert.True(File.Exists(dir["runs/run/run.json"]));
    }

    [Fact]
    public async Task A_report_stopped_with_sigterm_exits_130_at_once_and_leaves_no_file()
    {
        Assert.True(File.Exists(Cli()), $"the CLI is not built at {Cli()}");
        using var dir = new TempDir();
        // 40,000 samples of a 64-wide embedding: the neighbour table alone takes seconds, so the signal lands inside it.
        var rng = new Random(6);
        const int rows = 40_000;
        Npy.Write(dir["x.npy"], Enumerable.Range(0, rows * 8).Select(_ => (float)rng.NextDouble()).ToArray(), rows, 8);
        string model = TinyModels.Mlp(dir["m.onnx"], 8, 64, 3);
        Assert.Equal(0, global::Percept.Cli.CommandLine.Run(["analyze", "--model", model, "--data", dir["x.npy"], "--out", dir["run"], "--map", "pca",
            "--insights", "none"], new StringWriter(), new StringWriter(), default));

        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Cli(), "report", dir["run"], "--out", dir["report.html"] }) start.ArgumentList.Add(a);
        using var p = Process.Start(start)!;
        var stderr = p.StandardError.ReadToEndAsync();
        while (p.StandardOutput.ReadLine() is { } line && !line.StartsWith("neighbours:", StringComparison.Ordinal)) { }
        var clock = Stopwatch.StartNew();
        using (var kill = Process.Start("kill", ["-TERM", p.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) kill.WaitForExit();
        _ = p.StandardOutput.ReadToEndAsync();
        bool stopped = p.WaitForExit(TimeSpan.FromSeconds(10));
        if (!stopped) p.Kill(entireProcessTree: true);
        Assert.True(stopped, "the report was still running 10 s after SIGTERM");
        await p.WaitForExitAsync();
        string err = await stderr;
        Assert.True(p.ExitCode == 130, $"exit {p.ExitCode} after {clock.Elapsed.TotalSeconds:F1} s: {err}");
        Assert.Contains("interrupted", err);
        Assert.False(File.Exists(dir["report.html"]));
        Assert.False(File.Exists(dir["report.html.partial"]));
    }
}
