using System.Diagnostics;
using Percept.IO;
using Percept.Neighbors;

namespace Percept.Cli.Commands;

/// <summary><c>percept neighbors</c>: k nearest neighbours of any float32 matrix.</summary>
public static class NeighborsCommand
{
    public static readonly CommandSpec Spec = new()
    {
        Name = "neighbors",
        Summary = "k nearest neighbours of any float32 .npy matrix (NN-descent, graph search, exact)",
        Synopsis = ["percept neighbors --input X.npy --k 15 --out I.npy [--distances D.npy] [options]"],
        Description = """
            The k nearest rows of X to each row of X (itself excluded) or to each row of --queries, as an int64 [N, k]
            array of row numbers, nearest first, and optionally their float32 distances.
            """,
        Options =
        [
            new("input", "X.npy", "the rows to search, a 2-D float32 .npy"),
            new("k", "K", "neighbours per row"),
            new("out", "I.npy", "where to write the row numbers"),
            new("distances", "D.npy", "where to write the distances"),
            new("queries", "Q.npy", "find neighbours of these rows instead (searched with an index unless --exact)"),
            new("metric", "euclidean|cosine", "the distance (cosine distance = 1 − cosine similarity)"),
            new("exact", null, "brute force (exact); default: NN-descent graph / graph search (approximate)"),
            new("seed", "N", "seed of the approximate search (default 0)"),
            new("drop-nonfinite", null, "drop rows with NaN/Inf instead of failing"),
            new("threads", "N", "threads (default: all cores)"),
        ],
        Run = Run,
    };

    public static int Run(Arguments a, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        if (a.Positional.Count > 0) throw new UsageException($"unexpected argument '{a.Positional[0]}'");
        string output = a.Require("out");
        int k = a.GetInt("k") ?? throw new UsageException("--k is required");
        var x = LoadInput(a, stdout, out _);
        var queries = a.Get("queries") is { } qp ? MatrixFile.Load(qp, a.Has("drop-nonfinite"), out _) : null;
        var metric = a.GetEnum("metric", Metric.Euclidean);
        int threads = a.GetInt("threads") ?? 0;
        int available = queries == null ? x.Rows - 1 : x.Rows;
        if (k < 1 || k > available) throw new PerceptException($"--k {k} must be between 1 and {available} (the input has {x.Rows} rows{(queries == null ? ", and a point is not its own neighbour" : "")})");
        var clock = Stopwatch.StartNew();
        var options = new NNDescentOptions { Seed = (ulong)(a.GetInt("seed") ?? 0), Threads = threads };
        KnnGraph graph = a.Has("exact") ? ExactKnn.Search(x, queries, k, metric, threads, ct)
            : queries == null ? NNDescent.Build(x, k, metric, options)
            : KnnIndex.Build(x, Math.Max(k, 15), metric, options).Query(queries, k, threads: threads);
        Npy.Write(output, graph.Indices.Select(i => (long)i).ToArray(), graph.Count, graph.K);
        if (a.Get("distances") is { } dp) Npy.Write(dp, graph.Distances, graph.Count, graph.K);
        stdout.WriteLine($"{(a.Has("exact") ? "exact" : "approximate")} {k}-NN of {graph.Count} rows among {x.Rows} in {clock.Elapsed.TotalSeconds:F1}s, written to {output}");
        return CommandLine.Ok;
    }

    internal static Matrix LoadInput(Arguments a, TextWriter stdout, out int[] kept)
    {
        string path = a.Require("input");
        var x = MatrixFile.Load(path, a.Has("drop-nonfinite"), out kept);
        long total = Npy.ReadHeader(path).Shape[0];
        if (kept.Length < total)
        {
            var dropped = Enumerable.Range(0, (int)total).Except(kept).ToArray();
            stdout.WriteLine($"dropped {dropped.Length} row(s) with NaN/Inf ({string.Join(", ", dropped.Take(10))}{(dropped.Length > 10 ? ", …" : "")}); output rows follow the kept rows");
        }
        return x;
    }
}
