using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Percept.Neighbors;
using Percept.Perception;
using Percept.Report;
using Percept.Store;
using SkiaSharp;

namespace Percept.Server;

/// <summary>
/// <c>percept report</c>: the dashboard as one self-contained HTML file — the built front end inlined, the map and
/// every field embedded as base64 float32, thumbnails in one atlas image (WebP), and each sample's nearest neighbours in
/// perception space precomputed. No server and no network are needed to open it; heat maps (computed on demand by the
/// server) are not in it.
/// </summary>
public static partial class ReportWriter
{
    /// <summary>Above this many samples the report carries no thumbnails (the atlas would be too large to embed).</summary>
    public const int MaxThumbnails = 100_000;
    const int Neighbors = 12;
    // As the server writes them: a figure that could not be measured (a NaN trustworthiness on a tiny set) is "NaN", not a failure.
    static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web) { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    [GeneratedRegex("<script type=\"module\" crossorigin src=\"\\./(assets/[^\"]+\\.js)\"></script>")] private static partial Regex ScriptTag();
    [GeneratedRegex("<link rel=\"stylesheet\" crossorigin href=\"\\./(assets/[^\"]+\\.css)\">")] private static partial Regex StyleTag();

    /// <summary>Writes the report of <paramref name="runDirectory"/> to <paramref name="outPath"/>; returns its size in bytes.</summary>
    /// <exception cref="PerceptException">Not a run, a run without a map, or no built front end.</exception>
    /// <exception cref="OperationCanceledException">
    /// <paramref name="cancellationToken"/> was cancelled (checked in the neighbour table and the thumbnail atlas); nothing is written.
    /// </exception>
    /// <param name="locations">Where the run's model and data are now, when they moved (the thumbnails read the data).</param>
    public static long Write(string runDirectory, string outPath, string? webRoot = null, Action<string>? log = null,
        RunLocations? locations = null, CancellationToken cancellationToken = default)
    {
        var run = Run.Open(runDirectory, locations);
        if (run.Manifest.Map == null) throw new PerceptException($"run {runDirectory} has no map (analyse it with --map umap, pca or tsne)");
        webRoot = Path.GetFullPath(webRoot ?? Path.Combine(AppContext.BaseDirectory, "wwwroot"));
        string indexPath = Path.Combine(webRoot, "index.html");
        if (!File.Exists(indexPath)) throw new PerceptException($"the dashboard's front end is not built ({webRoot} has no index.html)");
        string html = File.ReadAllText(indexPath);

        // The page around the data: the stylesheet inlined, the script tag where the data and the bundle go.
        html = StyleTag().Replace(html, match => $"<style>{File.ReadAllText(Path.Combine(webRoot, match.Groups[1].Value))}</style>");
        var script = ScriptTag().Match(html);
        if (!script.Success) throw new PerceptException($"{indexPath} does not load a script bundle the report can inline");
        string js = File.ReadAllText(Path.Combine(webRoot, script.Groups[1].Value)).Replace("</script", "<\\/script", StringComparison.OrdinalIgnoreCase);

        string full = Path.GetFullPath(outPath);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        string tmp = full + ".partial";
        try
        {
            // Streamed: the page is never held whole; each part is written as it is made (the run reader keeps the columns it read).
            using (var file = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
            {
                var utf8 = new UTF8Encoding(false);
                file.Write(utf8.GetBytes(html[..script.Index] + "<script>window.__PERCEPT_REPORT__ = "));
                using (var json = new Utf8JsonWriter(file))   // the default encoder escapes <, > and &: no "</script" inside
                    WriteData(json, run, log, cancellationToken);
                file.Write(utf8.GetBytes($";</script>\n<script type=\"module\">{js}</script>{html[(script.Index + script.Length)..]}"));
            }
            cancellationToken.ThrowIfCancellationRequested();
            File.Move(tmp, full, overwrite: true);
        }
        catch
        {
            // A failed or interrupted write (a full disk, Ctrl+C) leaves no half report behind.
            File.Delete(tmp);
            throw;
        }
        return new FileInfo(full).Length;
    }

    /// <summary>The report's data, as the front end's ReportSource reads it: summary, map, columns, ids, probabilities, neighbours, insights, thumbnails or texts.</summary>
    static void WriteData(Utf8JsonWriter json, Run run, Action<string>? log, CancellationToken cancellationToken)
    {
        using var entry = new RunEntry(Path.GetFileName(run.Directory), run);
        var m = run.Manifest;
        var reader = entry.Reader;
        json.WriteStartObject();
        json.WritePropertyName("summary");
        JsonSerializer.Serialize(json, new RunSummary(entry.Id, m.Data.Description, run.Count, Path.GetFileName(m.Model.Path), m.Created, m.Classes, m.NumClasses,
            m.Data.HasLabels, m.Summary?.Accuracy, m.Summary?.MeanLoss, new MapInfo(m.Map!.Method, m.Map.Dimensions, m.Map.Trustworthiness), reader.Fields,
            [], [], [entry.Id], m.Text is { } text ? new TextInfo(text.Tokens, text.Vocabulary) : null), JsonOptions);
        var map = reader.Map(out int dims)!;
        json.WriteStartObject("map");
        json.WriteBase64String("data", MemoryMarshal.AsBytes(map.AsSpan()));
        json.WriteNumber("rows", run.Count);
        json.WriteNumber("columns", dims);
        json.WriteEndObject();
        json.WriteStartObject("columns");
        foreach (var f in reader.Fields) json.WriteBase64String(f.Name, MemoryMarshal.AsBytes(reader.Column(f.Name).AsSpan()));
        json.WriteEndObject();
        json.WriteStartArray("ids");
        foreach (var id in reader.Ids()) json.WriteStringValue(id);
        json.WriteEndArray();
        json.Flush();
        if (m.NumClasses >= 2 && run.Has(PerceptionFields.Probabilities))
        {
            var probabilities = run.ReadMatrix(PerceptionFields.Probabilities);
            json.WriteStartObject("probabilities");
            json.WriteBase64String("data", MemoryMarshal.AsBytes(probabilities.Data.AsSpan()));
            json.WriteNumber("columns", probabilities.Columns);
            json.WriteEndObject();
        }
        if (m.Neighbors != null)
        {
            // The run's graph, each sample's neighbours ranked by the cosine of their perception vectors (as Fetch Similar
            // ranks them): said as it starts, since it is the long step (a Ctrl+C lands in it).
            log?.Invoke($"neighbours: ranking up to {Neighbors} per sample");
            var (indices, similarities, k) = SimilarSamples.All(run, Neighbors, cancellationToken);
            json.WriteStartObject("neighbors");
            json.WriteBase64String("indices", MemoryMarshal.AsBytes(indices.AsSpan()));
            json.WriteBase64String("similarities", MemoryMarshal.AsBytes(similarities.AsSpan()));
            json.WriteNumber("k", k);
            json.WriteEndObject();
        }
        json.Flush();
        if (Insights.InsightsStore.ReadJson(run) is { } insights)
        {
            json.WritePropertyName("insights");
            // Written again through the writer, whose encoder escapes what could close the script tag.
            using var document = JsonDocument.Parse(insights);
            document.RootElement.WriteTo(json);
        }
        if (m.Text != null)
        {
            // A text model's samples are words: the report carries them instead of pictures.
            log?.Invoke($"texts: {run.Count}");
            json.WritePropertyName("texts");
            JsonSerializer.Serialize(json, reader.AllTokens(cancellationToken), JsonOptions);
        }
        else if (run.Count <= MaxThumbnails)
        {
            log?.Invoke($"thumbnails: {run.Count}");
            try
            {
                if (Atlas(run, cancellationToken, out int tile, out int perRow) is { } image)
                {
                    json.WriteStartObject("atlas");
                    json.WriteString("png", "data:image/webp;base64," + Convert.ToBase64String(image));
                    json.WriteNumber("tile", tile);
                    json.WriteNumber("perRow", perRow);
                    json.WriteEndObject();
                }
            }
            catch (PerceptException e) { log?.Invoke($"thumbnails: left out ({e.Message})"); }
        }
        else log?.Invoke($"thumbnails: left out ({run.Count:N0} samples, more than {MaxThumbnails:N0})");
        json.WriteEndObject();
    }

    /// <summary>Every sample's thumbnail (the model's input, at most 32 pixels a side) in one WebP image, row by row, read in one pass over the data.</summary>
    static byte[]? Atlas(Run run, CancellationToken cancellationToken, out int tile, out int perRow)
    {
        tile = perRow = 0;
        var (dataset, pre) = run.OpenData();
        using var _ = dataset;
        var shape = pre.InputShape;
        if (shape.Length < 2) return null;
        var (_, h, w, _) = Data.Preprocessor.ImageAxes(shape, Data.InputLayout.Auto);
        tile = Math.Min(32, Math.Max(h, w));
        int count = run.Count, t = tile;
        perRow = (int)Math.Ceiling(Math.Sqrt(count));
        int rows = (count + perRow - 1) / perRow, columns = perRow;
        var (channels, _, _, channelsFirst) = Data.Preprocessor.ImageAxes(shape, Data.InputLayout.Auto);
        bool bgr = run.Manifest.Source?.Preprocess.Color == Data.ColorMode.Bgr;
        int atlasW = perRow * t, atlasH = rows * t;
        var pixels = new byte[atlasW * atlasH * 4];
        int i = 0;
        var x = new float[pre.InputLength];
        foreach (var batch in dataset.ReadBatches(256))
        {
            cancellationToken.ThrowIfCancellationRequested();
            for (int b = 0; b < batch.Count && i < count; b++, i++)
            {
                int raw = dataset.Format.Length;
                pre.Apply(batch.Values.AsSpan(b * raw, raw), raw, 1, x);
                float min = float.MaxValue, max = float.MinValue;
                foreach (var v in x) { if (v < min) min = v; if (v > max) max = v; }
                float range = Math.Max(max - min, 1e-12f);
                int left = i % columns * t, top = i / columns * t;
                // Nearest-neighbour sampling into the tile (the tile is the image's own size for small inputs).
                for (int ty = 0; ty < t; ty++)
                    for (int tx = 0; tx < t; tx++)
                    {
                        int p = ty * h / t * w + tx * w / t;
                        int o = ((top + ty) * atlasW + left + tx) * 4;
                        for (int ch = 0; ch < 3; ch++)
                        {
                            // A BGR model's input shown in its own colours.
                            int c = channels >= 3 ? (bgr ? 2 - ch : ch) : 0;
                            pixels[o + ch] = (byte)Math.Clamp((int)(255 * (x[channelsFirst ? c * h * w + p : p * channels + c] - min) / range + 0.5f), 0, 255);
                        }
                        pixels[o + 3] = 255;
                    }
            }
        }
        using var image = SKImage.FromPixelCopy(new SKImageInfo(atlasW, atlasH, SKColorType.Rgba8888, SKAlphaType.Opaque), pixels);
        using var webp = image.Encode(SKEncodedImageFormat.Webp, 85);
        return webp.ToArray();
    }
}
