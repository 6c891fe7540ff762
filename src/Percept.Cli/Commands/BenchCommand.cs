using System.Diagnostics;
using System.Globalization;
using Percept.Data;
using Percept.IO;
using Percept.Neighbors;
using Percept.Projection;

namespace Percept.Cli.Commands;

/// <summary><c>percept bench maps</c>: neighbours and maps of all 70k Fashion-MNIST images, timed and scored.</summary>
public static class BenchCommand
{
    public static readonly CommandSpec Spec = new()
    {
        Name = "bench",
        Summary = "'percept bench maps': neighbours and maps of all 70k Fashion-MNIST images, timed and scored",
        Synopsis = ["percept bench maps [--data FASHION_MNIST_FOLDER] [--limit N] [--skip tsne,vectors] [--synthetic ROWSxDIMS]"],
        Description = """
            On all 70,000 Fashion-MNIST images (train + test; 784-d pixels, then the demo model's 250-d perception
            vectors) prints, per stage: wall time, peak memory of the process so far, recall@15 of k-NN graphs against
            exact neighbours of 1,000 seeded points, and trustworthiness / k-NN preservation (k=10) of maps on a seeded
            sample of 5,000. The Python reference figures come from bench/reference/maps_reference.py (see bench/README.md).
            """,
        Arguments = new("maps", "the benchmark to run (maps)", 1, 1),
        Options =
        [
            new("data", "FOLDER", "the full Fashion-MNIST (default: ../shared/datasets/fashion-mnist or /usr/share/datasets/fashion-mnist)"),
            new("limit", "N", "use the first N images only"),
            new("skip", "STAGES", "stages to leave out, comma-separated (tsne, vectors)"),
            new("synthetic", "ROWSxDIMS", "instead run k-NN and UMAP on a seeded Gaussian mixture of that size (memory check), e.g. 1000000x64"),
            new("threads", "N", "threads (default: all cores)"),
        ],
        Run = Run,
    };

    public static int Run(Arguments a, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        if (a.Positional.Count != 1 || a.Positional[0] != "maps") throw new UsageException("the benchmark is 'maps'");
        var skip = (a.Get("skip") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries).ToHashSet();
        int threads = a.GetInt("threads") ?? 0;
        stdout.WriteLine($"percept {Analysis.Version}, .NET {Environment.Version}; {Core.Cpu.Describe()}");
        stdout.WriteLine("| input | stage | wall | peak RSS | recall@15 | trustworthiness@10 | k-NN preservation@10 |");
        stdout.WriteLine("|---|---|---|---|---|---|---|");
        if (a.Get("synthetic") is { } size)
        {
            var parts = size.Split('x');
            if (parts.Length != 2 || !int.TryParse(parts[0], out int rows) || !int.TryParse(parts[1], out int dims))
                throw new UsageException("--synthetic takes ROWSxDIMS, e.g. 1000000x64");
            Synthetic(rows, dims, threads, stdout);
            return CommandLine.Ok;
        }
        string folder = FindData(a.Get("data"));
        int limit = a.GetInt("limit") ?? int.MaxValue;
        var clock = Stopwatch.StartNew();
        var (pixels, raw) = Load(folder, limit);
        Row(stdout, "pixels", $"load {pixels.Rows} x {pixels.Columns}", clock);
        Suite(stdout, "pixels 784-d", pixels, skip, threads);
        if (skip.Contains("vectors")) return CommandLine.Ok;

        // The demo model's perception vectors of the same 70k images, from one analysis (one set of statistics).
        string scratch = Path.Combine(Path.GetTempPath(), $"percept-bench-{Environment.ProcessId}");
        Directory.CreateDirectory(scratch);
        try
        {
            string npy = Path.Combine(scratch, "images.npy");
            using (var w = new NpyWriter(npy, NpyType.UInt8, [28, 28])) w.WriteRows(raw);
            string model = Path.Combine(FindRepositoryModels(), "epoch-5.onnx");
            clock.Restart();
            var run = Analysis.Run(new AnalysisOptions
            {
                ModelPath = model, Data = new DataSource { Path = npy }, OutputDirectory = Path.Combine(scratch, "run"),
                Map = new MapOptions { Method = MapMethod.None },
            }, cancellationToken: ct);
            var vectors = run.ReadMatrix(Perception.PerceptionFields.Embedding);
            int n = vectors.Rows, width = vectors.Columns;
            Row(stdout, "vectors", $"analyze {n} images → {width}-d perception vectors", clock);
            Suite(stdout, $"perception {width}-d", vectors, skip, threads);
        }
        finally { Directory.Delete(scratch, recursive: true); }
        return CommandLine.Ok;
    }

    static void Suite(TextWriter stdout, string input, Matrix x, HashSet<string> skip, int threads)
    {
        var clock = Stopwatch.StartNew();
        var (exact, rows) = ExactSample(x, 15, Math.Min(1000, x.Rows), threads);
        Row(stdout, input, "exact 15-NN of 1,000 points (brute force)", clock);
        clock.Restart();
        var graph = NNDescent.Build(x, 15, Metric.Euclidean, new NNDescentOptions { Threads = threads });
        Row(stdout, input, "15-NN graph (NN-descent)", clock, recall: Recall(graph, exact, rows));
        if (!skip.Contains("index"))
        {
            int train = x.Rows * 6 / 7;
            var data = new Matrix(x.Data[..(train * x.Columns)], train, x.Columns);
            var queries = new Matrix(x.Data[(train * x.Columns)..(x.Rows * x.Columns)], x.Rows - train, x.Columns);
            clock.Restart();
            var index = KnnIndex.Build(data, 15, Metric.Euclidean, new NNDescentOptions { Threads = threads });
            Row(stdout, input, $"index of {train} points (NN-descent graph)", clock);
            clock.Restart();
            var found = index.Query(queries, 15, threads: threads);
            double seconds = clock.Elapsed.TotalSeconds;
            var truth = ExactKnn.Search(data, new Matrix(queries.Data[..(Math.Min(1000, queries.Rows) * x.Columns)], Math.Min(1000, queries.Rows), x.Columns), 15, Metric.Euclidean, threads);
            Row(stdout, input, $"15-NN of {queries.Rows} new points ({1e6 * seconds / queries.Rows:F0} µs per query)", clock, recall: found.Recall(truth, Enumerable.Range(0, truth.Count).ToArray()), seconds: seconds);
        }
        foreach (var method in new[] { MapMethod.Pca, MapMethod.Umap, MapMethod.Tsne })
        {
            if (skip.Contains(method.ToString().ToLowerInvariant())) continue;
            clock.Restart();
            var map = Maps.Make(x, new MapOptions { Method = method, Threads = threads });
            double seconds = clock.Elapsed.TotalSeconds;
            var q = MapQuality.Evaluate(x, map.Coordinates, 10, 5000, 0, Metric.Euclidean, threads);
            Row(stdout, input, $"{method.ToString().ToUpperInvariant()} 2-D", clock, trust: q.Trustworthiness, keep: q.KnnPreservation, seconds: seconds);
        }
    }

    static void Synthetic(int rows, int dims, int threads, TextWriter stdout)
    {
        var clock = Stopwatch.StartNew();
        var x = new Matrix(rows, dims);
        var rng = new Random(1);
        var centres = Enumerable.Range(0, 20 * dims).Select(_ => (float)(rng.NextDouble() * 20 - 10)).ToArray();
        Parallel.For(0, rows, i =>
        {
            var r = new Random(i);
            int c = r.Next(20);
            var row = x.Row(i);
            for (int j = 0; j < dims; j++) row[j] = centres[c * dims + j] + (float)(r.NextDouble() * 2 - 1) * 3;
        });
        string input = $"synthetic {rows} x {dims}";
        Row(stdout, input, "generate (20 Gaussian-like clusters)", clock);
        clock.Restart();
        var (exact, sample) = ExactSample(x, 15, 200, threads);
        Row(stdout, input, "exact 15-NN of 200 points", clock);
        clock.Restart();
        var model = Umap.Fit(x, new UmapOptions { Threads = threads, PcaDimensions = 0 });
        Row(stdout, input, "UMAP 2-D (NN-descent 15-NN graph + layout)", clock, recall: Recall(model.Index.Graph, PadSelf(exact), sample));
    }

    static KnnGraph PadSelf(KnnGraph g)
    {
        // UMAP's graph has 14 neighbours (15 counting the point itself): compare on 14.
        int k = g.K - 1;
        var idx = new int[g.Count * k]; var dist = new float[g.Count * k];
        for (int i = 0; i < g.Count; i++) { g.NeighborsOf(i)[..k].CopyTo(idx.AsSpan(i * k)); g.DistancesOf(i)[..k].CopyTo(dist.AsSpan(i * k)); }
        return new KnnGraph(idx, dist, g.Count, k);
    }

    static void Row(TextWriter o, string input, string stage, Stopwatch clock, double? recall = null, double? trust = null, double? keep = null, double? seconds = null)
    {
        string F(double? v) => v is double d ? d.ToString("F4", CultureInfo.InvariantCulture) : "";
        o.WriteLine($"| {input} | {stage} | {(seconds ?? clock.Elapsed.TotalSeconds):F2} s | {PeakMiB():N0} MiB | {F(recall)} | {F(trust)} | {F(keep)} |");
        o.Flush();
    }

    static double PeakMiB()
    {
        try
        {
            var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
            return long.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024.0;
        }
        catch (IOException) { return Environment.WorkingSet / 1048576.0; }
    }

    /// <summary>Exact neighbours of a seeded sample of rows, the row itself removed.</summary>
    static (KnnGraph Exact, int[] Rows) ExactSample(Matrix data, int k, int sample, int threads)
    {
        var rows = MapQualitySample(data.Rows, sample);
        var q = new Matrix(rows.Length, data.Columns);
        for (int i = 0; i < rows.Length; i++) data.Row(rows[i]).CopyTo(q.Row(i));
        var g = ExactKnn.Search(data, q, k + 1, Metric.Euclidean, threads);
        var idx = new int[rows.Length * k];
        var dist = new float[rows.Length * k];
        for (int i = 0; i < rows.Length; i++)
        {
            int w = 0;
            for (int t = 0; t <= k && w < k; t++)
                if (g.NeighborsOf(i)[t] != rows[i]) { idx[i * k + w] = g.NeighborsOf(i)[t]; dist[i * k + w] = g.DistancesOf(i)[t]; w++; }
        }
        return (new KnnGraph(idx, dist, rows.Length, k), rows);
    }

    static int[] MapQualitySample(int n, int size)
    {
        var rng = new Random(7);
        return Enumerable.Range(0, n).OrderBy(_ => rng.Next()).Take(size).Order().ToArray();
    }

    static double Recall(KnnGraph approx, KnnGraph exact, int[] rows)
    {
        long hits = 0;
        int k = Math.Min(approx.K, exact.K);
        for (int s = 0; s < rows.Length; s++)
        {
            var truth = exact.NeighborsOf(s)[..k];
            foreach (var j in approx.NeighborsOf(rows[s])[..k]) if (truth.Contains(j)) hits++;
        }
        return (double)hits / (rows.Length * k);
    }

    static (Matrix Pixels, byte[] Raw) Load(string folder, int limit)
    {
        var raw = new List<byte>();
        int rows = 0;
        foreach (var name in new[] { "train", "t10k" })
        {
            using var ds = new IdxDataset(Path.Combine(folder, $"{name}-images-idx3-ubyte.gz"));
            foreach (var b in ds.ReadBatches(1000))
            {
                int take = Math.Min(b.Count, limit - rows);
                if (take <= 0) break;
                for (int i = 0; i < take * 784; i++) raw.Add((byte)b.Values[i]);
                rows += take;
            }
        }
        var bytes = raw.ToArray();
        return (new Matrix(bytes.Select(v => v / 255f).ToArray(), rows, 784), bytes);
    }

    static string FindData(string? given)
    {
        string[] candidates = given != null ? [given] : [.. Ancestors().Select(d => Path.Combine(d, "..", "shared", "datasets", "fashion-mnist")), "/usr/share/datasets/fashion-mnist"];
        return candidates.FirstOrDefault(c => File.Exists(Path.Combine(c, "train-images-idx3-ubyte.gz")) && File.Exists(Path.Combine(c, "t10k-images-idx3-ubyte.gz")))
               ?? throw new PerceptException($"the full Fashion-MNIST (train and t10k IDX files) is not in {string.Join(" or ", candidates.Distinct())}; give its folder with --data (Debian: apt-get install dataset-fashion-mnist)");
    }

    static IEnumerable<string> Ancestors()
    {
        for (var d = new DirectoryInfo(Environment.CurrentDirectory); d != null; d = d.Parent) yield return d.FullName;
    }

    static string FindRepositoryModels() =>
        Ancestors().Select(d => Path.Combine(d, "models", "fmnist-cnn")).FirstOrDefault(Directory.Exists)
        ?? throw new PerceptException("run from the Percept repository (the demo model is needed for the perception-vector half)");
}
