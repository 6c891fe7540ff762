using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Logging;
using Percept.Store;

namespace Percept.Server;

/// <summary>Where and how the dashboard listens.</summary>
public sealed record DashboardOptions
{
    /// <summary>Interface to bind; loopback by default, so the dashboard is reachable from this machine only.</summary>
    public string Host { get; init; } = "127.0.0.1";
    /// <summary>Port; 0 picks a free one.</summary>
    public int Port { get; init; }
    /// <summary>The built front end; default: <c>wwwroot</c> next to the assembly.</summary>
    public string? WebRoot { get; init; }
    /// <summary>Bytes of drawn pictures (thumbnails, heat maps) kept in each run's cache folder.</summary>
    public long CacheBytes { get; init; } = RunEntry.DefaultCacheBytes;
    /// <summary>Where the runs' model and data are now, when they moved since the analysis (null: where they were).</summary>
    public RunLocations? Locations { get; init; }
    /// <summary>How errors name options and commands (the command line's flags when it starts the server); null: those in use where the server starts.</summary>
    public Terms.IVocabulary? Vocabulary { get; init; }
    /// <summary>
    /// Whether the server gains runs while it serves (<c>percept watch --serve</c> adds each new epoch with
    /// <see cref="DashboardServer.AddRun"/>). <c>/api/status</c> tells pages, which open the event stream only then (an open
    /// stream keeps a headless browser's virtual time from running out).
    /// </summary>
    public bool Live { get; init; }
    /// <summary>
    /// Open the page comparing the first run served with the last (<c>percept serve A B --compare</c>; for a training,
    /// its first epoch with its last). <c>/api/status</c> names the two.
    /// </summary>
    public bool Compare { get; init; }
}

/// <summary>
/// The dashboard's server: one process serving a JSON + binary API under <c>/api/</c> over one or more runs, and the
/// built front end as static files. Every user mistake (unknown run, sample out of range, malformed query) is a 4xx
/// with a JSON <c>{"error": …}</c>; no URL reaches a file outside the run or the front end.
/// </summary>
public sealed class DashboardServer : IAsyncDisposable
{
    readonly WebApplication _app;
    readonly RunCollection _runs;
    readonly long _cacheBytes;

    public Uri Url { get; }
    public IReadOnlyDictionary<string, RunEntry> Runs => _runs;

    /// <summary>The address it listens on, as bound (0.0.0.0 or :: for every interface).</summary>
    public string ListenAddress { get; private init; } = "";

    /// <summary>Whether only this machine can reach it (a loopback address).</summary>
    public bool IsLoopback { get; private init; }

    DashboardServer(WebApplication app, RunCollection runs, Uri url, long cacheBytes, RunLocations? locations, bool live)
    {
        _app = app; _runs = runs; Url = url; _cacheBytes = cacheBytes; _locations = locations; Live = live;
    }

    /// <summary>
    /// Whether it was started to gain runs while it serves (<see cref="DashboardOptions.Live"/>); only then may
    /// <see cref="AddRun"/> be called.
    /// </summary>
    public bool Live { get; }

    readonly RunLocations? _locations;

    /// <summary>
    /// Serves one more run (a training's new epoch while <c>percept watch --serve</c> runs); pages that are open hear of it
    /// through <c>/api/events</c> and offer it without a reload. Returns its id.
    /// </summary>
    /// <exception cref="PerceptException">The folder is not a complete run.</exception>
    /// <exception cref="InvalidOperationException">The server was not started <see cref="DashboardOptions.Live"/>: its pages do not
    /// listen for new runs.</exception>
    public string AddRun(string directory)
    {
        if (!Live)
            throw new InvalidOperationException("this server was not started live (DashboardOptions.Live): its pages do not listen for new runs");
        var run = Run.Open(directory, _locations);
        return _runs.Add(Path.GetFileName(run.Directory), id => new RunEntry(id, run, _cacheBytes));
    }

    /// <summary>The address <paramref name="host"/> names: an IP address as written, else the name resolved (IPv4 first).</summary>
    /// <exception cref="PerceptException">A name that does not resolve.</exception>
    static System.Net.IPAddress Resolve(string host)
    {
        if (System.Net.IPAddress.TryParse(host.Trim('[', ']'), out var ip)) return ip;
        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase)) return System.Net.IPAddress.Loopback;
        try
        {
            var all = System.Net.Dns.GetHostAddresses(host);
            return all.FirstOrDefault(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork) ?? all.FirstOrDefault()
                ?? throw new PerceptException($"--host {host} names no address");
        }
        catch (System.Net.Sockets.SocketException e) { throw new PerceptException($"--host {host} cannot be resolved: {e.Message}"); }
        catch (ArgumentException e) { throw new PerceptException($"--host {host} is not a host name: {e.Message}"); }
    }

    /// <summary>Opens the runs and starts listening; the returned server runs until disposed.</summary>
    /// <exception cref="PerceptException">A folder is not a complete run, or no front end was built.</exception>
    public static async Task<DashboardServer> StartAsync(IEnumerable<string> runDirectories, DashboardOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new DashboardOptions();
        var runs = new RunCollection();
        try
        {
            // A training folder (percept analyze --checkpoints) is served as its epochs, in order.
            var expanded = runDirectories.SelectMany(d => Training.IsTraining(d)
                ? Training.Open(d).Epochs.Select(e => Path.Combine(d, e.Run)) : [d]);
            foreach (var dir in expanded)
            {
                var run = Run.Open(dir, options.Locations);
                // A place the user pointed at is checked now: a wrong file is a mistake to say before serving. (Unpointed
                // files are fingerprinted when first needed, not at start.)
                if (options.Locations is { Model: not null } or { Data: not null })
                    foreach (var pointed in run.Sources.Where(s => s.Problem != null && (s.Role == "model" ? options.Locations.Model : options.Locations.Data) != null))
                        throw new PerceptException(pointed.Problem!);
                runs.Add(Path.GetFileName(run.Directory), id => new RunEntry(id, run, options.CacheBytes));
            }
            if (runs.Count == 0) throw new PerceptException("no run to serve");
            if (options.Compare && runs.Count < 2) throw new PerceptException("comparing needs two runs (or a training of two epochs or more)");
            string webRoot = Path.GetFullPath(options.WebRoot ?? Path.Combine(AppContext.BaseDirectory, "wwwroot"));
            if (!File.Exists(Path.Combine(webRoot, "index.html")))
                throw new PerceptException($"the dashboard's front end is not built ({webRoot} has no index.html); build Percept with Node.js and npm installed");

            var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory, WebRootPath = webRoot });
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            // A port in use is reported once, as a PerceptException, not as the host's stack trace.
            builder.Logging.AddFilter("Microsoft.Extensions.Hosting", LogLevel.None);
            // Kestrel binds a name other than localhost to every interface; bind the address it resolves to instead.
            var ip = Resolve(options.Host);
            string bound = ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{ip}]" : ip.ToString();
            builder.WebHost.UseUrls($"http://{bound}:{options.Port}");
            builder.Services.AddOpenApi("v1");
            builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals);
            var app = builder.Build();
            // Requests run on the server's threads: the words of whoever started it go with each.
            var words = options.Vocabulary ?? Terms.Current;
            app.Use(async (context, next) =>
            {
                using var _ = words != null ? Terms.Use(words) : null;
                try { await next(context); }
                catch (ApiError e) when (!context.Response.HasStarted) { await Error(e.Status, e.Message).ExecuteAsync(context); }
                catch (PerceptException e) when (!context.Response.HasStarted) { await Error(422, e.Message).ExecuteAsync(context); }
            });
            var files = new PhysicalFileProvider(webRoot);
            app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files });
            app.UseStaticFiles(new StaticFileOptions { FileProvider = files });
            app.MapOpenApi("/api/openapi/{documentName}.json");
            Api.Map(app, runs, options.Live, options.Compare ? [runs.Keys.First(), runs.Keys.Last()] : null);
            app.MapFallback("/api/{**rest}", () => Error(404, "no such API endpoint (see /api/openapi/v1.json)"));
            app.MapFallbackToFile("index.html", new StaticFileOptions { FileProvider = files });
            try { await app.StartAsync(cancellationToken); }
            catch (IOException e)
            {
                await app.DisposeAsync();
                bool inUse = e.InnerException is System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.AddressAlreadyInUse } || e.Message.Contains("already in use", StringComparison.OrdinalIgnoreCase);
                throw new PerceptException($"cannot listen on {options.Host}:{options.Port}: {(e.InnerException ?? e).Message.Split('\n')[0]}{(inUse ? " (choose another --port)" : " (is it an address of this machine?)")}", e);
            }
            catch (System.Net.Sockets.SocketException e)
            {
                await app.DisposeAsync();
                throw new PerceptException($"cannot listen on {options.Host}:{options.Port}: {e.Message} (is it an address of this machine?)", e);
            }
            var address = app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            var url = new Uri(address.Replace("[::]", "localhost").Replace("0.0.0.0", "localhost"));
            return new DashboardServer(app, runs, url, options.CacheBytes, options.Locations, options.Live)
            {
                ListenAddress = address,
                IsLoopback = System.Net.IPAddress.IsLoopback(ip),
            };
        }
        catch
        {
            foreach (var r in runs.Values) r.Dispose();
            throw;
        }
    }

    /// <summary>Waits until the server stops, or <paramref name="cancellationToken"/> is cancelled (Ctrl+C on the command line).</summary>
    public async Task WaitAsync(CancellationToken cancellationToken)
    {
        using var either = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _app.Lifetime.ApplicationStopping);
        try { await Task.Delay(Timeout.Infinite, either.Token); }
        catch (OperationCanceledException) { }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        foreach (var r in _runs.Values) r.Dispose();
    }

    internal static IResult Error(int status, string message) => Results.Json(new ErrorBody(message), statusCode: status);
}

/// <summary>The body of every 4xx answer.</summary>
public sealed record ErrorBody(string Error);

/// <summary>A user's mistake, answered with its status and message.</summary>
sealed class ApiError(int status, string message) : Exception(message)
{
    public int Status { get; } = status;
}
