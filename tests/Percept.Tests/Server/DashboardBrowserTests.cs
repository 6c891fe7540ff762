using System.Diagnostics;

namespace Percept.Tests.Server;

/// <summary>
/// The front end's own tests, run from here so the README's one test command covers them: the Vitest unit tests, and
/// the end-to-end tests (web/e2e) that drive a real headless Chromium against the server over the demo run. Their
/// screenshots go to the untracked TestResults/screenshots/, so a test run leaves the checkout clean; to refresh the
/// README's pictures, run them with PERCEPT_SCREENSHOTS=docs (see docs/dashboard.md).
/// </summary>
[Collection("dashboard")]
public class DashboardBrowserTests(DashboardFixture fixture)
{
    static string Web => Path.Combine(TestFiles.Root, "web");

    internal static (int Code, string Output) Node(string arguments, IDictionary<string, string> environment, TimeSpan timeout)
    {
        var start = new ProcessStartInfo("node", arguments) { WorkingDirectory = Web, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var (k, v) in environment) start.Environment[k] = v;
        using var p = Process.Start(start) ?? throw new InvalidOperationException("cannot start node");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout)) { p.Kill(true); throw new TimeoutException($"node {arguments} ran over {timeout}"); }
        return (p.ExitCode, stdout.Result + stderr.Result);
    }

    /// <summary>The browser to drive (CHROMIUM, else Debian's); skips the test, saying so, when there is none.</summary>
    internal static string Chromium(string what)
    {
        string chromium = Environment.GetEnvironmentVariable("CHROMIUM") ?? "/usr/bin/chromium";
        Skip.IfNot(File.Exists(chromium), $"{what} SKIPPED: no Chromium at {chromium} (apt-get install chromium, or set CHROMIUM)");
        return chromium;
    }

    /// <summary>Where screenshots go: PERCEPT_SCREENSHOTS (relative to the repository), else the untracked TestResults/screenshots.</summary>
    internal static string ScreenshotFolder()
    {
        string folder = Environment.GetEnvironmentVariable("PERCEPT_SCREENSHOTS") is { Length: > 0 } asked
            ? Path.GetFullPath(asked, TestFiles.Root)
            : Path.Combine(TestFiles.Root, "TestResults", "screenshots");
        Directory.CreateDirectory(folder);
        return folder;
    }

    [Fact]
    public void Vitest_unit_tests_pass()
    {
        Assert.True(File.Exists(Path.Combine(Web, "node_modules", "vitest", "vitest.mjs")), "web/node_modules is missing: building Percept.Server runs 'npm ci' in web/");
        var (code, output) = Node("node_modules/vitest/vitest.mjs run", new Dictionary<string, string> { ["NO_COLOR"] = "1" }, TimeSpan.FromMinutes(3));
        Assert.True(code == 0, output);
        Assert.Contains("passed", output);
    }

    [SkippableFact]
    public void Dashboard_works_end_to_end_in_chromium()
    {
        string chromium = Chromium("end-to-end dashboard tests");
        var (code, output) = Node("e2e/dashboard.e2e.mjs", new Dictionary<string, string>
        {
            ["PERCEPT_URL"] = fixture.Server.Url.ToString(),
            ["CHROMIUM"] = chromium,
            ["SCREENSHOTS"] = ScreenshotFolder(),
        }, TimeSpan.FromMinutes(5));
        Skip.If(code == 77, $"end-to-end dashboard tests SKIPPED: {output.Trim()}");
        Assert.True(code == 0, output);
        Assert.DoesNotContain("FAIL", output);
    }

    [SkippableFact]
    public void A_report_opens_from_disk_without_a_server()
    {
        string chromium = Chromium("report browser test");
        using var dir = new TempDir();
        long bytes = Percept.Server.ReportWriter.Write(fixture.Run.Directory, dir["report.html"]);
        Assert.InRange(bytes, 1_000_000, 30_000_000);
        string html = File.ReadAllText(dir["report.html"]);
        Assert.DoesNotContain("src=\"./assets/", html);
        Assert.DoesNotContain("href=\"./assets/", html);
        var (code, output) = Node("e2e/report.e2e.mjs", new Dictionary<string, string> { ["REPORT"] = dir["report.html"], ["CHROMIUM"] = chromium }, TimeSpan.FromMinutes(3));
        Skip.If(code == 77, $"report browser test SKIPPED: {output.Trim()}");
        Assert.True(code == 0, output);
    }
}
