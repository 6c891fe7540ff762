using System.Net;
using System.Net.Http.Json;
using System.Runtime.InteropServices;
using System.Text.Json;
using Percept.Server;

namespace Percept.Tests.Server;

/// <summary>The dashboard's API against the real server (Kestrel on a loopback port) over the demo run.</summary>
[Collection("dashboard")]
public class DashboardApiTests(DashboardFixture fixture)
{
    readonly HttpClient _http = fixture.Client;
    string RunId => Path.GetFileName(fixture.Run.Directory);

    async Task<JsonElement> Json(string url, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var r = await _http.GetAsync(url);
        string body = await r.Content.ReadAsStringAsync();
        Assert.True(r.StatusCode == expected, $"{url}: {(int)r.StatusCode} {body}");
        Assert.StartsWith("application/json", r.Content.Headers.ContentType?.MediaType ?? "");
        return JsonDocument.Parse(body).RootElement;
    }

    [Fact]
    public async Task Lists_the_run_and_describes_its_fields()
    {
        var runs = await Json("api/runs");
        Assert.Equal(RunId, runs[0].GetProperty("id").GetString());
        Assert.Equal("epoch-1", runs[1].GetProperty("id").GetString());
        var run = await Json($"api/runs/{RunId}");
        Assert.Equal(10000, run.GetProperty("count").GetInt32());
        Assert.Equal("umap", run.GetProperty("map").GetProperty("method").GetString());
        var fields = run.GetProperty("fields").EnumerateArray().ToDictionary(f => f.GetProperty("name").GetString()!);
        Assert.Equal("numeric", fields["loss"].GetProperty("kind").GetString());
        Assert.Equal("categorical", fields["label"].GetProperty("kind").GetString());
        Assert.Equal("Trouser", fields["label"].GetProperty("categories")[1].GetString());
        Assert.Equal(["incorrect", "correct"], fields["correct"].GetProperty("categories").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal(["conv1", "conv2", "conv3"], run.GetProperty("camLayers").EnumerateArray().Select(c => c.GetString()));
        // One list of layers: the explainer's.
        using (var explainer = new Percept.Attribution.RunExplainer(fixture.Run))
            Assert.Equal(explainer.CamLayers, run.GetProperty("camLayers").EnumerateArray().Select(c => c.GetString()!));
        // The methods are the registry's, described so that the front end can draw its pickers from them.
        var methods = run.GetProperty("methods").EnumerateArray().ToArray();
        Assert.Equal(Percept.Attribution.AttributionMethods.Names, methods.Select(m => m.GetProperty("name").GetString()!));
        Assert.Equal("Grad-CAM", methods[0].GetProperty("label").GetString());
        Assert.True(methods[0].GetProperty("needsLayer").GetBoolean());
        Assert.False(methods.Single(m => m.GetProperty("name").GetString() == "occlusion").GetProperty("needsGradients").GetBoolean());
        // Runs of the same size are offered as checkpoints of one another.
        Assert.Equal([RunId, "epoch-1"], run.GetProperty("runs").EnumerateArray().Select(c => c.GetString()));
    }

    [Fact]
    public async Task Insights_are_served_and_their_scores_are_fields_like_any_other()
    {
        var doc = await Json($"api/runs/{RunId}/insights");
        Assert.Equal(Percept.Insights.InsightsDocument.CurrentVersion, doc.GetProperty("version").GetInt32());
        var cards = doc.GetProperty("insights").EnumerateArray().ToArray();
        Assert.Contains(cards, c => c.GetProperty("kind").GetString() == "suspected-mislabel");
        Assert.All(cards, c => Assert.All(c.GetProperty("samples").EnumerateArray(), s => Assert.InRange(s.GetProperty("index").GetInt32(), 0, 9999)));
        // The demo's classes the model sees as alike are the ones people confuse: Spearman over pairs of classes.
        Assert.True(doc.GetProperty("class_proximity").GetProperty("spearman").GetDouble() >= 0.6);
        var fields = (await Json($"api/runs/{RunId}")).GetProperty("fields").EnumerateArray().Select(f => f.GetProperty("name").GetString()).ToArray();
        Assert.Contains("label_issue", fields);
        Assert.Contains("cluster", fields);
        using var r = await _http.GetAsync($"api/runs/{RunId}/columns/label_issue");
        Assert.Equal(10000 * 4, (await r.Content.ReadAsByteArrayAsync()).Length);
    }

    [Fact]
    public async Task Columns_and_the_map_travel_as_float32_bytes_equal_to_the_run()
    {
        using var r = await _http.GetAsync($"api/runs/{RunId}/map");
        Assert.Equal("application/octet-stream", r.Content.Headers.ContentType?.MediaType);
        Assert.Equal("10000,2", r.Headers.GetValues("X-Percept-Shape").Single());
        var map = MemoryMarshal.Cast<byte, float>(await r.Content.ReadAsByteArrayAsync()).ToArray();
        Assert.Equal(fixture.Run.ReadMatrix("map", out _, out _), map);

        var loss = MemoryMarshal.Cast<byte, float>(await _http.GetByteArrayAsync($"api/runs/{RunId}/columns/loss")).ToArray();
        var expected = fixture.Run.ReadColumn("loss");
        Assert.Equal(expected.Select(v => Convert.ToSingle(v)), loss);
        var labels = MemoryMarshal.Cast<byte, float>(await _http.GetByteArrayAsync($"api/runs/{RunId}/columns/label")).ToArray();
        Assert.Equal(fixture.Run.ReadColumn("label").Select(v => (float)Convert.ToInt32(v)), labels);
        var correct = MemoryMarshal.Cast<byte, float>(await _http.GetByteArrayAsync($"api/runs/{RunId}/columns/correct")).ToArray();
        Assert.Equal(fixture.Run.ReadColumn("correct").Select(v => (bool)v! ? 1f : 0f), correct);
    }

    [Fact]
    public async Task Sample_details_have_the_row_and_the_top_classes()
    {
        var d = await Json($"api/runs/{RunId}/samples/417");
        var values = d.GetProperty("values");
        Assert.Equal("Trouser", values.GetProperty("label_name").GetString());
        var top = d.GetProperty("top").EnumerateArray().ToArray();
        Assert.Equal(5, top.Length);
        Assert.Equal(values.GetProperty("prediction").GetInt32(), top[0].GetProperty("class").GetInt32());
        Assert.Equal(values.GetProperty("confidence").GetSingle(), top[0].GetProperty("probability").GetSingle(), 5);
        Assert.True(top.Zip(top.Skip(1)).All(p => p.First.GetProperty("probability").GetSingle() >= p.Second.GetProperty("probability").GetSingle()));
    }

    [Fact]
    public async Task Thumbnails_are_pngs_of_the_asked_size_snapped_to_a_few_sizes()
    {
        using var r = await _http.GetAsync($"api/runs/{RunId}/samples/3/image.png?size=64");
        Assert.Equal("image/png", r.Content.Headers.ContentType?.MediaType);
        var png = await r.Content.ReadAsByteArrayAsync();
        using var bitmap = SkiaSharp.SKBitmap.Decode(png);
        Assert.Equal((64, 64), (bitmap.Width, bitmap.Height));
        // Any size between two of the sizes is served at the larger: one picture (and one cache file) for all of them.
        foreach (int asked in new[] { 50, 57, 63 })
            Assert.Equal(png, await _http.GetByteArrayAsync($"api/runs/{RunId}/samples/3/image.png?size={asked}"));
        Assert.Single(Directory.GetFiles(Path.Combine(fixture.Run.Directory, "cache", "thumbnails"), "3-*.png"), f => f.EndsWith("3-64.png", StringComparison.Ordinal));
        Assert.DoesNotContain(Directory.GetFiles(Path.Combine(fixture.Run.Directory, "cache", "thumbnails")), f => f.EndsWith("3-57.png", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Explain_gives_every_class_and_the_loss_equal_to_the_library()
    {
        var ex = await Json($"api/runs/{RunId}/samples/417/explain?method=gradcam");
        var targets = ex.GetProperty("targets").EnumerateArray().ToArray();
        Assert.Equal(11, targets.Length);
        Assert.Equal("Loss", targets[10].GetProperty("name").GetString());
        Assert.Equal("conv3", ex.GetProperty("layer").GetString());
        using var explainer = new Percept.Attribution.RunExplainer(fixture.Run);
        var direct = explainer.Explain(417, "gradcam");
        for (int k = 0; k < 11; k++) Assert.Equal(direct.Result.Scores[k], targets[k].GetProperty("score").GetSingle(), 4);
        using var png = await _http.GetAsync(targets[1].GetProperty("image").GetString()!.TrimStart('/'));
        Assert.Equal(HttpStatusCode.OK, png.StatusCode);
        Assert.Equal("image/png", png.Content.Headers.ContentType?.MediaType);
        // Cached in the run.
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(fixture.Run.Directory, "cache", "heatmaps")));
    }

    [Fact]
    public async Task Integrated_gradients_carry_their_completeness_gap_per_target()
    {
        var ex = await Json($"api/runs/{RunId}/samples/417/explain?method=ig");
        var targets = ex.GetProperty("targets").EnumerateArray().ToArray();
        Assert.Equal(11, targets.Length);
        Assert.All(targets, t => Assert.Matches(@"^integrated gradients, \d+ gradients.*completeness gap \d+\.\d\d%", t.GetProperty("note").GetString()));
        // Other methods have nothing to add.
        var cam = await Json($"api/runs/{RunId}/samples/417/explain?method=gradcam");
        Assert.All(cam.GetProperty("targets").EnumerateArray(), t => Assert.Equal(System.Text.Json.JsonValueKind.Null, t.GetProperty("note").ValueKind));
    }

    [Fact]
    public async Task Similar_returns_the_k_nearest_by_cosine()
    {
        var s = await Json($"api/runs/{RunId}/samples/417/similar?k=5");
        var got = s.GetProperty("neighbors").EnumerateArray().Select(n => n.GetProperty("index").GetInt32()).ToArray();
        var emb = fixture.Run.ReadMatrix("embedding", out int n, out int w);
        double Cos(int a, int b)
        {
            double dot = 0, na = 0, nb = 0;
            for (int i = 0; i < w; i++) { dot += emb[a * w + i] * emb[b * w + i]; na += emb[a * w + i] * emb[a * w + i]; nb += emb[b * w + i] * emb[b * w + i]; }
            return dot / Math.Sqrt(na * nb);
        }
        var expected = Enumerable.Range(0, n).Where(j => j != 417).OrderByDescending(j => Cos(417, j)).Take(5).ToArray();
        Assert.Equal(expected, got);
        using var png = await _http.GetAsync(s.GetProperty("neighbors")[0].GetProperty("heatmap").GetString()!.TrimStart('/'));
        Assert.Equal("image/png", png.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Similar_maps_are_gradcam_on_the_cnn_by_default_and_gradient_times_input_on_request()
    {
        var s = await Json($"api/runs/{RunId}/samples/417/similar?k=3");
        Assert.Equal("gradcam", s.GetProperty("overlay").GetString());
        var first = s.GetProperty("neighbors")[0];
        int j = first.GetProperty("index").GetInt32();
        string camUrl = first.GetProperty("heatmap").GetString()!;
        Assert.Equal($"/api/runs/{RunId}/samples/417/similar/{j}.png?overlay=gradcam", camUrl);
        var gradient = await Json($"api/runs/{RunId}/samples/417/similar?k=3&overlay=gradient");
        Assert.Equal("gradient", gradient.GetProperty("overlay").GetString());
        string gradientUrl = gradient.GetProperty("neighbors")[0].GetProperty("heatmap").GetString()!;
        Assert.Equal($"/api/runs/{RunId}/samples/417/similar/{j}.png?overlay=gradient", gradientUrl);

        async Task<byte[]> Png(string url)
        {
            using var r = await _http.GetAsync(url.TrimStart('/'));
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            Assert.Equal("image/png", r.Content.Headers.ContentType?.MediaType);
            var bytes = await r.Content.ReadAsByteArrayAsync();
            using var bitmap = SkiaSharp.SKBitmap.Decode(bytes);
            Assert.NotNull(bitmap);
            Assert.Equal((128, 128), (bitmap.Width, bitmap.Height));
            return bytes;
        }
        // Each overlay is the library's map of the neighbour drawn as class heat maps are; the default is Grad-CAM's, cached apart from the other.
        var cam = await Png(camUrl);
        var fine = await Png(gradientUrl);
        Assert.Equal(cam, await Png($"api/runs/{RunId}/samples/417/similar/{j}.png"));
        Assert.NotEqual(cam, fine);
        foreach (var (overlay, served) in new[] { (Percept.Attribution.SimilarityOverlay.GradCam, cam), (Percept.Attribution.SimilarityOverlay.Gradient, fine) })
        {
            var (maps, _, _) = Percept.Attribution.Similarity.Explain(fixture.Run, 417, j, overlay);
            int plane = maps.Height * maps.Width;
            Assert.Equal(Images.Overlay(maps.Maps.AsSpan(plane, plane), maps.Height, maps.Width, 128), served);
            if (overlay == Percept.Attribution.SimilarityOverlay.GradCam) Assert.All(maps.Maps, v => Assert.True(v >= 0));
        }
    }

    [Fact]
    public async Task Status_says_a_plain_server_is_not_live()
    {
        using var r = await _http.GetAsync("api/status");
        Assert.Equal("{\"live\":false}", await r.Content.ReadAsStringAsync());
        Assert.False(fixture.Server.Live);
        // Its pages do not listen for new runs, so it takes none.
        Assert.Throws<InvalidOperationException>(() => fixture.Server.AddRun(fixture.FirstEpoch.Directory));
    }

    [Theory]
    [InlineData("api/runs/{run}/samples/3/similar?overlay=bogus", 400, "'overlay' takes gradcam or gradient, not 'bogus'")]
    [InlineData("api/runs/{run}/samples/3/similar/4.png?overlay=GradCAM", 400, "'overlay' takes gradcam or gradient, not 'GradCAM'")]
    [InlineData("api/runs/nope", 404, "unknown run")]
    [InlineData("api/runs/{run}/samples/10000", 404, "out of range")]
    [InlineData("api/runs/{run}/samples/-1", 400, "non-negative integer")]
    [InlineData("api/runs/{run}/samples/abc/image.png", 400, "non-negative integer")]
    [InlineData("api/runs/{run}/samples/3/similar?k=abc", 400, "'k' must be an integer")]
    [InlineData("api/runs/{run}/samples/3/similar?k=0", 400, "'k' must be an integer")]
    [InlineData("api/runs/{run}/samples/3/image.png?size=99999", 400, "'size'")]
    [InlineData("api/runs/{run}/samples/3/explain?method=magic", 400, "unknown method")]
    [InlineData("api/runs/{run}/samples/3/explain?method=gradcam&layer=fc1", 400, "not a convolutional layer")]
    [InlineData("api/runs/{run}/samples/3/heatmap.png?method=saliency&target=99", 404, "target 99")]
    [InlineData("api/runs/{run}/columns/nothing", 404, "no field")]
    [InlineData("api/runs/{run}/columns/..%2F..%2Frun.json", 404, "no field")]
    [InlineData("api/runs/..%2F..%2Fetc%2Fpasswd", 404, "unknown run")]
    [InlineData("api/nothing/here", 404, "no such API endpoint")]
    public async Task Mistakes_get_a_4xx_with_a_json_error(string url, int status, string message)
    {
        var e = await Json(url.Replace("{run}", RunId), (HttpStatusCode)status);
        Assert.Contains(message, e.GetProperty("error").GetString());
    }

    [Theory]
    [InlineData("../../../../etc/passwd")]
    [InlineData("..%2F..%2F..%2F..%2Fetc%2Fpasswd")]
    [InlineData("assets/..%2F..%2F..%2Frun.json")]
    public async Task No_url_reaches_a_file_outside_the_front_end(string url)
    {
        using var r = await _http.GetAsync(url);
        string body = await r.Content.ReadAsStringAsync();
        Assert.True((int)r.StatusCode < 500, $"{url}: {(int)r.StatusCode}");
        Assert.DoesNotContain("root:", body);
        Assert.DoesNotContain("percept-run", body);
    }

    [Fact]
    public async Task The_front_end_and_the_openapi_document_are_served()
    {
        string index = await _http.GetStringAsync("");
        Assert.Contains("<canvas id=\"map\"", index);
        var doc = await Json("api/openapi/v1.json");
        var paths = doc.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToArray();
        Assert.Contains("/api/runs/{run}/samples/{sample}/explain", paths);
        Assert.Contains("/api/runs/{run}/columns/{field}", paths);
    }
}
