using System.Net;
using System.Text.Json;
using Percept.Perception;
using Percept.Projection;

namespace Percept.Tests.Server;

/// <summary>
/// The map of any layer: the library's per-layer separation against a brute-force count, the API's layer map (made in
/// the background, 202 with progress until ready, then kept), and the picker and chart in Chromium (web/e2e/layers.e2e.mjs).
/// </summary>
[Collection("dashboard")]
public class LayerMapTests(DashboardFixture fixture)
{
    [Fact]
    public void Separation_of_a_narrow_layer_equals_a_brute_force_neighbour_count()
    {
        var run = fixture.Run;
        var rows = LayerMaps.Separation(run);
        var layers = run.Manifest.Perception.Layers;
        Assert.Equal([.. layers.Select(l => l.Name), LayerMaps.Perception], rows.Select(r => r.Layer));
        // The first layer (16 features: no principal components) by brute force: standardise, cosine, 10 nearest.
        var first = layers[0];
        var x = LayerMaps.Activations(run, first);
        int[] labels; using (var t = run.OpenSamples()) labels = t.ReadInt32(PerceptionFields.Label);
        int n = x.Rows, w = x.Columns, k = LayerMaps.SeparationK;
        var norm = new double[n];
        for (int i = 0; i < n; i++) { double s = 0; foreach (var v in x.Row(i)) s += (double)v * v; norm[i] = Math.Sqrt(s); }
        double total = 0;
        Parallel.For(0, n, () => 0.0, (i, _, sum) =>
        {
            var best = new List<(double D, int J)>(n);
            var xi = x.Row(i);
            for (int j = 0; j < n; j++)
            {
                if (j == i) continue;
                var xj = x.Row(j); double dot = 0;
                for (int c = 0; c < w; c++) dot += (double)xi[c] * xj[c];
                best.Add((1 - dot / (norm[i] * norm[j] + 1e-30), j));
            }
            var nearest = best.OrderBy(b => b.D).ThenBy(b => b.J).Take(k);
            return sum + nearest.Count(b => labels[b.J] == labels[i]) / (double)k;
        }, s => { lock (labels) total += s; });
        Assert.Equal(total / n, rows[0].Agreement, 3);
        Assert.Equal(0.1, rows[0].Chance, 6);
        // The classes come apart deeper in the network: the last hidden layer separates far better than the first.
        Assert.True(rows[^2].Agreement > rows[0].Agreement + 0.15, string.Join(", ", rows.Select(r => $"{r.Layer} {r.Agreement:F3}")));
    }

    [Fact]
    public async Task A_layer_map_is_made_in_the_background_then_kept()
    {
        var client = fixture.Client;
        string run = Path.GetFileName(fixture.Run.Directory);
        var layers = JsonDocument.Parse(await client.GetStringAsync($"api/runs/{run}/layers")).RootElement.EnumerateArray().Select(l => l.GetProperty("name").GetString()!).ToArray();
        Assert.Equal(fixture.Run.Manifest.Perception.Layers.Select(l => l.Name), layers);
        string layer = layers[1];
        HttpResponseMessage r;
        var stages = new List<string>();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while ((r = await client.GetAsync($"api/runs/{run}/layers/map?layer={Uri.EscapeDataString(layer)}")).StatusCode == HttpStatusCode.Accepted)
        {
            var job = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement;
            stages.Add(job.GetProperty("stage").GetString()!);
            Assert.InRange(job.GetProperty("fraction").GetDouble(), 0, 1);
            Assert.True(clock.Elapsed < TimeSpan.FromMinutes(2), "the layer map took over two minutes");
            await Task.Delay(200);
        }
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.NotEmpty(stages);
        Assert.Equal($"{fixture.Run.Count},2", r.Headers.GetValues("X-Percept-Shape").Single());
        var map = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(await r.Content.ReadAsByteArrayAsync()).ToArray();
        Assert.All(map, v => Assert.True(float.IsFinite(v)));
        // Kept: the list says so, and the next answer is the map itself.
        Assert.True(JsonDocument.Parse(await client.GetStringAsync($"api/runs/{run}/layers")).RootElement[1].GetProperty("map").GetBoolean());
        var again = await client.GetAsync($"api/runs/{run}/layers/map?layer={Uri.EscapeDataString(layer)}");
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(await r.Content.ReadAsByteArrayAsync(), await again.Content.ReadAsByteArrayAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"api/runs/{run}/layers/map?layer=nothing")).StatusCode);
    }

    [SkippableFact]
    public async Task The_layer_picker_and_chart_work_end_to_end_in_chromium()
    {
        string chromium = DashboardBrowserTests.Chromium("layer map browser tests");
        string run = Path.GetFileName(fixture.Run.Directory);
        var separation = JsonDocument.Parse(await fixture.Client.GetStringAsync($"api/runs/{run}/layers/separation")).RootElement.Clone();
        var (code, output) = DashboardBrowserTests.Node("e2e/layers.e2e.mjs", new Dictionary<string, string>
        {
            ["PERCEPT_URL"] = new Uri(fixture.Server.Url, $"?run={run}&color=label").ToString(),
            ["CHROMIUM"] = chromium,
            ["SCREENSHOTS"] = DashboardBrowserTests.ScreenshotFolder(),
            ["EXPECTED"] = JsonSerializer.Serialize(new { layers = fixture.Run.Manifest.Perception.Layers.Select(l => l.Name), separation }),
        }, TimeSpan.FromMinutes(5));
        Skip.If(code == 77, $"layer map browser tests SKIPPED: {output.Trim()}");
        Assert.True(code == 0, output);
        Assert.DoesNotContain("FAIL", output);
    }
}
