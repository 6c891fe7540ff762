using System.Net;
using System.Text.Json;
using DuckDB.NET.Data;
using Microsoft.ML.OnnxRuntime;
using Percept.Data;
using Percept.Perception;
using Percept.Server;
using Percept.Store;

namespace Percept.Tests.Cli;

/// <summary>
/// The text fixture's classifier that takes input_ids, attention_mask and token_type_ids
/// (tests/fixtures/text/model-tokenizer-inputs.onnx) analysed on its reviews as raw text — a CSV, and the same rows as
/// JSONL and Parquet — with a BERT-style tokenizer.json, and on the same reviews as a .npy of token ids to hold them to.
/// </summary>
public sealed class TextTableRunsFixture : IDisposable
{
    readonly TempDir _dir = new();

    public static string Fixture(string name) => Path.Combine(TestFiles.Root, "tests", "fixtures", "text", name);

    public Dictionary<string, string> Runs { get; } = [];
    public Dictionary<string, (string Out, string Err)> Output { get; } = [];

    public TextTableRunsFixture()
    {
        var (header, rows) = ManifestDataset.ReadDelimited(Fixture("reviews.csv"));
        File.WriteAllLines(_dir["reviews.jsonl"], rows.Select(r => JsonSerializer.Serialize(header.Zip(r).ToDictionary(p => p.First, p => p.Second))));
        using (var db = new DuckDBConnection("DataSource=:memory:"))
        {
            db.Open();
            using var copy = db.CreateCommand();
            copy.CommandText = $"COPY (SELECT * FROM read_csv('{Fixture("reviews.csv")}', header = true, all_varchar = true)) TO '{_dir["reviews.parquet"]}' (FORMAT parquet, ROW_GROUP_SIZE 128)";
            copy.ExecuteNonQuery();
        }
        string model = Fixture("model-tokenizer-inputs.onnx");
        Analyse("npy", model, Fixture("tokens.npy"), "--labels", Fixture("labels.npy"), "--vocab", Fixture("vocab.txt"));
        foreach (var (name, data) in new[] { ("csv", Fixture("reviews.csv")), ("jsonl", _dir["reviews.jsonl"]), ("parquet", _dir["reviews.parquet"]) })
            Analyse(name, model, data, "--text-column", "text", "--tokenizer", Fixture("reviews-tokenizer.json"));
    }

    void Analyse(string name, string model, string data, params string[] extra)
    {
        var (code, output, err) = CliHarness.Percept(["analyze", "--model", model, "--data", data, .. extra, "--classes", Fixture("classes.txt"), "--out", _dir[name]]);
        Assert.True(code == 0, $"{name}: {err}");
        Runs[name] = _dir[name];
        Output[name] = (output, err);
    }

    public string this[string relative] => _dir[relative];

    public void Dispose() => _dir.Dispose();
}

public class TextTableTests(TextTableRunsFixture runs) : IClassFixture<TextTableRunsFixture>
{
    public static TheoryData<string> Formats => new() { "csv", "jsonl", "parquet" };

    [Theory]
    [MemberData(nameof(Formats))]
    public void Raw_text_gives_the_run_of_its_token_ids(string format)
    {
        var run = Run.Open(runs.Runs[format]);
        var reference = Run.Open(runs.Runs["npy"]);
        Assert.Equal(600, run.Count);
        Assert.Equal(runs.Output["npy"].Err, runs.Output[format].Err);  // the same warnings (layers of the model left out), no other
        Assert.Equal(reference.Manifest.Classes, run.Manifest.Classes);
        Assert.Equal(reference.ReadMatrix("logits", out _, out _), run.ReadMatrix("logits", out _, out _));
        Assert.Equal(reference.ReadColumn("label"), run.ReadColumn("label"));
        Assert.Equal(reference.ReadMatrix("embedding", out _, out _), run.ReadMatrix("embedding", out _, out _));
        Assert.Equal(reference.Manifest.Summary!.Accuracy, run.Manifest.Summary!.Accuracy);
        // The tokenizer's vocabulary is the run's, as --vocab's is; the texts' other columns are fields.
        Assert.Equal(reference.ReadDocument(PerceptionFields.Vocabulary), run.ReadDocument(PerceptionFields.Vocabulary));
        Assert.Equal(new RunManifest.TextSection(16, reference.Manifest.Text!.Embedding, 34, 24, true, 0, 0, MaskedPooling: true), run.Manifest.Text);
        Assert.Equal(["site"], run.Manifest.Data.MetadataColumns);
        Assert.Equal("r003", run.ReadColumn("id")[3]);
        Assert.Equal("site-b", run.ReadColumn("site")[3]);
        Assert.Contains("WordPiece tokenizer.json reviews-tokenizer.json (34 tokens, lowercased, no special tokens); 16 tokens", run.Manifest.Data.Description);
    }

    [Fact]
    public void The_derived_mask_and_types_give_the_outputs_of_the_tokenizers_own_inputs()
    {
        // The original model fed by ONNX Runtime with what a tokenizer gives: ids, a mask of 1 on the ids it did not
        // pad and 0 on padding, type ids of 0. Percept feeds the ids and derives the other two inside the graph.
        var tokenizer = TextTokenizer.Load(TextTableRunsFixture.Fixture("reviews-tokenizer.json"));
        var (header, rows) = ManifestDataset.ReadDelimited(TextTableRunsFixture.Fixture("reviews.csv"));
        int text = Array.IndexOf(header, "text"), n = 40, t = 16;
        long[] ids = new long[n * t], mask = new long[n * t], types = new long[n * t];
        var buffer = new int[t];
        for (int s = 0; s < n; s++)
        {
            var (length, _) = tokenizer.Encode(rows[s][text]!, buffer);
            for (int k = 0; k < t; k++) (ids[s * t + k], mask[s * t + k]) = (buffer[k], k < length ? 1 : 0);
        }
        using var session = new InferenceSession(TextTableRunsFixture.Fixture("model-tokenizer-inputs.onnx"));
        using var a = OrtValue.CreateTensorValueFromMemory(ids, [n, t]);
        using var b = OrtValue.CreateTensorValueFromMemory(mask, [n, t]);
        using var c = OrtValue.CreateTensorValueFromMemory(types, [n, t]);
        using var results = session.Run(new RunOptions(), ["input_ids", "attention_mask", "token_type_ids"], [a, b, c], ["logits"]);
        var expected = results[0].GetTensorDataAsSpan<float>().ToArray();
        var logits = Run.Open(runs.Runs["csv"]).ReadMatrix("logits", out _, out int classes);
        for (int i = 0; i < n * classes; i++) Assert.Equal(expected[i], logits[i], 5);
    }

    [Fact]
    public async Task Serve_shows_the_texts_as_words_with_a_score_each_and_report_writes_the_page()
    {
        await using var server = await DashboardServer.StartAsync([runs.Runs["csv"]], new DashboardOptions { Port = 0 });
        using var client = new HttpClient { BaseAddress = server.Url, Timeout = TimeSpan.FromMinutes(2) };
        async Task<JsonElement> Get(string url)
        {
            var response = await client.GetAsync(new Uri(url, UriKind.Relative));
            string body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{url}: {(int)response.StatusCode} {body}");
            return JsonDocument.Parse(body).RootElement.Clone();
        }
        var sample = await Get("api/runs/csv/samples/3");
        var words = sample.GetProperty("tokens").EnumerateArray().Select(w => w.GetString()).ToArray();
        // "Scenes this scenes …" in the CSV: lowercased by the tokenizer, shown as the model read it.
        Assert.Equal("scenes this scenes is really scenes really loved really quite is", string.Join(' ', words));
        Assert.Contains("\"site\":\"site-b\"", sample.GetRawText());
        var explained = await Get("api/runs/csv/samples/3/explain?method=gradxinput");
        Assert.All(explained.GetProperty("targets").EnumerateArray(), target => Assert.Equal(words.Length, target.GetProperty("values").GetArrayLength()));
        var similar = await Get("api/runs/csv/samples/3/similar?k=3");
        Assert.All(similar.GetProperty("neighbors").EnumerateArray(), neighbour =>
            Assert.Equal(neighbour.GetProperty("tokens").GetArrayLength(), neighbour.GetProperty("tokenScores").GetArrayLength()));

        string html = runs["report-csv.html"];
        var (code, output, err) = CliHarness.Percept("report", runs.Runs["csv"], "--out", html);
        Assert.True(code == 0, err);
        Assert.Contains("texts: 600", output);
        Assert.Contains("[\"scenes\",\"this\",\"scenes\",\"is\",\"really\",\"scenes\",\"really\",\"loved\",\"really\",\"quite\",\"is\"]", File.ReadAllText(html));
    }

    [Fact]
    public void Explain_reads_a_text_from_the_table_and_prints_the_words_that_matter()
    {
        var (code, output, err) = CliHarness.Percept("explain", "--model", TextTableRunsFixture.Fixture("model-tokenizer-inputs.onnx"), "--data", TextTableRunsFixture.Fixture("reviews.csv"),
            "--text-column", "text", "--tokenizer", TextTableRunsFixture.Fixture("reviews-tokenizer.json"), "--classes", TextTableRunsFixture.Fixture("classes.txt"),
            "--sample", "3", "--method", "ig", "--target", "2", "--out", runs["explain.npy"]);
        Assert.True(code == 0, err);
        Assert.Contains("tokens: scenes this scenes is really scenes really loved really quite is\n", output);
        Assert.Contains("  positive: loved (+", output);
        Assert.Equal([1L, 16L], Percept.IO.Npy.ReadHeader(runs["explain.npy"]).Shape);
    }

    [Fact]
    public void Texts_longer_than_the_model_are_cut_and_counted_in_one_warning()
    {
        string csv = runs["long.csv"];
        File.WriteAllText(csv, "text,label\n" + "\"" + string.Join(' ', Enumerable.Repeat("great film", 12)) + "\",positive\n\"awful plot\",negative\n"
                               + "\"" + string.Join(' ', Enumerable.Repeat("dull", 17)) + "\",negative\n");
        var (code, _, err) = CliHarness.Percept("analyze", "--model", TextTableRunsFixture.Fixture("model-tokenizer-inputs.onnx"), "--data", csv, "--text-column", "text",
            "--tokenizer", TextTableRunsFixture.Fixture("reviews-tokenizer.json"), "--classes", TextTableRunsFixture.Fixture("classes.txt"), "--out", runs["long"], "--map", "none");
        Assert.True(code == 0, err);
        Assert.Equal(
            ["warning: truncated 2 of 3 texts to 16 tokens, the model's sequence length (their ends are left out; --max-length sets the length when the model's is free)"],
            err.Split('\n').Where(l => l.Contains("truncated", StringComparison.Ordinal)));
        var run = Run.Open(runs["long"]);
        Assert.Equal(2, run.Manifest.Text!.Truncated);
        using var dataset = new TextDataset(csv, "text", null, null, TextTokenizer.Load(TextTableRunsFixture.Fixture("reviews-tokenizer.json")), 16, "--max-length");
        var batch = dataset.ReadBatches(3).Single();
        // "great film" × 8 fills the 16 ids; "awful plot" is two ids and padding.
        Assert.Equal(Enumerable.Range(0, 16).Select(i => i % 2 == 0 ? 2f : 16f), batch.Values[..16]);
        Assert.Equal([8f, 18f, .. new float[14]], batch.Values[16..32]);
    }

    [Theory]
    [InlineData(new[] { "--text-column", "review" }, "text column 'review' not found in")]
    [InlineData(new[] { "--text-column", "text", "--max-length", "8" }, "--max-length 8: the model takes exactly 16 tokens per text")]
    [InlineData(new[] { "--text-column", "text", "--vocab", "vocab.txt" }, "--vocab does not apply with --tokenizer")]
    [InlineData(new[] { "--text-column", "text", "--labels", "labels.npy" }, "--labels does not apply to a table of texts")]
    public void Options_that_cannot_work_are_one_line_errors(string[] options, string message)
    {
        var resolved = options.Select(o => o.EndsWith(".txt", StringComparison.Ordinal) || o.EndsWith(".npy", StringComparison.Ordinal) ? TextTableRunsFixture.Fixture(o) : o);
        var (code, _, err) = CliHarness.Percept(["analyze", "--model", TextTableRunsFixture.Fixture("model-tokenizer-inputs.onnx"), "--data", TextTableRunsFixture.Fixture("reviews.csv"),
            "--tokenizer", TextTableRunsFixture.Fixture("reviews-tokenizer.json"), .. resolved, "--out", runs["refused"]]);
        Assert.Equal(1, code);
        Assert.Contains(message, CliHarness.OneLineError(err));
        Assert.False(Directory.Exists(runs["refused"]));
    }

    [Fact]
    public void A_tokenizer_for_a_model_that_takes_no_token_ids_says_so()
    {
        var (code, _, err) = CliHarness.Percept("analyze", "--model", TestFiles.DemoModel, "--data", TextTableRunsFixture.Fixture("reviews.csv"),
            "--text-column", "text", "--tokenizer", TextTableRunsFixture.Fixture("reviews-tokenizer.json"), "--out", runs["image-model"]);
        Assert.Equal(1, code);
        Assert.Equal("error: --tokenizer applies to models that take token ids; this model's input takes numbers", CliHarness.OneLineError(err));
    }

    [Fact]
    public void A_tokenizer_with_more_ids_than_the_models_embedding_is_not_its_tokenizer()
    {
        var (code, _, err) = CliHarness.Percept("analyze", "--model", TextTableRunsFixture.Fixture("model-tokenizer-inputs.onnx"), "--data", TextTableRunsFixture.Fixture("reviews.csv"),
            "--text-column", "text", "--tokenizer", Path.Combine(TestFiles.Root, "tests", "fixtures", "text", "bert-tiny", "tokenizer.json"), "--out", runs["foreign"]);
        Assert.Equal(1, code);
        Assert.Contains("has 40 token ids; the model's embedding has 34 rows: it is not this model's tokenizer", CliHarness.OneLineError(err));
    }
}
