using System.Diagnostics;

namespace Percept.Tests.Cli;

/// <summary>
/// Percept installs like a tool: `dotnet pack` makes one small package per platform and a pointer package, `dotnet tool
/// install` from that folder takes seconds, and the installed `percept demo` runs from any folder, with the demo's
/// files that travel in the package.
/// </summary>
/// <remarks>
/// Run alone (after the tests that run in parallel): packing compresses four platforms' native libraries, which on two
/// cores starves the browser tests running beside it.
/// </remarks>
[Collection(nameof(ToolPackageCollection))]
public class ToolPackageTests
{
    static (int Code, string Output) Run(string file, string arguments, string workingDirectory, TimeSpan timeout, string? packages = null)
    {
        var start = new ProcessStartInfo(file, arguments)
        {
            WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true,
        };
        // A fresh folder for the tool's own files, as on a user's machine; no telemetry or first-run banner.
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        // A build of its own: nothing of the test run's MSBuild (its nodes, its settings) leaks into the child.
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase)).ToArray()) start.Environment.Remove(key);
        // The install's own package cache: a package of the same version packed earlier must not stand in for this one.
        if (packages != null) start.Environment["NUGET_PACKAGES"] = packages;
        using var p = Process.Start(start)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout)) { p.Kill(true); throw new TimeoutException($"{file} {arguments} ran over {timeout}"); }
        return (p.ExitCode, stdout.Result + stderr.Result);
    }

    [Fact]
    public void The_packed_tool_installs_and_runs_the_demo_from_any_folder()
    {
        using var dir = new TempDir();
        // The configuration the tests were built in, so the pack reuses that build.
        string config = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
        var (code, output) = Run("dotnet", $"pack src/Percept.Cli -c {config} -o \"{dir["pack"]}\" --disable-build-servers", TestFiles.Root, TimeSpan.FromMinutes(6));
        Assert.True(code == 0, output);
        var packages = Directory.GetFiles(dir["pack"], "*.nupkg").ToDictionary(f => Path.GetFileName(f), f => new FileInfo(f).Length);
        foreach (var rid in new[] { "linux-x64", "linux-arm64", "osx-arm64", "win-x64" })
        {
            var name = Assert.Single(packages.Keys, k => k.StartsWith($"Percept.Cli.{rid}.", StringComparison.Ordinal));
            Assert.True(packages[name] < 100L << 20, $"{name} is {packages[name] >> 20} MB");
        }
        // The pointer package holds no platform's libraries.
        Assert.True(packages.Single(p => System.Text.RegularExpressions.Regex.IsMatch(p.Key, @"^Percept\.Cli\.\d")).Value < 1 << 20);

        var clock = Stopwatch.StartNew();
        (code, output) = Run("dotnet", $"tool install --tool-path \"{dir["tools"]}\" Percept.Cli --add-source \"{dir["pack"]}\"", dir.Path, TimeSpan.FromMinutes(3),
            packages: dir["nuget"]);
        Assert.True(code == 0, output);
        Assert.True(clock.Elapsed < TimeSpan.FromMinutes(1), $"install took {clock.Elapsed}");

        // From a fresh folder outside the clone: the demo's files come with the tool, the run goes under the folder.
        Directory.CreateDirectory(dir["anywhere"]);
        (code, output) = Run(Path.Combine(dir["tools"], "percept"), "demo --no-serve", dir["anywhere"], TimeSpan.FromMinutes(4));
        Assert.True(code == 0, output);
        Assert.Contains("accuracy: 89.75 % on 10000 labelled samples", output);
        Assert.Contains($"run: {dir["anywhere/runs/demo"]}", output);
        Assert.True(File.Exists(dir["anywhere/runs/demo/run.json"]));
    }
}

/// <summary>Tests that run by themselves, after the parallel ones.</summary>
[CollectionDefinition(nameof(ToolPackageCollection), DisableParallelization = true)]
public sealed class ToolPackageCollection;
