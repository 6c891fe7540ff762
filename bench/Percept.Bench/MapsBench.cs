using System.Diagnostics;
using Percept.Data;
using Percept.Neighbors;

/// <summary>`maps`: k-NN graphs and maps of all 70k Fashion-MNIST images (see bench/README.md).</summary>
static class MapsBench
{
    public static Matrix LoadFashion(string folder, int limit = int.MaxValue)
    {
        var parts = new List<float[]>();
        int rows = 0;
        foreach (var name in new[] { "train", "t10k" })
        {
            using var ds = new IdxDataset(Path.Combine(folder, $"{name}-images-idx3-ubyte.gz"));
            foreach (var b in ds.ReadBatches(1000))
            {
                if (rows >= limit) break;
                var chunk = new float[b.Count * 784];
                for (int i = 0; i < chunk.Length; i++) chunk[i] = b.Values[i] / 255f;
                parts.Add(chunk); rows += b.Count;
            }
        }
        rows = Math.Min(rows, limit);
        var data = new float[rows * 784];
        int o = 0;
        foreach (var p in parts) { int c = Math.Min(p.Length, data.Length - o); Array.Copy(p, 0, data, o, c); o += c; }
        return new Matrix(data, rows, 784);
    }

    /// <summary>Exact neighbours of a seeded sample of rows, for recall (self removed).</summary>
    public static (KnnGraph Exact, int[] Rows) ExactSample(Matrix data, int k, int sample, Metric metric)
    {
        var rng = new Random(7);
        var rows = Enumerable.Range(0, data.Rows).OrderBy(_ => rng.Next()).Take(sample).Order().ToArray();
        var q = new Matrix(rows.Length, data.Columns);
        for (int i = 0; i < rows.Length; i++) data.Row(rows[i]).CopyTo(q.Row(i));
        var g = ExactKnn.Search(data, q, k + 1, metric);
        var idx = new int[rows.Length * k];
        var dist = new float[rows.Length * k];
        for (int i = 0; i < rows.Length; i++)
        {
            int w = 0;
            var ni = g.NeighborsOf(i); var di = g.DistancesOf(i);
            for (int t = 0; t < k + 1 && w < k; t++)
                if (ni[t] != rows[i]) { idx[i * k + w] = ni[t]; dist[i * k + w] = di[t]; w++; }
        }
        return (new KnnGraph(idx, dist, rows.Length, k), rows);
    }

    public static double Recall(KnnGraph approx, KnnGraph exactSample, int[] rows)
    {
        long hits = 0;
        for (int s = 0; s < rows.Length; s++)
        {
            var truth = exactSample.NeighborsOf(s).ToArray();
            foreach (var j in approx.NeighborsOf(rows[s])) if (Array.IndexOf(truth, j) >= 0) hits++;
        }
        return (double)hits / (rows.Length * exactSample.K);
    }

    public static int Run(string[] args)
    {
        string? folder = Paths.FullSet(args.SkipWhile(a => a != "--data").Skip(1).FirstOrDefault());
        if (folder == null) { Console.WriteLine("full Fashion-MNIST not found"); return 1; }
        int limit = args.SkipWhile(a => a != "--limit").Skip(1).Select(int.Parse).FirstOrDefault(int.MaxValue);
        var data = LoadFashion(folder, limit);
        Console.WriteLine($"{data.Rows} x {data.Columns}");
        var sw = Stopwatch.StartNew();
        var (exact, rows) = ExactSample(data, 15, 1000, Metric.Euclidean);
        Console.WriteLine($"exact for 1000 queries: {sw.Elapsed.TotalSeconds:F2}s");
        sw.Restart();
        var g = NNDescent.Build(data, 15);
        Console.WriteLine($"nn-descent: {sw.Elapsed.TotalSeconds:F2}s recall {Recall(g, exact, rows):F4}");
        sw.Restart();
        var pca = Percept.Projection.Pca.Fit(data, 2);
        var p2 = pca.Transform(data);
        Console.WriteLine($"pca: {sw.Elapsed.TotalSeconds:F2}s var {string.Join(",", pca.ExplainedVariance.Select(v => v.ToString("F3")))}");
        Console.WriteLine($"pca quality: {Percept.Projection.MapQuality.Evaluate(data, p2)}");
        sw.Restart();
        var umap = Percept.Projection.Umap.Fit(data);
        Console.WriteLine($"umap: {sw.Elapsed.TotalSeconds:F2}s");
        sw.Restart();
        Console.WriteLine($"umap quality: {Percept.Projection.MapQuality.Evaluate(data, umap.Embedding)} in {sw.Elapsed.TotalSeconds:F2}s");
        sw.Restart();
        var ts = Percept.Projection.TSne.Fit(data);
        Console.WriteLine($"tsne: {sw.Elapsed.TotalSeconds:F2}s");
        Console.WriteLine($"tsne quality: {Percept.Projection.MapQuality.Evaluate(data, ts)}");
        return 0;
    }
}
