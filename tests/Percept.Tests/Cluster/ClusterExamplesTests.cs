using YamlDotNet.RepresentationModel;

namespace Percept.Tests.Cluster;

/// <summary>
/// The cluster examples hold together: the Kubernetes manifests are Jobs with the fields an Indexed Job and its merge
/// need, and they run the same commands as the Slurm scripts (which SlurmClusterTests runs on a real cluster), with
/// options the CLI knows. No Kubernetes cluster runs here; the manifests are checked for structure only.
/// </summary>
public class ClusterExamplesTests
{
    static string Examples => Path.Combine(TestFiles.Root, "examples");

    static YamlMappingNode Load(string file)
    {
        var stream = new YamlStream();
        using var reader = new StreamReader(Path.Combine(Examples, "kubernetes", file));
        stream.Load(reader);
        return (YamlMappingNode)Assert.Single(stream.Documents).RootNode;
    }

    static YamlNode At(YamlNode node, params string[] path)
    {
        foreach (string key in path)
        {
            var map = Assert.IsType<YamlMappingNode>(node);
            Assert.True(map.Children.TryGetValue(new YamlScalarNode(key), out var next), $"no '{key}' in the manifest");
            node = next!;
        }
        return node;
    }

    static string Text(YamlNode node, params string[] path) => Assert.IsType<YamlScalarNode>(At(node, path)).Value!;

    static string[] Args(YamlMappingNode job)
    {
        var container = (YamlMappingNode)((YamlSequenceNode)At(job, "spec", "template", "spec", "containers")).Children.Single();
        Assert.Equal("percept", ((YamlSequenceNode)At(container, "command")).Children.Cast<YamlScalarNode>().Single().Value);
        var mounts = ((YamlSequenceNode)At(container, "volumeMounts")).Children.Select(m => Text(m, "name")).ToArray();
        var volumes = ((YamlSequenceNode)At(job, "spec", "template", "spec", "volumes")).Children.Select(v => Text(v, "name")).ToArray();
        Assert.All(mounts, m => Assert.Contains(m, volumes));
        Assert.Equal("Never", Text(job, "spec", "template", "spec", "restartPolicy"));
        return ((YamlSequenceNode)At(container, "args")).Children.Cast<YamlScalarNode>().Select(s => s.Value!).ToArray();
    }

    /// <summary>The options given to a command, checked against the CLI's own list for it.</summary>
    static void KnownOptions(string command, IEnumerable<string> args)
    {
        var spec = Percept.Cli.CommandLine.Commands.Single(c => c.Name == command);
        foreach (string a in args.Where(a => a.StartsWith("--", StringComparison.Ordinal)))
            Assert.Contains(a[2..], spec.Options.Select(o => o.Name));
    }

    [Fact]
    public void The_shards_job_is_an_indexed_job_whose_pods_each_run_one_shard()
    {
        var job = Load("shards-job.yaml");
        Assert.Equal("batch/v1", Text(job, "apiVersion"));
        Assert.Equal("Job", Text(job, "kind"));
        Assert.Equal("Indexed", Text(job, "spec", "completionMode"));
        string completions = Text(job, "spec", "completions");
        var args = Args(job);
        Assert.Equal("analyze", args[0]);
        KnownOptions("analyze", args);
        // --shard auto reads JOB_COMPLETION_INDEX; the count is the Job's completions; each index writes its own folder.
        Assert.Equal("auto", args[Array.IndexOf(args, "--shard") + 1]);
        Assert.Equal(completions, args[Array.IndexOf(args, "--shard-count") + 1]);
        Assert.Contains("$(JOB_COMPLETION_INDEX)", args[Array.IndexOf(args, "--out") + 1], StringComparison.Ordinal);
    }

    [Fact]
    public void The_merge_job_merges_the_folder_the_shards_are_written_to()
    {
        var shards = Args(Load("shards-job.yaml"));
        var job = Load("merge-job.yaml");
        Assert.Equal("Job", Text(job, "kind"));
        var args = Args(job);
        Assert.Equal("merge", args[0]);
        KnownOptions("merge", args);
        string shardFolder = Path.GetDirectoryName(shards[Array.IndexOf(shards, "--out") + 1])!;
        Assert.Equal(shardFolder, args[1]);
    }

    [Fact]
    public void Kubernetes_and_Slurm_run_the_same_commands()
    {
        string slurmShards = File.ReadAllText(Path.Combine(Examples, "slurm", "shards.sbatch"));
        string slurmMerge = File.ReadAllText(Path.Combine(Examples, "slurm", "merge.sbatch"));
        var k8s = Args(Load("shards-job.yaml"));
        // Both shard with --shard auto into one folder per task, and merge that folder with --out.
        foreach (string option in new[] { "analyze", "--model", "--data", "--labels", "--shard auto", "--out", "--overwrite" })
            Assert.Contains(option, slurmShards, StringComparison.Ordinal);
        Assert.Contains("auto", k8s);
        foreach (string option in new[] { "merge", "--out", "--overwrite" }) Assert.Contains(option, slurmMerge, StringComparison.Ordinal);
        Assert.Contains("--dependency=afterok", File.ReadAllText(Path.Combine(Examples, "slurm", "submit.sh")), StringComparison.Ordinal);
    }
}
