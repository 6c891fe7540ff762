using System.Diagnostics;
using System.Globalization;
using System.Net;
using Percept;
using Percept.Data;
using Percept.Server;

/// <summary>
/// The dashboard's server under load, on loopback only and for a fixed number of requests: rounds of concurrent
/// requests (thumbnails, sample details, columns, Grad-CAM and integrated-gradients heat maps of random samples) while an
/// analysis writes a second run, then rounds of integrated gradients alone to see whether memory keeps growing.
/// Prints requests per second, latency percentiles, status counts and the process's memory after each round.
/// </summary>
static class LoadBench
{
    public static int Run(string[] args)
    {
        int rounds = 4, concurrency = 200, leakRounds = 5;
        for (int i = 0; i + 1 < args.Length; i++)
        {
            if (args[i] == "--rounds") rounds = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
            if (args[i] == "--concurrency") concurrency = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
        }
        string scratch = Path.Combine(Path.GetTempPath(), "percept-bench-load-" + Environment.ProcessId);
        Directory.CreateDirectory(scratch);
        try { return RunAsync(scratch, rounds, concurrency, leakRounds).GetAwaiter().GetResult(); }
        finally { Directory.Delete(scratch, recursive: true); }
    }

    static AnalysisOptions Demo(string output, Percept.Projection.MapMethod map) => new()
    {
        ModelPath = Paths.Model,
        Data = new DataSource { Path = Paths.TestImages, LabelsPath = Paths.TestLabels },
        OutputDirectory = output,
        Map = new Percept.Projection.MapOptions { Method = map },
    };

    static async Task<int> RunAsync(string scratch, int rounds, int concurrency, int leakRounds)
    {
        var run = Analysis.Run(Demo(Path.Combine(scratch, "demo"), Percept.Projection.MapMethod.Pca));
        await using var server = await DashboardServer.StartAsync([run.Directory], new DashboardOptions { Host = "127.0.0.1", Port = 0 });
        using var http = new HttpClient { BaseAddress = server.Url, Timeout = TimeSpan.FromMinutes(10) };
        string id = server.Runs.Keys.First();
        Console.WriteLine($"server {server.Url} over {run.Count:N0} samples; {Environment.ProcessorCount} cores");
        Console.WriteLine($"RSS at start: {Rss():N0} MiB");
        var rng = new Random(11);
        string Mixed(int k) => (k % 10) switch
        {
            < 4 => $"api/runs/{id}/samples/{rng.Next(run.Count)}/image.png?size=96",
            < 6 => $"api/runs/{id}/samples/{rng.Next(run.Count)}",
            6 => $"api/runs/{id}/columns/loss",
            < 9 => $"api/runs/{id}/samples/{rng.Next(run.Count)}/explain?method=gradcam",
            _ => $"api/runs/{id}/samples/{rng.Next(run.Count)}/explain?method=ig",
        };

        Console.WriteLine();
        Console.WriteLine($"Mixed rounds of {concurrency} concurrent requests (40% thumbnails, 20% details, 10% a column, 20% Grad-CAM, 10% integrated gradients), while an analysis writes a second run:");
        Console.WriteLine("| round | req/s | p50 | p99 | max | 2xx | 4xx | 5xx | RSS after | managed heap |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|");
        var writing = Task.Run(() => Analysis.Run(Demo(Path.Combine(scratch, "second"), Percept.Projection.MapMethod.Umap)));
        int failures = 0;
        for (int r = 1; r <= rounds; r++)
        {
            var urls = Enumerable.Range(0, concurrency).Select(Mixed).ToArray();
            failures += await Round(http, urls, r.ToString(CultureInfo.InvariantCulture));
        }
        var second = await writing;
        Console.WriteLine($"second run written meanwhile: {second.Count:N0} samples, {second.Manifest.ElapsedSeconds:F1} s");

        Console.WriteLine();
        Console.WriteLine($"Rounds of {concurrency} integrated-gradients requests for new samples (does memory keep growing?):");
        Console.WriteLine("| round | req/s | p50 | p99 | max | 2xx | 4xx | 5xx | RSS after | managed heap |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|");
        int next = 0;
        for (int r = 1; r <= leakRounds; r++)
        {
            var urls = Enumerable.Range(0, concurrency).Select(_ => $"api/runs/{id}/samples/{next++ % run.Count}/explain?method=ig").ToArray();
            failures += await Round(http, urls, $"IG {r}");
        }
        Console.WriteLine($"5xx in all: {failures}");
        return failures > 0 ? 1 : 0;
    }

    static async Task<int> Round(HttpClient http, string[] urls, string name)
    {
        var latencies = new double[urls.Length];
        var codes = new HttpStatusCode[urls.Length];
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(urls.Select(async (url, k) =>
        {
            var sw = Stopwatch.StartNew();
            using var response = await http.GetAsync(url);
            await response.Content.ReadAsByteArrayAsync();
            latencies[k] = sw.Elapsed.TotalSeconds;
            codes[k] = response.StatusCode;
        }));
        double seconds = clock.Elapsed.TotalSeconds;
        Array.Sort(latencies);
        double P(double q) => latencies[Math.Min(latencies.Length - 1, (int)(q * latencies.Length))];
        int ok = codes.Count(c => (int)c is >= 200 and < 300), client = codes.Count(c => (int)c is >= 400 and < 500), server = codes.Count(c => (int)c >= 500);
        long heap = GC.GetTotalMemory(forceFullCollection: true) >> 20;
        Console.WriteLine($"| {name} | {urls.Length / seconds:F0} | {1000 * P(0.5):F0} ms | {1000 * P(0.99):F0} ms | {1000 * latencies[^1]:F0} ms | {ok} | {client} | {server} | {Rss():N0} MiB | {heap:N0} MiB |");
        return server;
    }

    static long Rss()
    {
        string line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024;
    }
}
