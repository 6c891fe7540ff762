using System.Diagnostics;
using System.Globalization;
using Percept;
using Percept.IO;
using Percept.Neighbors;
using Percept.Projection;

/// <summary>
/// Percept's half of bench/reference/side_by_side.py: one stage (k-NN graph, UMAP or t-SNE) on a float32 .npy matrix,
/// timed in this process after a JIT warm-up on the first 2,000 rows, the result written to an .npy for the driver to
/// score with the same code as the reference tools'. Prints one JSON line.
/// <code>
///   Percept.Bench maps-stage knn|umap|tsne INPUT.npy OUTPUT.npy [--threads N] [--k 15] [--perplexity 30] [--iterations 500]
/// </code>
/// </summary>
static class MapsStageBench
{
    public static int Run(string[] args)
    {
        if (args.Length < 3) { Console.Error.WriteLine("usage: maps-stage knn|umap|tsne INPUT.npy OUTPUT.npy [--threads N] [--k K] [--perplexity P] [--iterations N]"); return 2; }
        string stage = args[0];
        var data = Npy.ReadFloat32(args[1], out var shape);
        if (shape.Length != 2) { Console.Error.WriteLine("the input must be a 2-D float32 .npy"); return 2; }
        var x = new Matrix(data, (int)shape[0], (int)shape[1]);
        int threads = Option(args, "--threads", 0), k = Option(args, "--k", 15);
        float perplexity = Option(args, "--perplexity", 30);
        int iterations = Option(args, "--iterations", 500);

        // Warm-up: the same code on a small slice, so the timing below measures compiled code (as the references are
        // timed after numba has compiled).
        int warm = Math.Min(2000, x.Rows);
        Execute(new Matrix(x.Data[..(warm * x.Columns)], warm, x.Columns), stage, threads, k, perplexity, 50, out _);

        var clock = Stopwatch.StartNew();
        var result = Execute(x, stage, threads, k, perplexity, iterations, out double? kl);
        double seconds = clock.Elapsed.TotalSeconds;
        if (result is KnnGraph g) Npy.Write(args[2], g.Indices.Select(v => (long)v).ToArray(), g.Count, g.K);
        else if (result is Matrix m) Npy.Write(args[2], m.Data, m.Rows, m.Columns);
        string klText = kl is double v ? v.ToString("R", CultureInfo.InvariantCulture) : "null";
        Console.WriteLine($"{{\"cpu\": \"{Percept.Core.Cpu.Describe().Replace("\"", "'")}\", \"stage\": \"{stage}\", \"seconds\": {seconds.ToString("F3", CultureInfo.InvariantCulture)}, \"kl\": {klText}, \"peak_mib\": {Paths.PeakMiB().ToString("F0", CultureInfo.InvariantCulture)}}}");
        return 0;
    }

    static object Execute(Matrix x, string stage, int threads, int k, float perplexity, int iterations, out double? kl)
    {
        kl = null;
        switch (stage)
        {
            case "knn":
                return NNDescent.Build(x, k, Metric.Euclidean, new NNDescentOptions { Threads = threads });
            case "umap":
                return Umap.Fit(x, new UmapOptions { Threads = threads }).Embedding;
            case "tsne":
                // The driver passes the same PCA-50 input it gives openTSNE, so PCA is not part of either timing.
                var r = TSne.Run(x, new TSneOptions { Threads = threads, Perplexity = perplexity, Iterations = iterations, PcaDimensions = 0 });
                kl = r.KlDivergence;
                return r.Embedding;
            default:
                throw new PerceptException($"unknown stage '{stage}' (knn, umap, tsne)");
        }
    }

    static int Option(string[] args, string name, int fallback)
    {
        int at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;
    }
}
