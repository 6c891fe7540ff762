using System.Net;
using System.Text.Json;
using Percept.Comparison;
using Percept.Perception;
using Percept.Server;

namespace Percept.Tests.Server;

/// <summary>
/// Compare mode (<c>percept serve A B --compare</c>): the API's comparison of the demo's first epoch with its fifth,
/// checked against counts made here from the two runs, and the page's side-by-side view driven in Chromium
/// (web/e2e/compare.e2e.mjs).
/// </summary>
[Collection("dashboard")]
public class CompareModeTests(DashboardFixture fixture)
{
    /// <summary>Fixed and broken predictions of the first epoch against the fifth, counted here.</summary>
    (int Fixed, int Broken) Expected()
    {
        int[] Read(Percept.Store.Run r, Percept.Store.Field f) { using var t = r.OpenSamples(); return t.ReadInt32(f); }
        var labels = Read(fixture.FirstEpoch, PerceptionFields.Label);
        var a = Read(fixture.FirstEpoch, PerceptionFields.Prediction); var b = Read(fixture.Run, PerceptionFields.Prediction);
        int fixedCount = 0, broken = 0;
        for (int i = 0; i < labels.Length; i++)
        {
            if (a[i] != labels[i] && b[i] == labels[i]) fixedCount++;
            if (a[i] == labels[i] && b[i] != labels[i]) broken++;
        }
        return (fixedCount, broken);
    }

    static async Task<DashboardServer> Start(DashboardFixture f) =>
        await DashboardServer.StartAsync([f.FirstEpoch.Directory, f.Run.Directory], new DashboardOptions { Compare = true });

    [Fact]
    public async Task The_api_compares_two_runs_with_counts_per_change_and_aligns_the_second_map()
    {
        await using var server = await Start(fixture);
        using var client = new HttpClient { BaseAddress = server.Url };
        string a = Path.GetFileName(fixture.FirstEpoch.Directory), b = Path.GetFileName(fixture.Run.Directory);
        using var status = JsonDocument.Parse(await client.GetStringAsync("api/status"));
        Assert.Equal([a, b], status.RootElement.GetProperty("compare").EnumerateArray().Select(x => x.GetString()!));

        using var result = JsonDocument.Parse(await client.GetStringAsync($"api/runs/{a}/compare/{b}"));
        var categories = result.RootElement.GetProperty("categories").EnumerateArray().Select(x => x.GetString()!).ToArray();
        var counts = result.RootElement.GetProperty("counts").EnumerateArray().Select(x => x.GetInt32()).ToArray();
        var (fixedCount, broken) = Expected();
        Assert.Equal(["fixed", "broken", "moved", "unchanged", "only in A"], categories);
        Assert.Equal(fixedCount, counts[0]);
        Assert.Equal(broken, counts[1]);
        Assert.Equal(fixture.Run.Count, counts.Sum());
        Assert.Equal(fixedCount, result.RootElement.GetProperty("comparison").GetProperty("predictions").GetProperty("fixed").GetInt32());

        // Per sample: the change code, the share of neighbours kept, the index in B; the codes agree with the counts.
        var response = await client.GetAsync($"api/runs/{a}/compare/{b}/columns");
        Assert.Equal($"{fixture.Run.Count},3", response.Headers.GetValues("X-Percept-Shape").Single());
        var values = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(await response.Content.ReadAsByteArrayAsync()).ToArray();
        for (int c = 0; c < counts.Length; c++) Assert.Equal(counts[c], Enumerable.Range(0, fixture.Run.Count).Count(i => values[3 * i] == c));
        Assert.All(Enumerable.Range(0, fixture.Run.Count), i => Assert.Equal(i, values[3 * i + 2])); // same ids, same order

        // B's map aligned onto A's: matched dots lie closer than before alignment (the two UMAPs are each free to turn).
        var mapA = fixture.FirstEpoch.ReadMatrix(Percept.Projection.MapFields.Map); var mapB = fixture.Run.ReadMatrix(Percept.Projection.MapFields.Map);
        var aligned = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(await client.GetByteArrayAsync($"api/runs/{a}/compare/{b}/map")).ToArray();
        double before = 0, after = 0;
        for (int i = 0; i < fixture.Run.Count; i++)
        {
            before += Math.Pow(mapA.Row(i)[0] - mapB.Row(i)[0], 2) + Math.Pow(mapA.Row(i)[1] - mapB.Row(i)[1], 2);
            after += Math.Pow(mapA.Row(i)[0] - aligned[2 * i], 2) + Math.Pow(mapA.Row(i)[1] - aligned[2 * i + 1], 2);
        }
        Assert.True(after <= before + 1e-6, $"alignment moved the dots away: {after} against {before}");

        Assert.Equal(HttpStatusCode.BadRequest, (await client.GetAsync($"api/runs/{a}/compare/{a}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"api/runs/{a}/compare/nothing")).StatusCode);
    }

    [Fact]
    public async Task Compare_needs_two_runs()
    {
        var e = await Assert.ThrowsAsync<PerceptException>(() => DashboardServer.StartAsync([fixture.Run.Directory], new DashboardOptions { Compare = true }));
        Assert.Contains("two runs", e.Message);
    }

    [SkippableFact]
    public async Task Compare_mode_works_end_to_end_in_chromium()
    {
        string chromium = DashboardBrowserTests.Chromium("compare mode browser tests");
        await using var server = await Start(fixture);
        var (fixedCount, broken) = Expected();
        var (code, output) = DashboardBrowserTests.Node("e2e/compare.e2e.mjs", new Dictionary<string, string>
        {
            ["PERCEPT_URL"] = server.Url.ToString(),
            ["CHROMIUM"] = chromium,
            ["SCREENSHOTS"] = DashboardBrowserTests.ScreenshotFolder(),
            ["EXPECTED"] = JsonSerializer.Serialize(new { @fixed = fixedCount, broken }),
        }, TimeSpan.FromMinutes(4));
        Skip.If(code == 77, $"compare mode browser tests SKIPPED: {output.Trim()}");
        Assert.True(code == 0, output);
        Assert.DoesNotContain("FAIL", output);
    }
}
