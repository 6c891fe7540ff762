using System.Diagnostics;
using Percept.Perception;
using Percept.Store;

namespace Percept.Tests.Cluster;

/// <summary>
/// A real Slurm cluster (Debian's slurm-wlm and munge, one node, started in a scratch folder by tools/slurm_cluster.sh):
/// the example scripts (examples/slurm/) submit a 4-task array of <c>percept analyze --shard auto</c> over the demo's
/// 10,000 images and the merge job after it; the merged run equals a single machine's. Skipped, saying why, where Slurm
/// is not installed or the test does not run as root.
/// </summary>
public class SlurmClusterTests
{
    static (int Code, string Output) Shell(string command, IDictionary<string, string> environment, TimeSpan timeout)
    {
        var start = new ProcessStartInfo("/bin/bash", ["-c", command]) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = TestFiles.Root };
        foreach (var (k, v) in environment) start.Environment[k] = v;
        using var p = Process.Start(start)!;
        var output = p.StandardOutput.ReadToEndAsync();
        var error = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout)) { p.Kill(true); return (-1, $"timed out after {timeout}"); }
        return (p.ExitCode, output.Result + error.Result);
    }

    [SkippableFact]
    public void An_array_job_of_four_shards_and_its_merge_make_the_single_machine_run()
    {
        using var dir = new TempDir();
        string cluster = dir["cluster"];
        var none = new Dictionary<string, string>();
        var (code, output) = Shell($"tools/slurm_cluster.sh start '{cluster}'", none, TimeSpan.FromMinutes(1));
        Skip.If(code == 77, $"Slurm test SKIPPED: {output.Trim()}");
        try
        {
            Assert.True(code == 0, $"the cluster did not start: {output}");
            var environment = new Dictionary<string, string>
            {
                ["SLURM_CONF"] = Path.Combine(cluster, "slurm.conf"),
                ["PERCEPT"] = Path.Combine(AppContext.BaseDirectory, "Percept.Cli"),
                ["MODEL"] = TestFiles.DemoModel, ["DATA"] = TestFiles.FashionImages, ["LABELS"] = TestFiles.FashionLabels, ["CLASSES"] = TestFiles.FashionClasses,
                ["SHARDS"] = dir["shards"], ["RUN"] = dir["run"], ["SHARD_CPUS"] = "1", ["MERGE_CPUS"] = "1",
            };
            (code, output) = Shell($"cd '{dir.Path}' && '{TestFiles.Root}/examples/slurm/submit.sh' 4", environment, TimeSpan.FromMinutes(1));
            Assert.True(code == 0, $"sbatch failed: {output}");
            Assert.Matches(@"shards: job \d+ \(4 tasks\); merge: job \d+", output);
            var clock = Stopwatch.StartNew();
            while (!File.Exists(Path.Combine(dir["run"], "run.json")) && clock.Elapsed < TimeSpan.FromMinutes(3))
            {
                var (_, queue) = Shell("squeue -h -o '%i %T %r'", environment, TimeSpan.FromSeconds(20));
                Assert.DoesNotContain("DependencyNeverSatisfied", queue);
                Thread.Sleep(500);
            }
            string logs = string.Join("\n", Directory.GetFiles(dir.Path, "percept-*.log").Order().Select(f => $"{Path.GetFileName(f)}: {File.ReadAllText(f).Trim()}"));
            Assert.True(File.Exists(Path.Combine(dir["run"], "run.json")), $"no run after {clock.Elapsed.TotalSeconds:F0} s\n{logs}");
            Assert.Equal(4, Directory.GetDirectories(dir["shards"]).Count(d => Run.IsRun(d)));
        }
        finally { Shell($"tools/slurm_cluster.sh stop '{cluster}'", none, TimeSpan.FromSeconds(30)); }

        var merged = Run.Open(dir["run"]);
        var single = Analysis.Run(new AnalysisOptions
        {
            ModelPath = TestFiles.DemoModel, OutputDirectory = dir["single"],
            Data = new Percept.Data.DataSource { Path = TestFiles.FashionImages, LabelsPath = TestFiles.FashionLabels, ClassNamesPath = TestFiles.FashionClasses },
        });
        foreach (var field in new[] { PerceptionFields.Logits, PerceptionFields.Embedding })
            Assert.True(File.ReadAllBytes(Path.Combine(single.Directory, single.Find(field.Name)!.File!))
                .AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(merged.Directory, merged.Find(field.Name)!.File!))), $"{field.Name} differs");
        Assert.Equal(single.Manifest.Summary!.Accuracy, merged.Manifest.Summary!.Accuracy);
    }
}
