using Percept.Cluster;

namespace Percept.Cli.Commands;

/// <summary><c>percept merge</c>: the run of a whole dataset from the shards a cluster's array job wrote.</summary>
public static class MergeCommand
{
    public static readonly CommandSpec Spec = new()
    {
        Name = "merge",
        Summary = "make the run of a dataset from the shards of its analysis (percept analyze --shard I/N, one per array task)",
        Synopsis = ["percept merge SHARD… | FOLDER --out RUN [options]"],
        Description = """
            Checks that the shards belong together (the same model, data, preprocessing, perception options, batch size
            and Percept version; every shard present once) and refuses otherwise, naming the shard; joins their rows,
            outputs and layers; merges their feature statistics as one pass would; then builds the perception vectors,
            the neighbour graph, the map and the insights as 'percept analyze' does. The run equals the one a single
            machine makes: the same samples table, bit-identical outputs and perception vectors. Give the shard folders,
            or one folder that holds them. Like an analysis, the run appears only when complete (docs/scale.md).
            """,
        Arguments = new("SHARD", "shard folders, or a folder holding them", 1, int.MaxValue),
        Options =
        [
            new("out", "RUN", "the run folder", "Output"),
            new("overwrite", null, "replace an existing run", "Output"),
            .. AnalyzeCommand.MapSpecs,
            new("seed", "N", "seed of the map (default 0)", "Map"),
            new("place-later", null, "with --map-landmarks: place only the landmarks; 'percept place' places the others as an array job", "Map"),
            new("threads", "N", "threads (default: all cores)", "Output"),
            new("insights", "auto|none", "find insights once the run is written (default auto)", "Output"),
        ],
        Run = Run,
    };

    public static int Run(Arguments a, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        var options = new MergeOptions
        {
            OutputDirectory = a.Require("out"),
            Overwrite = a.Has("overwrite"),
            Map = AnalyzeCommand.MapOptions(a) is var map && a.Has("place-later")
                ? map.Landmarks > 0 ? map with { DeferPlacement = true } : throw new UsageException("--place-later goes with --map-landmarks")
                : map,
            Threads = a.GetInt("threads") ?? 0,
            Insights = (a.Get("insights") ?? "auto") switch
            {
                "auto" => true,
                "none" => false,
                var other => throw new UsageException($"--insights takes auto or none, not '{other}'"),
            },
        };
        var warnings = new List<string>();
        Store.Run run;
        try { run = ConsoleProgress.Run(p => ShardMerge.Merge(a.Positional, options, p, warnings.Add, ct), stdout); }
        finally { foreach (var w in warnings) stderr.WriteLine($"warning: {w}"); }
        AnalyzeCommand.PrintSummary(run, stdout);
        return CommandLine.Ok;
    }
}
