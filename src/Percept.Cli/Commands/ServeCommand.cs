using Percept.Server;

namespace Percept.Cli.Commands;

/// <summary><c>percept serve</c>: the dashboard over one or more runs.</summary>
public static class ServeCommand
{
    public static readonly CommandSpec Spec = new()
    {
        Name = "serve",
        Summary = "the web dashboard over one or more runs",
        Synopsis = ["percept serve RUN [RUN ...] [--host HOST] [--port PORT] [--model MODEL.onnx] [--data DATA] [--compare]"],
        Description = """
            Serves the dashboard for the runs (several runs of the same data, e.g. one per epoch, get a checkpoint
            selector) and prints its address; Ctrl+C stops it. --compare opens the first run and the last side by side
            (two runs of the same samples; for a training, its first epoch and its last): the two maps linked, each
            sample coloured by what changed (fixed, broken, moved, unchanged). The API is documented at
            /api/openapi/v1.json.
            """,
        Arguments = new("RUN", "run folders", 1, int.MaxValue),
        Options =
        [
            new("host", "HOST", "where to listen (default 127.0.0.1: this machine only; 0.0.0.0: every interface)"),
            new("port", "PORT", "the port (default 5080 when free, else any; 0 picks a free one)"),
            new("model", "MODEL.onnx", "where the run's model is now, when it moved (checked against its fingerprint)"),
            new("data", "DATA", "where the run's data are now, when they moved (labels and class names beside them)"),
            new("compare", null, "open the first run and the last side by side, linked, coloured by what changed"),
        ],
        Run = Run,
    };

    public static int Run(Arguments a, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        if (a.Positional.Count == 0) throw new UsageException("name the run to serve (a folder made by 'percept analyze')");
        int? port = a.GetInt("port");
        if (port is < 0 or > 65535) throw new UsageException("--port must be from 0 to 65535");
        if (a.Has("model") && (a.Positional.Count > 1 || Training.IsTraining(a.Positional[0])))
            throw new UsageException("--model points at one run's model; serve one run with it (a training's epochs each have their checkpoint)");
        Serve(a.Positional, a.Get("host") ?? "127.0.0.1", port, stdout, stderr, ct, new Store.RunLocations(a.Get("model"), a.Get("data")), a.Has("compare"));
        return CommandLine.Ok;
    }

    /// <summary>Starts the dashboard, prints its address and waits for Ctrl+C.</summary>
    internal static void Serve(IReadOnlyList<string> runs, string host, int? port, TextWriter stdout, TextWriter stderr, CancellationToken ct,
        Store.RunLocations? locations = null, bool compare = false)
    {
        DashboardServer server;
        try { server = DashboardServer.StartAsync(runs, new DashboardOptions { Host = host, Port = port ?? 5080, Locations = locations, Compare = compare }, ct).GetAwaiter().GetResult(); }
        catch (PerceptException e) when (port == null && e.InnerException is IOException)
        {
            // 5080 is taken: any free port.
            server = DashboardServer.StartAsync(runs, new DashboardOptions { Host = host, Port = 0, Locations = locations, Compare = compare }, ct).GetAwaiter().GetResult();
        }
        using var _ = new Disposer(server);
        if (!server.IsLoopback)
            stderr.WriteLine($"warning: listening on {server.ListenAddress}, not only on this machine: the dashboard has no authentication, so anyone who can reach this address can read the runs and their data");
        stdout.WriteLine(server.IsLoopback ? $"dashboard: {server.Url}  (Ctrl+C to stop)" : $"dashboard: {server.ListenAddress} (from this machine: {server.Url})  (Ctrl+C to stop)");
        stdout.Flush();
        server.WaitAsync(ct).GetAwaiter().GetResult();
    }

    sealed class Disposer(DashboardServer server) : IDisposable
    {
        public void Dispose() => server.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }
}
