using System.Globalization;
using Percept.Model;

namespace Percept.Cli.Commands;

/// <summary><c>percept watch</c>: analyses each new checkpoint of a running training as the next epoch, as it appears.</summary>
public static class WatchCommand
{
    public static readonly CommandSpec Spec = new()
    {
        Name = "watch",
        Summary = "analyse each new checkpoint a training writes into a folder, as the next epoch of a training folder",
        Synopsis = ["percept watch CKPT_DIR --data DATA --out TRAINING [--max-epochs N] [analyze's options]"],
        Description = """
            Looks at CKPT_DIR every --interval seconds and analyses its *.onnx files in natural order (epoch2 before
            epoch10), each once, as the next epoch of the training folder --out (as 'percept analyze --checkpoints'
            does: one run per epoch, each map started from the previous one and aligned to it). A checkpoint is read only
            once its size has stopped changing and it parses as an ONNX model; one that still does not parse after
            --settle seconds without changing, or that ONNX Runtime cannot run, is reported and skipped, and the watch goes
            on. Stopping and starting again resumes: epochs already analysed (same file contents) are not recomputed, and
            Ctrl+C leaves every finished epoch whole.
            """,
        Arguments = new("CKPT_DIR", "the folder the training writes its checkpoints into", 1, 1),
        Options =
        [
            .. AnalyzeCommand.Spec.Options.Where(o => o.Name is not ("model" or "checkpoints" or "map-from" or "overwrite" or "shard" or "shard-count")),
            new("max-epochs", "N", "stop after N epochs of the training are analysed (for scripts and tests)", "Watch"),
            new("interval", "SECONDS", "how often to look for new checkpoints (default 1)", "Watch"),
            new("settle", "SECONDS", "how long a checkpoint that does not parse may stay unchanged before it is skipped as corrupt (default 10)", "Watch"),
            new("serve", null, "serve the dashboard from the first epoch on; each new epoch appears in open pages without a reload", "Watch"),
            new("host", "HOST", "with --serve: where to listen (default 127.0.0.1)", "Watch"),
            new("port", "PORT", "with --serve: the port (default 5080 when free, else any)", "Watch"),
        ],
        Run = Run,
    };

    public static int Run(Arguments a, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        if (a.Positional.Count != 1) throw new UsageException("name the folder the training writes its checkpoints into");
        string folder = a.Positional[0];
        if (!Directory.Exists(folder)) throw new PerceptException($"folder not found: {folder}");
        int? maxEpochs = a.GetInt("max-epochs");
        if (maxEpochs is < 1) throw new UsageException("--max-epochs must be at least 1");
        var interval = TimeSpan.FromSeconds(a.GetFloat("interval") ?? 1f);
        var settle = TimeSpan.FromSeconds(a.GetFloat("settle") ?? 10f);
        if (interval <= TimeSpan.Zero || settle < TimeSpan.Zero) throw new UsageException("--interval must be above 0 and --settle at least 0");
        var template = AnalyzeCommand.Options(a, "");
        int done = Training.IsTraining(template.OutputDirectory) ? Training.Open(template.OutputDirectory).Epochs.Count : 0;
        if (maxEpochs is int m0 && done >= m0) { stdout.WriteLine($"training {template.OutputDirectory} already has {done} epochs"); return CommandLine.Ok; }
        stdout.WriteLine($"watching {folder} for checkpoints (every {interval.TotalSeconds.ToString("G3", CultureInfo.InvariantCulture)} s; Ctrl+C to stop)");
        stdout.Flush();

        // Per file: the size and time last seen, since when it has looked like this, and whether it is finished with
        // (analysed, found already analysed, or skipped).
        Server.DashboardServer? server = null;
        try
        {
        // With --serve: the dashboard from the first analysed epoch on, then each new epoch added to it.
        void Served(TrainingManifest manifest)
        {
            if (!a.Has("serve") || manifest.Epochs.Count == 0) return;
            if (server == null)
            {
                // Live: the server gains each new epoch, so its pages listen for them (/api/status, /api/events).
                var options = new Server.DashboardOptions { Host = a.Get("host") ?? "127.0.0.1", Port = a.GetInt("port") ?? 5080, Live = true };
                server = Server.DashboardServer.StartAsync([template.OutputDirectory], options, ct).GetAwaiter().GetResult();
                stdout.WriteLine($"dashboard: {server.Url}  (new epochs appear as they are analysed; Ctrl+C to stop)");
                stdout.Flush();
            }
            else if (!server.Runs.Values.Any(r => Path.GetFullPath(r.Run.Directory) == Path.GetFullPath(Path.Combine(template.OutputDirectory, manifest.Epochs[^1].Run))))
                server.AddRun(Path.Combine(template.OutputDirectory, manifest.Epochs[^1].Run));
        }
        if (done > 0) Served(Training.Open(template.OutputDirectory));
        var seen = new Dictionary<string, (long Size, DateTime Written, DateTime Since)>(StringComparer.Ordinal);
        var finished = new Dictionary<string, (long Size, DateTime Written)>(StringComparer.Ordinal);
        while (!ct.IsCancellationRequested)
        {
            foreach (var path in Training.NaturalOrder(Directory.GetFiles(folder, "*.onnx")))
            {
                var info = new FileInfo(path);
                if (!info.Exists) continue;
                var now = DateTime.UtcNow;
                if (finished.TryGetValue(path, out var f) && f.Size == info.Length && f.Written == info.LastWriteTimeUtc) continue;
                // Still being written (or just appeared): wait for a size and time that hold over one interval; later files wait too.
                if (!seen.TryGetValue(path, out var s) || s.Size != info.Length || s.Written != info.LastWriteTimeUtc)
                {
                    seen[path] = (info.Length, info.LastWriteTimeUtc, now);
                    break;
                }
                if (now - s.Since < interval || info.Length == 0) break;
                try { OnnxModel.Load(path); }
                catch (PerceptException e)
                {
                    // A pause in the middle of a write looks like this too: only a file that stays unparseable is corrupt.
                    if (now - s.Since < settle) break;
                    stderr.WriteLine($"skipped corrupt checkpoint {Path.GetFileName(path)}: {e.Message}");
                    stderr.Flush();
                    finished[path] = (info.Length, info.LastWriteTimeUtc);
                    continue;
                }
                try
                {
                    var manifest = AnalyzeCommand.AnalyseTraining([path], template with { ModelPath = path }, stdout, stderr, ct);
                    done = manifest.Epochs.Count;
                    Served(manifest);
                }
                catch (PerceptException e) when (!ct.IsCancellationRequested)
                {
                    stderr.WriteLine($"skipped checkpoint {Path.GetFileName(path)}: {e.Message}");
                    stderr.Flush();
                }
                finished[path] = (info.Length, info.LastWriteTimeUtc);
                if (maxEpochs is int max && done >= max)
                {
                    stdout.WriteLine($"training: {template.OutputDirectory}, {done} epochs");
                    if (server != null) { stdout.WriteLine("still serving the dashboard (Ctrl+C to stop)"); stdout.Flush(); server.WaitAsync(ct).GetAwaiter().GetResult(); }
                    return CommandLine.Ok;
                }
            }
            if (ct.WaitHandle.WaitOne(interval)) break;
        }
        throw new OperationCanceledException(ct);
        }
        finally { server?.DisposeAsync().AsTask().GetAwaiter().GetResult(); }
    }
}
