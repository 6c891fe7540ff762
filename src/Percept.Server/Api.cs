using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Percept.Attribution;
using Percept.Comparison;
using Percept.Report;
using Percept.Store;

namespace Percept.Server;

public sealed record RunListItem(string Id, string Description, int Count, string Model, DateTimeOffset Created, double? Accuracy);
public sealed record MapInfo(string Method, int Dimensions, double Trustworthiness);
public sealed record RunSummary(string Id, string Description, int Count, string Model, DateTimeOffset Created, IReadOnlyList<string>? Classes,
    int NumClasses, bool HasLabels, double? Accuracy, double? MeanLoss, MapInfo? Map, IReadOnlyList<FieldInfo> Fields, IReadOnlyList<AttributionMethod> Methods,
    IReadOnlyList<string> CamLayers, IReadOnlyList<string> Runs, TextInfo? Text = null, TrainingInfo? Training = null);
/// <summary>A run of a text model: samples are token ids, shown as words.</summary>
/// <param name="Tokens">Tokens per sample (the model's sequence length).</param>
/// <param name="Vocabulary">Whether the run holds a vocabulary (without one, tokens show as <c>#id</c>).</param>
public sealed record TextInfo(int Tokens, bool Vocabulary);
/// <summary>A run that is one epoch of a training: which, and every epoch's totals (for the epoch slider and chart).</summary>
/// <param name="Runs">The run id of each epoch, in order (null where the server does not serve it).</param>
public sealed record TrainingInfo(int Epoch, IReadOnlyList<int> Epochs, IReadOnlyList<string?> Runs, IReadOnlyList<double?> Accuracy,
    IReadOnlyList<double?> MeanLoss, IReadOnlyList<double?> MeanDisplacement);
/// <summary>A sample's loss, prediction (class name) and correctness at each epoch of its training.</summary>
public sealed record SampleHistory(IReadOnlyList<float?> Loss, IReadOnlyList<string?> Prediction, IReadOnlyList<bool?> Correct);
/// <param name="Tokens">For a text run: the sample's tokens (trailing padding left out); its <see cref="Image"/> is then empty.</param>
/// <param name="History">For an epoch of a training: the sample over every epoch.</param>
public sealed record SampleDetails(int Index, string Id, Dictionary<string, object?> Values, IReadOnlyList<ClassProbability> Top, string Image,
    IReadOnlyList<string>? Tokens = null, SampleHistory? History = null);
/// <param name="Largest">The map's largest |value|: drawn at full strength on its own scale.</param>
/// <param name="Values">For a text run: one score per token (the picture's place), as many as the sample's tokens.</param>
public sealed record HeatmapTarget(string Name, string Kind, int Class, float Score, string Image, float Largest, string? Note = null, float[]? Values = null);
/// <param name="Scale"><c>own</c>: each target's map drawn to its own largest |value|; <c>shared</c>: one scale, <paramref name="SharedLargest"/>, for all.</param>
/// <param name="ColourBar">The overlays' colours from −largest (blue) through 0 to +largest (warm), as CSS colours.</param>
public sealed record Explanation(int Sample, string Method, string? Layer, double Seconds, IReadOnlyList<HeatmapTarget> Targets, string Image,
    string Scale, float SharedLargest, IReadOnlyList<string> ColourBar);
/// <param name="Tokens">For a text run: the neighbour's tokens; <paramref name="Values"/> then scores them (gradient × embedding of the cosine).</param>
public sealed record Neighbor(int Index, float Similarity, Dictionary<string, object?> Values, string Image, string Heatmap,
    IReadOnlyList<string>? Tokens = null, float[]? TokenScores = null);
/// <param name="Overlay">What the neighbours' maps show: <c>gradcam</c> (Grad-CAM of the cosine at the last convolution) or
/// <c>gradient</c> (gradient × input; for text, gradient × embedding per token).</param>
public sealed record Similar(int Sample, int K, IReadOnlyList<Neighbor> Neighbors, string Overlay);
/// <summary>What the server can do beyond the runs it serves.</summary>
/// <param name="Live">Whether it can gain runs while it serves (<c>percept watch --serve</c>): only then do pages open
/// <c>/api/events</c>.</param>
/// <param name="Compare">The two runs the page opens side by side (<c>percept serve A B --compare</c>); left out when there are none.</param>
public sealed record ServerStatus(bool Live,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<string>? Compare = null);
/// <summary>A recorded layer of a run, for the layer picker.</summary>
/// <param name="Map">Whether its map is made already (then <c>…/layers/{name}/map</c> answers at once).</param>
public sealed record LayerInfo(string Name, string Op, int Width, bool Map);
/// <summary>A layer map still being made: its stage, the share done, the seconds so far.</summary>
public sealed record LayerMapJob(string Layer, string Stage, double Fraction, double Seconds);
/// <summary>Two runs over the same samples compared (<c>/api/runs/{a}/compare/{b}</c>).</summary>
/// <param name="Categories">The change categories the per-sample column codes index.</param>
/// <param name="Counts">A's samples in each category.</param>
/// <param name="Comparison">The comparison document (docs/compare.md), as <c>percept compare --json</c> prints it.</param>
public sealed record CompareResult(string A, string B, IReadOnlyList<string> Categories, IReadOnlyList<int> Counts, float MovedBelow,
    System.Text.Json.JsonElement Comparison);

/// <summary>The dashboard's endpoints under <c>/api/</c>.</summary>
static partial class Api
{
    const int DefaultSize = 128, MaxSize = 512, MaxK = 200;

    /// <summary>The sizes pictures are drawn at: a request is served at the first one at least as large (the browser scales it), so
    /// a sample has a handful of cached pictures, not one per size asked for.</summary>
    internal static readonly int[] Sizes = [32, 64, 96, 128, 192, 256, 384, 512];

    static int Snap(int size) => Sizes.First(s => s >= size);

    /// <summary>The names the API gives <see cref="SimilarityOverlay"/>'s values (<c>overlay=</c>).</summary>
    internal const string GradCamOverlay = "gradcam", GradientOverlay = "gradient";

    static string OverlayName(SimilarityOverlay overlay) => overlay == SimilarityOverlay.GradCam ? GradCamOverlay : GradientOverlay;

    public static void Map(WebApplication app, RunCollection runs, bool live, IReadOnlyList<string>? compare = null)
    {
        RunEntry Find(string run) => runs.TryGetValue(run, out var e) ? e : throw new ApiError(404, $"unknown run '{run}' (runs: {string.Join(", ", runs.Keys)})");
        int Sample(RunEntry e, string text)
        {
            if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int i)) throw new ApiError(400, $"sample must be a non-negative integer, not '{text}'");
            if (i >= e.Run.Count) throw new ApiError(404, $"sample {i} is out of range: run '{e.Id}' has {e.Run.Count} samples (0 to {e.Run.Count - 1})");
            return i;
        }
        int IntQuery(HttpContext c, string name, int fallback, int min, int max)
        {
            if (!c.Request.Query.TryGetValue(name, out var v)) return fallback;
            if (!int.TryParse(v.ToString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) || n < min || n > max)
                throw new ApiError(400, $"'{name}' must be an integer from {min} to {max}, not '{v}'");
            return n;
        }
        AttributionMethod Method(HttpContext c, RunEntry e)
        {
            string m = c.Request.Query["method"].ToString() is { Length: > 0 } s ? s
                : e.ClassMeanMaps ? Methods(e)[0].Name
                : e.Run.Manifest.Text != null ? AttributionMethods.Saliency.Name : AttributionMethods.GradCam.Name;
            var method = AttributionMethods.Find(m) ?? throw new ApiError(400, AttributionMethods.UnknownMethod(m));
            if (e.Run.Manifest.Text != null && !Methods(e).Contains(method))
                throw new ApiError(422, $"{method.Label} does not apply to a text model; use {string.Join(", ", Methods(e).Select(x => x.Name))} (taken at the embedding output)");
            return method;
        }
        bool SharedScale(HttpContext c) => c.Request.Query["scale"].ToString() switch
        {
            "" or "own" => false,
            "shared" => true,
            var other => throw new ApiError(400, $"'scale' takes own or shared, not '{other}'"),
        };
        // Fetch Similar's maps: Grad-CAM where the perception vectors depend on a convolution (an image model), gradient × input otherwise.
        SimilarityOverlay Overlay(HttpContext c, RunEntry e)
        {
            bool cam = e.SimilarityCamLayer != null;
            return c.Request.Query["overlay"].ToString() switch
            {
                "" => cam ? SimilarityOverlay.GradCam : SimilarityOverlay.Gradient,
                GradientOverlay => SimilarityOverlay.Gradient,
                GradCamOverlay when cam => SimilarityOverlay.GradCam,
                GradCamOverlay => throw new ApiError(422, e.Run.Manifest.Text != null
                    ? "Grad-CAM reads a layer with two spatial axes, which a text model does not have; use overlay=gradient"
                    : "the run's perception vectors depend on no convolutional layer for Grad-CAM; use overlay=gradient"),
                var other => throw new ApiError(400, $"'overlay' takes {GradCamOverlay} or {GradientOverlay}, not '{other}'"),
            };
        }
        string? Layer(HttpContext c, RunEntry e, AttributionMethod method)
        {
            if (!method.NeedsLayer) return null;
            string? layer = c.Request.Query["layer"].ToString() is { Length: > 0 } s ? s : null;
            var cam = e.CamLayers;
            if (layer != null && !cam.Contains(layer)) throw new ApiError(400, $"layer '{layer}' is not a convolutional layer of this model ({string.Join(", ", cam)})");
            return layer ?? (cam.Count > 0 ? cam[^1] : null) ?? throw new ApiError(422, "the model has no convolutional layer for Grad-CAM; pick another method");
        }

        var api = app.MapGroup("/api");
        api.MapGet("/status", () => new ServerStatus(live, compare))
            .WithSummary("What the server can do: live (it can gain runs while it serves, as under percept watch --serve; "
                + "only then is /api/events worth opening), and the two runs to open side by side (percept serve A B --compare).");
        MapComparisons(api, Find);
        MapLayers(api, Find, app.Lifetime.ApplicationStopping);
        api.MapGet("/events", async (HttpContext c) =>
        {
            // Server-sent events: "run" with a run's id each time the server starts serving one (a training's new epoch).
            c.Response.ContentType = "text/event-stream";
            c.Response.Headers.CacheControl = "no-cache";
            var added = System.Threading.Channels.Channel.CreateUnbounded<string>();
            void Hear(string id) => added.Writer.TryWrite(id);
            runs.Added += Hear;
            try
            {
                await c.Response.WriteAsync(": percept\n\n", c.RequestAborted);
                await c.Response.Body.FlushAsync(c.RequestAborted);
                await foreach (var id in added.Reader.ReadAllAsync(c.RequestAborted))
                {
                    await c.Response.WriteAsync($"event: run\ndata: {id}\n\n", c.RequestAborted);
                    await c.Response.Body.FlushAsync(c.RequestAborted);
                }
            }
            catch (OperationCanceledException) { }
            finally { runs.Added -= Hear; }
        }).WithSummary("Server-sent events: 'run' (data: its id) whenever the server starts serving another run, such as a training's new epoch.");
        api.MapGet("/runs", () => runs.Values.Select(e => new RunListItem(e.Id, e.Run.Manifest.Data.Description, e.Run.Count,
            Path.GetFileName(e.Run.Manifest.Model.Path), e.Run.Manifest.Created, e.Run.Manifest.Summary?.Accuracy)).ToArray())
            .WithSummary("The runs this server serves.");

        api.MapGet("/runs/{run}", (string run) =>
        {
            var e = Find(run);
            var m = e.Run.Manifest;
            return new RunSummary(e.Id, m.Data.Description, e.Run.Count, Path.GetFileName(m.Model.Path), m.Created, m.Classes, m.NumClasses, m.Data.HasLabels,
                m.Summary?.Accuracy, m.Summary?.MeanLoss, m.Map is { } map ? new MapInfo(map.Method, map.Dimensions, map.Trustworthiness) : null, e.Reader.Fields,
                Methods(e), e.CamLayers, runs.Keys.Where(k => runs[k].Run.Count == e.Run.Count).ToArray(),
                m.Text is { } text ? new TextInfo(text.Tokens, text.Vocabulary) : null, TrainingOf(e, runs));
        }).WithSummary("A run: its classes, its map, the fields the map can be coloured by, the explanation methods and layers.");

        api.MapGet("/runs/{run}/map", (string run) =>
        {
            var e = Find(run);
            var map = e.Reader.Map(out int dims) ?? throw new ApiError(404, $"run '{e.Id}' has no map (it was analysed with --map none)");
            return Binary(map, e.Run.Count, dims);
        }).WithSummary("The map's coordinates: little-endian float32, N × dimensions, row-major (header X-Percept-Shape).");

        api.MapGet("/runs/{run}/columns/{field}", (string run, string field) =>
        {
            var e = Find(run);
            try { return Binary(e.Reader.Column(field), e.Run.Count, 1); }
            catch (KeyNotFoundException ex) { throw new ApiError(404, ex.Message); }
        }).WithSummary("One field as little-endian float32 per sample: the value, or the category's index into the field's categories; NaN for null.");

        api.MapGet("/runs/{run}/ids", (string run) =>
        {
            var e = Find(run);
            return Results.Text(string.Join('\n', e.Reader.Ids()), "text/plain; charset=utf-8");
        }).WithSummary("Every sample's id, one per line, in dataset order (for exporting selections).");

        api.MapGet("/runs/{run}/insights", (string run) =>
        {
            var e = Find(run);
            string json = Percept.Insights.InsightsStore.ReadJson(e.Run)
                ?? throw new ApiError(404, $"run '{e.Id}' has no insights yet: 'percept insights RUN' computes them");
            return Results.Text(json, "application/json; charset=utf-8");
        }).WithSummary("The run's insights (docs/insights.md): class proximity, the cards with their samples, and notes; its per-sample scores are fields.");

        api.MapGet("/runs/{run}/samples/{sample}", (string run, string sample) =>
        {
            var e = Find(run);
            int i = Sample(e, sample);
            return Details(e, i);
        }).WithSummary("One sample: its row of the samples table and its top-5 class probabilities.");

        api.MapGet("/runs/{run}/samples/{sample}/image.png", (HttpContext c, string run, string sample) =>
        {
            var e = Find(run);
            int i = Sample(e, sample);
            int size = Snap(IntQuery(c, "size", DefaultSize, 8, MaxSize));
            NotText(e);
            return Png(e, Path.Combine("thumbnails", $"{i}-{size}.png"), () => { var (x, shape) = e.Reader.Input(i); return Images.Thumbnail(x, shape, size, e.Run.Manifest.Source?.Preprocess.Color == Percept.Data.ColorMode.Bgr); });
        }).WithSummary("The sample as the model saw it, as a PNG (size = pixels on the longer side, default 112).");

        // The run, sample, method and layer of a heat-map request, each checked.
        (RunEntry Entry, int Sample, AttributionMethod Method, string? Layer) HeatmapRequest(HttpContext c, string run, string sample)
        {
            var e = Find(run);
            Explainable(e);
            var method = Method(c, e);
            return (e, Sample(e, sample), method, Layer(c, e, method));
        }

        api.MapGet("/runs/{run}/samples/{sample}/explain", (HttpContext c, string run, string sample) =>
        {
            var (e, i, method, layer) = HeatmapRequest(c, run, sample);
            bool shared = SharedScale(c);
            var sw = Stopwatch.StartNew();
            var ex = Explain(e, i, method, layer);
            string query = $"method={method.Name}{(layer != null ? $"&layer={Uri.EscapeDataString(layer)}" : "")}{(shared ? "&scale=shared" : "")}";
            var classes = e.Run.Manifest.Classes;
            int plane = ex.Result.Height * ex.Result.Width;
            // Text: the scores of the sample's tokens (padding after them left out) instead of pictures.
            int tokens = e.Run.Manifest.Text != null ? e.Reader.Tokens(i)!.Count : 0;
            bool text = e.Run.Manifest.Text != null;
            var largest = ex.Result.Targets.Select((_, k) => Images.LargestMagnitude(ex.Result.Maps.AsSpan(k * plane, text ? tokens : plane))).ToArray();
            return new Explanation(i, method.Name, ex.Layer, sw.Elapsed.TotalSeconds,
                ex.Result.Targets.Select((t, k) => new HeatmapTarget(t.Kind == "loss" ? "Loss" : t.Name(classes), t.Kind, t.Class, ex.Result.Scores[k],
                    text ? "" : $"/api/runs/{Uri.EscapeDataString(e.Id)}/samples/{i}/heatmap.png?{query}&target={k}", largest[k], ex.Result.Notes?[k],
                    text ? ex.Result.Maps.AsSpan(k * plane, tokens).ToArray() : null)).ToArray(),
                text ? "" : $"/api/runs/{Uri.EscapeDataString(e.Id)}/samples/{i}/image.png", shared ? "shared" : "own",
                text ? largest.DefaultIfEmpty(0).Max() : SharedLargest(ex), Images.ColourBar());
        }).WithSummary("Heat maps of a sample for every class and the loss (computed on first request, then cached in the run's cache/ folder).");

        api.MapGet("/runs/{run}/samples/{sample}/heatmap.png", (HttpContext c, string run, string sample) =>
        {
            var (e, i, method, layer) = HeatmapRequest(c, run, sample);
            bool shared = SharedScale(c);
            int size = Snap(IntQuery(c, "size", DefaultSize, 8, MaxSize));
            int target = IntQuery(c, "target", 0, 0, int.MaxValue);
            NotText(e);
            var ex = Explain(e, i, method, layer);
            if (target >= ex.Result.Targets.Count) throw new ApiError(404, $"target {target} is out of range (0 to {ex.Result.Targets.Count - 1})");
            int plane = ex.Result.Height * ex.Result.Width;
            return Png(e, Path.Combine("heatmaps", $"{i}-{method.Name}-{Safe(layer)}-{target}-{size}{(shared ? "-shared" : "")}.png"), () => Images.Overlay(ex.Result.Maps.AsSpan(target * plane, plane), ex.Result.Height, ex.Result.Width, size, shared ? SharedLargest(ex) : null));
        }).WithSummary("One target's heat map as a transparent PNG overlay (warm: supports the target; blue: works against it), scaled to its own largest |value| or, with scale=shared, to the largest over all targets of the sample.");

        api.MapGet("/runs/{run}/samples/{sample}/similar", (HttpContext c, string run, string sample) =>
        {
            var e = Find(run);
            int i = Sample(e, sample);
            int k = IntQuery(c, "k", 12, 1, Math.Min(MaxK, e.Run.Count - 1));
            var overlay = Overlay(c, e);
            string overlayName = OverlayName(overlay);
            var best = e.Nearest(i, k);
            string id = Uri.EscapeDataString(e.Id);
            var rows = e.Reader.Brief(best.Select(b => b.Index).ToArray());
            if (e.Run.Manifest.Text != null)
                // Text: each neighbour's words, scored by what makes it like the sample (the similarity map, one value per token).
                return new Similar(i, k, best.Select(b =>
                {
                    var words = e.Reader.Tokens(b.Index)!;
                    float[]? scores = null;
                    try { scores = e.Similarity(i, b.Index).Maps.Maps.AsSpan(words.Count == 0 ? 0 : e.Run.Manifest.Text.Tokens, words.Count).ToArray(); }
                    catch (PerceptException) { } // a run without mean pooling or whose model moved: words without scores
                    return new Neighbor(b.Index, b.Similarity, rows[b.Index], "", "", words, scores);
                }).ToArray(), overlayName);
            return new Similar(i, k, best.Select(b => new Neighbor(b.Index, b.Similarity, rows[b.Index], $"/api/runs/{id}/samples/{b.Index}/image.png",
                $"/api/runs/{id}/samples/{i}/similar/{b.Index}.png?overlay={overlayName}")).ToArray(), overlayName);
        }).WithSummary("The k samples nearest in perception space (cosine similarity of perception vectors), most similar first; "
            + "overlay=gradcam|gradient picks what their maps show (default: gradcam for an image model with a convolutional layer, else gradient).");

        api.MapGet("/runs/{run}/samples/{sample}/similar/{other}.png", (HttpContext c, string run, string sample, string other) =>
        {
            var e = Find(run);
            int i = Sample(e, sample), j = Sample(e, other);
            int size = Snap(IntQuery(c, "size", DefaultSize, 8, MaxSize));
            NotText(e);
            var overlay = Overlay(c, e);
            string name = OverlayName(overlay);
            return Png(e, Path.Combine("similar", $"{i}-{j}-{name}-{size}.png"), () =>
            {
                // Only the neighbour's map is drawn: computed alone, it costs half the backward passes.
                var map = e.SimilarityOf(i, j, overlay);
                return Images.Overlay(map.Maps, map.Height, map.Width, size);
            });
        }).WithSummary("What in sample `other` makes the model see it as like `sample`, as an overlay: overlay=gradcam, Grad-CAM of their "
            + "perception vectors' cosine at the last convolutional layer (the default where there is one), or overlay=gradient, gradient × input of the cosine.");
    }

    /// <summary>Pictures are for images: a text run's samples, heat maps and similarity come as tokens and scores in the JSON answers.</summary>
    static void NotText(RunEntry e)
    {
        if (e.Run.Manifest.Text != null)
            throw new ApiError(422, "this run's samples are token ids (a text model): their words and scores are in the sample, explain and similar answers, not in pictures");
    }

    /// <summary>The methods the run's model can use: class-score methods for classifiers, for text models those taken at the embedding
    /// output, and for a model without class scores those of the similarity to each class's mean.</summary>
    static IReadOnlyList<AttributionMethod> Methods(RunEntry e)
    {
        // A model without class scores: the similarity to each class's mean, by Grad-CAM where its vectors read a convolution, else gradient × input.
        if (e.ClassMeanMaps)
            return e.CamLayers.Count > 0 ? [AttributionMethods.GradCam, AttributionMethods.GradientTimesInput] : [AttributionMethods.GradientTimesInput];
        var all = AttributionMethods.For(e.Run.Manifest.NumClasses >= 2);
        return e.Run.Manifest.Text != null ? all.Where(m => m.NeedsGradients && !m.NeedsLayer).ToArray() : all;
    }

    static string Safe(string? s) => s == null ? "-" : string.Concat(s.Select(ch => char.IsLetterOrDigit(ch) || ch is '_' or '.' ? ch : '_'));

    /// <summary>The largest |value| over every target's map of one explanation: the shared scale.</summary>
    static float SharedLargest((AttributionResult Result, string? Layer) ex) => Images.LargestMagnitude(ex.Result.Maps);

    /// <summary>Refuses heat maps of a run that has nothing to explain: no class scores, and no labelled classes whose means could stand in.</summary>
    static void Explainable(RunEntry e)
    {
        if (e.Run.Manifest.NumClasses < 2 && !e.ClassMeanMaps)
            throw new ApiError(422, e.Run.Manifest.Data.HasLabels
                ? "this run's model does not output class scores, and its perception vectors are not mean-pooled, so no class has a mean to compare with"
                : "this run's model does not output class scores and the run has no labels; there is no class to explain (Fetch Similar compares samples)");
    }

    static (AttributionResult Result, string? Layer) Explain(RunEntry e, int sample, AttributionMethod method, string? layer)
    {
        Explainable(e);
        if (!Methods(e).Contains(method))
            throw new ApiError(422, e.ClassMeanMaps
                ? $"{method.Label} does not apply to a model without class scores; use {string.Join(", ", Methods(e).Select(m => m.Name))} (of the similarity to each class's mean)"
                : $"{method.Label} does not apply to a text model; use {string.Join(", ", Methods(e).Select(m => m.Name))} (taken at the embedding output)");
        return e.Heatmaps(sample, method.Name, layer);
    }

    internal static IResult Binary(float[] values, int rows, int columns)
    {
        var bytes = MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
        return new BinaryResult(bytes, $"{rows},{columns}");
    }

    static IResult Png(RunEntry e, string relative, Func<byte[]> make) => Results.Bytes(e.Cache.GetOrAdd(relative, make), "image/png");

    /// <summary>The training a run is an epoch of, with the ids under which the server serves its epochs.</summary>
    static TrainingInfo? TrainingOf(RunEntry e, IReadOnlyDictionary<string, RunEntry> runs)
    {
        if (e.TrainingDirectory is not { } root) return null;
        var m = Training.Open(root);
        string? Id(EpochEntry x) => runs.Values.FirstOrDefault(r => Path.GetFullPath(r.Run.Directory) == Path.GetFullPath(Path.Combine(root, x.Run)))?.Id;
        var mine = m.Epochs.First(x => Path.GetFullPath(Path.Combine(root, x.Run)) == Path.GetFullPath(e.Run.Directory));
        return new TrainingInfo(mine.Epoch, m.Epochs.Select(x => x.Epoch).ToArray(), m.Epochs.Select(Id).ToArray(), m.Epochs.Select(x => x.Accuracy).ToArray(),
            m.Epochs.Select(x => x.MeanLoss).ToArray(), m.Epochs.Select(x => x.MeanDisplacement).ToArray());
    }

    static SampleDetails Details(RunEntry e, int i)
    {
        var values = e.Reader.Rows([i])[i];
        var tokens = e.Reader.Tokens(i);
        SampleHistory? history = null;
        if (e.History(i) is { } h)
        {
            var classes = e.Reader.ClassNames;
            history = new SampleHistory(h.Loss.Select(v => float.IsNaN(v) ? (float?)null : v).ToArray(),
                h.Prediction.Select(v => v < 0 ? null : (int)v < classes.Count ? classes[(int)v] : ((int)v).ToString(CultureInfo.InvariantCulture)).ToArray(),
                h.Correct.Select(v => float.IsNaN(v) ? (bool?)null : v == 1).ToArray());
        }
        return new SampleDetails(i, values.GetValueOrDefault("id")?.ToString() ?? i.ToString(CultureInfo.InvariantCulture), values, e.Reader.TopClasses(i),
            tokens != null ? "" : $"/api/runs/{Uri.EscapeDataString(e.Id)}/samples/{i}/image.png", tokens, history);
    }

    /// <summary>Raw bytes with their shape in a header, so the browser can view them as a Float32Array without parsing.</summary>
    internal sealed class BinaryResult(byte[] bytes, string shape) : IResult
    {
        public Task ExecuteAsync(HttpContext context)
        {
            context.Response.ContentType = "application/octet-stream";
            context.Response.Headers["X-Percept-Shape"] = shape;
            context.Response.Headers.CacheControl = "no-cache";
            context.Response.ContentLength = bytes.Length;
            return context.Response.Body.WriteAsync(bytes).AsTask();
        }
    }
}
