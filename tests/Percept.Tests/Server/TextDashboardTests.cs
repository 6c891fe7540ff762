using System.Net;
using System.Text.Json;
using Percept.Data;
using Percept.Server;

namespace Percept.Tests.Server;

/// <summary>A run of the text fixture (a Transformer over token ids, tests/fixtures/text/) served by the dashboard.</summary>
public sealed class TextRunFixture : IAsyncLifetime
{
    readonly TempDir _dir = new();
    public DashboardServer Server { get; private set; } = null!;
    public HttpClient Client { get; private set; } = null!;
    public string RunDirectory => _dir["text-run"];

    static string Fixture(string file) => Path.Combine(TestFiles.Root, "tests", "fixtures", "text", file);

    public async Task InitializeAsync()
    {
        var run = Analysis.Run(new AnalysisOptions
        {
            ModelPath = Fixture("model.onnx"),
            Data = new DataSource { Path = Fixture("tokens.npy"), LabelsPath = Fixture("labels.npy"), ClassNamesPath = Fixture("classes.txt"), VocabularyPath = Fixture("vocab.txt") },
            OutputDirectory = _dir["text-run"],
        });
        Server = await DashboardServer.StartAsync([run.Directory]);
        Client = new HttpClient { BaseAddress = Server.Url, Timeout = TimeSpan.FromMinutes(2) };
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        await Server.DisposeAsync();
        _dir.Dispose();
    }
}

/// <summary>The dashboard on a text model's run: words and per-word scores in the JSON answers, no pictures, and the page in Chromium.</summary>
public class TextDashboardTests(TextRunFixture fixture) : IClassFixture<TextRunFixture>
{
    async Task<JsonElement> Get(string url)
    {
        var response = await fixture.Client.GetAsync(url);
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{url}: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement;
    }

    [Fact]
    public async Task The_api_gives_words_and_one_score_per_word()
    {
        var run = await Get("api/runs/text-run");
        Assert.Equal(16, run.GetProperty("text").GetProperty("tokens").GetInt32());
        var methods = run.GetProperty("methods").EnumerateArray().Select(m => m.GetProperty("name").GetString()).ToArray();
        Assert.Contains("saliency", methods);
        Assert.DoesNotContain("gradcam", methods);
        Assert.DoesNotContain("occlusion", methods);

        var sample = await Get("api/runs/text-run/samples/3");
        var words = sample.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()!).ToArray();
        Assert.Equal("scenes this scenes is really scenes really loved really quite is", string.Join(' ', words));
        Assert.Equal("", sample.GetProperty("image").GetString());

        // The default method for text is saliency; every target scores each word of the sample.
        var ex = await Get("api/runs/text-run/samples/3/explain");
        Assert.Equal("saliency", ex.GetProperty("method").GetString());
        var targets = ex.GetProperty("targets").EnumerateArray().ToArray();
        Assert.Equal(4, targets.Length);
        Assert.All(targets, t => Assert.Equal(words.Length, t.GetProperty("values").GetArrayLength()));

        var similar = await Get("api/runs/text-run/samples/3/similar?k=3");
        Assert.Equal("gradient", similar.GetProperty("overlay").GetString());
        Assert.All(similar.GetProperty("neighbors").EnumerateArray(), n =>
            Assert.Equal(n.GetProperty("tokens").GetArrayLength(), n.GetProperty("tokenScores").GetArrayLength()));
    }

    [Theory]
    [InlineData("api/runs/text-run/samples/3/image.png")]
    [InlineData("api/runs/text-run/samples/3/heatmap.png?method=saliency")]
    [InlineData("api/runs/text-run/samples/3/similar/4.png")]
    [InlineData("api/runs/text-run/samples/3/similar?overlay=gradcam")]
    [InlineData("api/runs/text-run/samples/3/explain?method=gradcam")]
    [InlineData("api/runs/text-run/samples/3/explain?method=occlusion")]
    public async Task Pictures_and_image_methods_are_a_clear_422(string url)
    {
        var response = await fixture.Client.GetAsync(url);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Contains("text", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_report_of_a_text_run_carries_the_words_instead_of_pictures()
    {
        using var dir = new TempDir();
        Percept.Server.ReportWriter.Write(fixture.RunDirectory, dir["report.html"]);
        string html = File.ReadAllText(dir["report.html"]);
        Assert.Contains("\"texts\":[[\"music\",\"story\",\"actors\"", html, StringComparison.Ordinal);
        Assert.DoesNotContain("\"atlas\"", html, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void The_text_dashboard_works_end_to_end_in_chromium()
    {
        string chromium = DashboardBrowserTests.Chromium("end-to-end text dashboard tests");
        var (code, output) = DashboardBrowserTests.Node("e2e/text.e2e.mjs", new Dictionary<string, string>
        {
            ["PERCEPT_URL"] = fixture.Server.Url.ToString(),
            ["CHROMIUM"] = chromium,
            ["SCREENSHOTS"] = DashboardBrowserTests.ScreenshotFolder(),
        }, TimeSpan.FromMinutes(3));
        Skip.If(code == 77, $"end-to-end text dashboard tests SKIPPED: {output.Trim()}");
        Assert.True(code == 0, output);
        Assert.DoesNotContain("FAIL", output);
    }
}
