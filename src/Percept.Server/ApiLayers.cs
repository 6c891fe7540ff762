using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Percept.Projection;
using Percept.Store;

namespace Percept.Server;

/// <summary>The endpoints of layer maps and of the separation per layer.</summary>
static partial class Api
{
    static readonly System.Text.Json.JsonSerializerOptions WebJson = new(System.Text.Json.JsonSerializerDefaults.Web)
    {
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    static string LayerFile(RunEntry e, int index) => Path.Combine(e.CacheDirectory, "layers", $"layer-{index}.f32");

    /// <param name="stopping">Stops the layer maps being made when the server stops.</param>
    static void MapLayers(RouteGroupBuilder api, Func<string, RunEntry> find, CancellationToken stopping)
    {
        var jobs = new LayerJobs(stopping);
        var separations = new ConcurrentDictionary<string, Lazy<string>>();
        api.MapGet("/runs/{run}/layers", (string run) =>
        {
            var e = find(run);
            return e.Run.Manifest.Perception.Layers.Select((l, i) => new LayerInfo(l.Name, l.Op, l.Width, File.Exists(LayerFile(e, i)))).ToArray();
        }).WithSummary("The run's recorded layers in network order, and whether each one's map is made already.");

        api.MapGet("/runs/{run}/layers/separation", (string run) =>
        {
            var e = find(run);
            string file = Path.Combine(e.CacheDirectory, "layers", "separation.json");
            if (File.Exists(file)) return Results.Text(File.ReadAllText(file), "application/json; charset=utf-8");
            // Computed once however many ask at the same time; forgotten when it failed.
            var lazy = separations.GetOrAdd(e.Id, _ => new Lazy<string>(() =>
            {
                string json = System.Text.Json.JsonSerializer.Serialize(LayerMaps.Separation(e.Run, ct: stopping), WebJson);
                Directory.CreateDirectory(Path.GetDirectoryName(file)!);
                Percept.IO.AtomicFile.Replace(file, tmp => File.WriteAllText(tmp, json));
                return json;
            }));
            try { return Results.Text(lazy.Value, "application/json; charset=utf-8"); }
            catch { separations.TryRemove(e.Id, out _); throw; }
        }).WithSummary("How well each layer separates the classes: per layer, then for the perception vectors, the mean share of each labelled sample's "
            + "10 nearest neighbours (cosine, standardised activations; a seeded sample of at most 20,000) that carry its label, and the share chance gives.");

        api.MapGet("/runs/{run}/layers/map", (HttpContext c, string run) =>
        {
            var e = find(run);
            string name = c.Request.Query["layer"].ToString();
            if (name.Length == 0) throw new ApiError(400, "name the layer: layers/map?layer=NAME (see layers)");
            var layers = e.Run.Manifest.Perception.Layers;
            int index = layers.ToList().FindIndex(l => l.Name == name);
            if (index < 0) throw new ApiError(404, $"run '{e.Id}' records no layer '{name}' (layers: {string.Join(", ", layers.Select(l => l.Name))})");
            string file = LayerFile(e, index);
            if (File.Exists(file))
            {
                jobs.Forget(e.Id, index);
                var bytes = File.ReadAllBytes(file);
                return new BinaryResult(bytes, $"{bytes.Length / 8},2");
            }
            var job = jobs.Poll(e, index, layers[index].Name, file);
            if (job.Error is { } error)
            {
                jobs.Forget(e.Id, index);
                throw error is PerceptException ? new ApiError(422, error.Message) : new ApiError(500, $"the layer map failed: {error.Message}");
            }
            var p = job.Progress;
            return Results.Json(new LayerMapJob(layers[index].Name, p.Stage, p.Fraction, Math.Round(job.Seconds, 1)), statusCode: 202);
        }).WithSummary("The map of one layer's pooled activations (?layer=NAME; little-endian float32, N × 2, turned onto the run's map), made on "
            + "first request, one at a time: until it is ready, a 202 with its stage and the share done (ask again; a map nobody asks about for a minute is dropped).");
    }

    /// <summary>
    /// The layer maps being made: one at a time (each uses every core), each dropped when nobody has asked about it for
    /// <see cref="Abandoned"/> or when the server stops; a finished one is written to its cache file before it says so.
    /// </summary>
    sealed class LayerJobs(CancellationToken stopping)
    {
        public static readonly TimeSpan Abandoned = TimeSpan.FromMinutes(1);
        readonly ConcurrentDictionary<(string, int), Lazy<LayerJob>> _jobs = new();
        /// <summary>One map at a time in the process: each uses every core.</summary>
        static readonly SemaphoreSlim One = new(1, 1);

        /// <summary>The job making this map, started when there is none (or the last one was dropped, or its file is gone).</summary>
        public LayerJob Poll(RunEntry e, int index, string layer, string file)
        {
            var key = (e.Id, index);
            for (;;)
            {
                var lazy = _jobs.GetOrAdd(key, _ => new Lazy<LayerJob>(() => LayerJob.Start(e.Run, layer, file, One, stopping)));
                var job = lazy.Value;
                if (job.Cancelled || (job.Finished && !File.Exists(file))) { _jobs.TryRemove(KeyValuePair.Create(key, lazy)); continue; }
                job.Touch();
                return job;
            }
        }

        public void Forget(string run, int index) => _jobs.TryRemove((run, index), out _);
    }

    /// <summary>A layer map being made on a worker thread.</summary>
    sealed class LayerJob
    {
        readonly Stopwatch _clock = Stopwatch.StartNew();
        CancellationTokenSource _cancel = null!;
        public LayerMapProgress Progress { get; private set; } = new("queued", 0);
        public Exception? Error { get; private set; }
        /// <summary>Set once the map is in its file.</summary>
        public bool Finished { get; private set; }
        /// <summary>Set when it was dropped (nobody asked, or the server stopped).</summary>
        public bool Cancelled { get; private set; }
        public double Seconds => _clock.Elapsed.TotalSeconds;

        /// <summary>Someone is still waiting: the job is not abandoned for another <see cref="LayerJobs.Abandoned"/>.</summary>
        public void Touch() { try { _cancel.CancelAfter(LayerJobs.Abandoned); } catch (ObjectDisposedException) { } }

        public static LayerJob Start(Run run, string layer, string file, SemaphoreSlim one, CancellationToken stopping)
        {
            var job = new LayerJob { _cancel = CancellationTokenSource.CreateLinkedTokenSource(stopping) };
            job._cancel.CancelAfter(LayerJobs.Abandoned);
            var words = Terms.Current;
            _ = Task.Run(async () =>
            {
                using var _ = words != null ? Terms.Use(words) : null;
                var ct = job._cancel.Token;
                try
                {
                    await one.WaitAsync(ct);
                    try
                    {
                        var map = LayerMaps.Map(run, layer, new Reporter(job), ct: ct);
                        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
                        Percept.IO.AtomicFile.Replace(file, tmp => File.WriteAllBytes(tmp, MemoryMarshal.AsBytes(map.Data.AsSpan()).ToArray()));
                        job.Finished = true;
                    }
                    finally { one.Release(); }
                }
                catch (OperationCanceledException) { job.Cancelled = true; }
                catch (Exception e) { job.Error = e; }
                finally { job._cancel.Dispose(); }
            }, CancellationToken.None);
            return job;
        }

        sealed class Reporter(LayerJob job) : IProgress<LayerMapProgress>
        {
            public void Report(LayerMapProgress value) => job.Progress = value;
        }
    }
}
