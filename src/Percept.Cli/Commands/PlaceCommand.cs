using Percept.Cluster;
using Percept.Data;

namespace Percept.Cli.Commands;

/// <summary><c>percept place</c>: a landmark map's other samples placed in shards, as an array job.</summary>
public static class PlaceCommand
{
    public static readonly CommandSpec Spec = new()
    {
        Name = "place",
        Summary = "place a landmark map's other samples in shards (an array job), then write them into the run",
        Synopsis = ["percept place RUN --shard I/N|auto [--shard-count N] --out PART", "percept place RUN --parts PART…|FOLDER"],
        Description = """
            For a run whose map was fitted on landmarks and left the other samples unplaced ('percept merge
            --map-landmarks N --place-later'). With --shard, places one slice of those samples on the map (their nearest
            landmarks, a weighted start, then UMAP's optimisation against the fixed landmarks) and writes a part; one task
            of a Slurm array or a Kubernetes Indexed Job each. With --parts, writes every part into the run's map,
            checking that together they place every sample once, and measures the map's quality (docs/scale.md).
            """,
        Arguments = new("RUN", "the run", 1, 1),
        Options =
        [
            new("shard", "I/N|auto", "place the I-th of N slices (1 ≤ I ≤ N); auto: the scheduler's array task, as for 'percept analyze --shard'"),
            new("shard-count", "N", "the number of shards, for --shard auto where the scheduler does not say"),
            new("out", "PART", "where --shard writes its part"),
            new("parts", "PART…|FOLDER", "the parts to write into the run (folders, or a folder holding them)", Many: true),
            new("threads", "N", "threads (default: all cores)"),
        ],
        Run = Run,
    };

    public static int Run(Arguments a, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        if (a.Positional.Count != 1) throw new UsageException("give one run folder");
        var run = RunFolders.Open(a.Positional[0]);
        int threads = a.GetInt("threads") ?? 0;
        if (a.Has("parts"))
        {
            if (a.Has("shard") || a.Has("out")) throw new UsageException("give --shard and --out, or --parts, not both");
            var done = LandmarkPlacement.Complete(run, a.GetAll("parts"), threads);
            var m = done.Manifest.Map!;
            stdout.WriteLine($"map: every sample placed; trustworthiness@{m.QualityK} {m.Trustworthiness:F3}, k-NN preservation {m.KnnPreservation:F3}");
            return CommandLine.Ok;
        }
        var shard = ShardSpec.Parse(a.Get("shard") ?? throw new UsageException("give --shard I/N (and --out), or --parts"), a.GetInt("shard-count"), Environment.GetEnvironmentVariable);
        string part = LandmarkPlacement.Place(run, shard, a.Require("out"), threads, ct);
        stdout.WriteLine($"placed shard {shard}: {part}");
        return CommandLine.Ok;
    }
}
