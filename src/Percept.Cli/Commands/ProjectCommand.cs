using System.Diagnostics;
using Percept.IO;
using Percept.Neighbors;
using Percept.Projection;

namespace Percept.Cli.Commands;

/// <summary><c>percept project</c>: a map of any float32 matrix.</summary>
public static class ProjectCommand
{
    public static readonly CommandSpec Spec = new()
    {
        Name = "project",
        Summary = "map any float32 .npy matrix to 2-D or 3-D (UMAP, t-SNE, PCA)",
        Synopsis = ["percept project --input X.npy --method umap|pca|tsne --out Y.npy [options]"],
        Description = "Maps the rows of a 2-D float32 .npy to 2 (or 1–3) dimensions.",
        Options =
        [
            new("input", "X.npy", "the rows to map"),
            new("method", "umap|pca|tsne", "the map (t-SNE makes 2-D maps: FFT-accelerated interpolation from 10,000 rows, Barnes–Hut below)"),
            new("out", "Y.npy", "where to write the map"),
            new("dims", "N", "map dimensions (default 2)"),
            new("seed", "N", "seed (default 0); with --threads 1 the same seed gives the same map"),
            new("neighbors", "K", "UMAP neighbourhood size, counting the point itself (default 15)"),
            new("min-dist", "X", "UMAP min_dist (default 0.1)"),
            new("perplexity", "P", "t-SNE perplexity (default 30)"),
            new("iterations", "N", "t-SNE iterations after the 250 of early exaggeration (default 500); UMAP epochs (default 200, or 500 up to 10,000 rows)"),
            new("metric", "euclidean|cosine", "the distance between rows"),
            new("init", "Y0.npy", "start UMAP from this layout (e.g. the previous checkpoint's map)"),
            new("align-to", "R.npy", "rotate the map onto this one (orthogonal Procrustes), so dots stay put"),
            new("quality", null, "print trustworthiness and k-NN preservation (k=10, seeded sample of 5,000)"),
            new("drop-nonfinite", null, "drop rows with NaN/Inf instead of failing (their row numbers are printed)"),
            new("threads", "N", "threads (default: all cores)"),
        ],
        Run = Run,
    };

    public static int Run(Arguments a, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        if (a.Positional.Count > 0) throw new UsageException($"unexpected argument '{a.Positional[0]}'");
        string output = a.Require("out");
        if (!output.EndsWith(".npy", StringComparison.OrdinalIgnoreCase)) throw new UsageException("--out must be a .npy file");
        var x = NeighborsCommand.LoadInput(a, stdout, out _);
        var method = a.GetEnum("method", MapMethod.Umap);
        if (method is MapMethod.Auto or MapMethod.None) throw new UsageException("--method takes umap, pca or tsne");
        int dims = a.GetInt("dims") ?? 2;
        var options = new MapOptions
        {
            Method = method,
            Dimensions = dims,
            Seed = (ulong)(a.GetInt("seed") ?? 0),
            Neighbors = a.GetInt("neighbors") ?? 15,
            MinDist = a.GetFloat("min-dist") ?? 0.1f,
            Perplexity = a.GetFloat("perplexity") ?? 30,
            Iterations = a.GetInt("iterations") ?? 0,
            Metric = a.GetEnum("metric", Metric.Euclidean),
            Threads = a.GetInt("threads") ?? 0,
            Initial = a.Get("init") is { } init ? MatrixFile.Load(init, false, out _) : null,
            AlignTo = a.Get("align-to") is { } align ? MatrixFile.Load(align, false, out _) : null,
        };
        if (!(options.Perplexity > 0)) throw new UsageException("--perplexity must be positive");
        if (options.Iterations < 0) throw new UsageException("--iterations must be positive");
        if (method == MapMethod.Umap && x.Rows <= options.Neighbors)
            throw new PerceptException($"UMAP with {options.Neighbors} neighbours needs more than {options.Neighbors} points; the input has {x.Rows}");
        var clock = Stopwatch.StartNew();
        var map = Maps.Make(x, options, ct);
        Npy.Write(output, map.Coordinates.Data, map.Coordinates.Rows, map.Coordinates.Columns);
        stdout.WriteLine($"{method.ToString().ToLowerInvariant()}: {x.Rows} x {x.Columns} → {map.Coordinates.Rows} x {map.Coordinates.Columns} in {clock.Elapsed.TotalSeconds:F1}s, written to {output}");
        if (map.KlDivergence is double kl) stdout.WriteLine($"KL divergence {kl:F4}");
        if (a.Has("quality"))
        {
            var q = MapQuality.Evaluate(x, map.Coordinates, 10, 5000, options.Seed, options.Metric, options.Threads);
            stdout.WriteLine($"trustworthiness@10 {q.Trustworthiness:F4}, k-NN preservation@10 {q.KnnPreservation:F4} (sample of {q.SampleSize})");
        }
        return CommandLine.Ok;
    }
}
