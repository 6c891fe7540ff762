using System.Net;
using System.Text.Json;
using Percept.IO;
using Percept.Server;
using Percept.Store;

namespace Percept.Tests.Cli;

/// <summary>
/// Runs of the table formats (tests/fixtures/tables/: a Hugging Face Parquet file, its shards, an Arrow file, CSV, TSV
/// and JSONL manifests, all made of the first Fashion-MNIST test images) analysed with the command line, and a run of
/// the same images as a .npy array to hold them to.
/// </summary>
public sealed class TableRunsFixture : IDisposable
{
    readonly TempDir _dir = new();

    static string Fixture(string name) => Path.Combine(TestFiles.Root, "tests", "fixtures", "tables", name);

    /// <summary>The run of each format, by name; "npy" is the reference.</summary>
    public Dictionary<string, string> Runs { get; } = [];
    public Dictionary<string, string> Output { get; } = [];

    public TableRunsFixture()
    {
        using (var idx = new Percept.Data.IdxDataset(TestFiles.FashionImages, TestFiles.FashionLabels))
        {
            var b = idx.ReadBatches(64).First();
            using (var w = new NpyWriter(_dir["x.npy"], NpyType.UInt8, [28, 28])) w.WriteRows(b.Values[..(64 * 784)].Select(v => (byte)v).ToArray());
            Npy.Write(_dir["y.npy"], b.Labels[..64].Select(l => (long)l).ToArray(), 64);
        }
        string classes = TestFiles.FashionClasses;
        Analyse("npy", _dir["x.npy"], "--labels", _dir["y.npy"], "--classes", classes);
        Analyse("parquet", Fixture("fmnist-hf.parquet"));
        Analyse("shards", Fixture("fmnist-shards"));
        Analyse("arrow", Fixture("fmnist-pixels.arrow"), "--classes", classes);
        Analyse("csv", Fixture("manifest/manifest.csv"), "--classes", classes);
        Analyse("tsv", Fixture("manifest/manifest.tsv"), "--classes", classes);
        Analyse("jsonl", Fixture("manifest/manifest.jsonl"), "--classes", classes);
    }

    void Analyse(string name, string data, params string[] extra)
    {
        var (code, output, err) = CliHarness.Percept(["analyze", "--model", TestFiles.DemoModel, "--data", data, .. extra, "--out", _dir[name]]);
        Assert.True(code == 0, $"{name}: {err}");
        Runs[name] = _dir[name];
        Output[name] = output;
    }

    public string this[string relative] => _dir[relative];

    public void Dispose() => _dir.Dispose();
}

public class TableFormatTests(TableRunsFixture runs) : IClassFixture<TableRunsFixture>
{
    public static TheoryData<string, int> Formats => new()
    {
        { "parquet", 64 }, { "shards", 64 }, { "arrow", 64 }, { "csv", 64 }, { "tsv", 64 }, { "jsonl", 64 },
    };

    [Theory]
    [MemberData(nameof(Formats))]
    public void Analyze_gives_the_run_of_the_same_images_as_an_array(string format, int count)
    {
        var run = Run.Open(runs.Runs[format]);
        var reference = Run.Open(runs.Runs["npy"]);
        Assert.Equal(count, run.Count);
        Assert.Contains($"samples: {count}", runs.Output[format]);
        Assert.Equal(reference.Manifest.Classes, run.Manifest.Classes);
        var p = run.ReadMatrix("probabilities", out _, out int classes);
        var q = reference.ReadMatrix("probabilities", out _, out _);
        Assert.Equal(q[..(count * classes)], p);
        Assert.Equal(reference.ReadColumn("label")[..count], run.ReadColumn("label"));
        Assert.Equal(reference.ReadMatrix("embedding", out _, out _).Length / 64 * count, run.ReadMatrix("embedding", out _, out _).Length);
    }

    [Theory]
    [InlineData("parquet", "3", "ink,note")]
    [InlineData("arrow", "t10k-00003", "ink")]
    [InlineData("csv", "images/0003.png", "note,ink")]
    [InlineData("jsonl", "t10k-00003", "note,ink")]
    public void The_other_columns_become_fields_of_the_samples_table(string format, string id, string fields)
    {
        var run = Run.Open(runs.Runs[format]);
        Assert.Equal(fields.Split(','), run.Manifest.Data.MetadataColumns);
        Assert.Equal(id, run.ReadColumn("id")[3]);
        var ink = run.ReadColumn("ink");
        Assert.IsType<double>(ink[0]);
        Assert.Equal(0.167347, (double)ink[0]!, 6);
        if (fields.Contains("note")) Assert.Equal(["plain", "seen, twice", "says \"hi\"", "two\nlines"], run.ReadColumn("note")[..4]);
    }

    [Theory]
    [InlineData("parquet", 64)]
    [InlineData("arrow", 64)]
    [InlineData("csv", 64)]
    public void Report_carries_a_thumbnail_of_every_sample(string format, int count)
    {
        string html = runs[$"report-{format}.html"];
        var (code, output, err) = CliHarness.Percept("report", runs.Runs[format], "--out", html);
        Assert.True(code == 0, err);
        Assert.Contains($"thumbnails: {count}", output);
        Assert.True(new FileInfo(html).Length > 10_000);
    }

    [Fact]
    public async Task Serve_shows_each_format_as_the_model_saw_it_with_its_fields()
    {
        await using var server = await DashboardServer.StartAsync([runs.Runs["npy"], runs.Runs["parquet"], runs.Runs["arrow"], runs.Runs["csv"]], new DashboardOptions { Port = 0 });
        using var client = new HttpClient { BaseAddress = server.Url, Timeout = TimeSpan.FromMinutes(2) };
        async Task<byte[]> Bytes(string url)
        {
            var response = await client.GetAsync(new Uri(url, UriKind.Relative));
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{url}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            return await response.Content.ReadAsByteArrayAsync();
        }
        // The same picture, whether it came from an array, PNG bytes in Parquet, pixel lists in Arrow, or a file a manifest names.
        var thumbnail = await Bytes("api/runs/npy/samples/3/image.png");
        foreach (var format in new[] { "parquet", "arrow", "csv" })
        {
            Assert.Equal(thumbnail, await Bytes($"api/runs/{format}/samples/3/image.png"));
            Assert.Equal(await Bytes("api/runs/npy/samples/5/heatmap.png?method=saliency"), await Bytes($"api/runs/{format}/samples/5/heatmap.png?method=saliency"));
        }
        using var sample = JsonDocument.Parse(await Bytes("api/runs/csv/samples/3"));
        string json = sample.RootElement.GetRawText();
        Assert.Contains("\"note\":\"two\\nlines\"", json);
        Assert.Contains("images/0003.png", json);
    }

    [Fact]
    public void Undecodable_parquet_images_and_missing_manifest_files_are_skipped_with_warnings_without_strict()
    {
        string corpus = Path.Combine(TestFiles.Root, "tests", "corpus");
        var (code, _, err) = CliHarness.Percept("analyze", "--model", TestFiles.DemoModel, "--data", Path.Combine(corpus, "parquet-undecodable-image-strict", "t.parquet"),
            "--out", runs["skipped-parquet"], "--map", "none");
        Assert.True(code == 0, err);
        Assert.Contains("skipped row 2 of Parquet t.parquet: not a decodable image", err);
        Assert.Contains("skipped 1 image(s) that failed to decode (set --strict to stop on the first)", err);
        var run = Run.Open(runs["skipped-parquet"]);
        Assert.Equal((3, 1), (run.Count, run.Manifest.Data.Skipped));
        Assert.Equal(["0", "1", "3"], run.ReadColumn("id"));

        (code, _, err) = CliHarness.Percept("analyze", "--model", TestFiles.DemoModel, "--data", Path.Combine(corpus, "manifest-missing-files-strict", "m.csv"),
            "--out", runs["skipped-manifest"], "--map", "none");
        Assert.True(code == 0, err);
        Assert.Contains("skipped 1 image(s) the manifest names that do not exist: images/b.png", err);
        Assert.Equal(["images/a.png"], Run.Open(runs["skipped-manifest"]).ReadColumn("id"));
    }
}

public class TableShardTests
{
    [Fact]
    public void A_merged_run_of_parquet_shards_has_the_tables_fields_as_one_pass_has()
    {
        using var dir = new TempDir();
        string data = Path.Combine(TestFiles.Root, "tests", "fixtures", "tables", "fmnist-hf.parquet");
        var (code, _, err) = CliHarness.Percept("analyze", "--model", TestFiles.DemoModel, "--data", data, "--shard", "1/1", "--out", dir["shards/s1"]);
        Assert.True(code == 0, err);
        (code, _, err) = CliHarness.Percept("merge", dir["shards"], "--out", dir["merged"], "--map", "none");
        Assert.True(code == 0, err);
        (code, _, err) = CliHarness.Percept("analyze", "--model", TestFiles.DemoModel, "--data", data, "--out", dir["one"], "--map", "none");
        Assert.True(code == 0, err);
        var (merged, one) = (Run.Open(dir["merged"]), Run.Open(dir["one"]));
        Assert.Equal(["ink", "note"], merged.Manifest.Data.MetadataColumns);
        Assert.Equal(one.ReadColumn("note"), merged.ReadColumn("note"));
        Assert.Equal(one.ReadMatrix("embedding", out _, out _), merged.ReadMatrix("embedding", out _, out _));
    }
}
