using System.Security.Cryptography;
using Percept.Cli;

namespace Percept.Tests.Corpus;

/// <summary>
/// The bad-input corpus (tests/corpus/, written by tools/make_corpus.py): each case is a command line over small broken
/// inputs with the exit code and the start of the one line it must print. Every case runs on a copy of its folder and
/// must give exactly that: one line on stderr, no stack trace, no run left behind, and every file it was given unchanged.
/// </summary>
public class BadInputCorpusTests : IClassFixture<BadInputCorpusTests.Inputs>
{
    static string CorpusRoot => Path.Combine(TestFiles.Root, "tests", "corpus");

    /// <summary>What cases refer to besides their own files: a 4-feature 3-class model, and a finished run to serve.</summary>
    public sealed class Inputs : IDisposable
    {
        readonly TempDir _dir = new();
        public string Mlp { get; }
        public string MlpExternalMissing { get; }
        public string Run { get; }
        /// <summary>Shards for the merge's refusals: 1, 2 and 3 of 3 of one analysis, and shards that do not belong with them.</summary>
        public Dictionary<string, string> Shards { get; } = [];

        public Inputs()
        {
            Mlp = TinyModels.Mlp(_dir["mlp.onnx"], 4, 6, 3);
            // The same model with its weights moved to an external data file (as PyTorch ≥ 2 writes large models) that is not there.
            var proto = Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(Mlp));
            foreach (var t in proto.Graph.Initializer)
            {
                long bytes = (t.FloatData.Count > 0 ? t.FloatData.Count : t.RawData.Length / 4) * 4L;
                t.FloatData.Clear();
                t.RawData = Google.Protobuf.ByteString.Empty;
                t.DataLocation = Onnx.TensorProto.Types.DataLocation.External;
                t.ExternalData.Add(new Onnx.StringStringEntryProto { Key = "location", Value = "weights.bin" });
                t.ExternalData.Add(new Onnx.StringStringEntryProto { Key = "length", Value = bytes.ToString(System.Globalization.CultureInfo.InvariantCulture) });
            }
            Directory.CreateDirectory(_dir["external"]);
            MlpExternalMissing = _dir["external/model.onnx"];
            File.WriteAllBytes(MlpExternalMissing, Google.Protobuf.MessageExtensions.ToByteArray(proto));
            File.WriteAllText(_dir["t.csv"], "a,b,c,d,label\n" + string.Concat(Enumerable.Range(0, 30).Select(i => $"{i % 5},{i % 7},{i % 3},{i % 2},{i % 3}\n")));
            Run = Analysis.Run(new AnalysisOptions
            {
                ModelPath = Mlp, Data = new Percept.Data.DataSource { Path = _dir["t.csv"] }, OutputDirectory = _dir["run"],
                Map = new Percept.Projection.MapOptions { Method = Percept.Projection.MapMethod.None },
            }).Directory;
            // 3,100 rows make four statistics segments: three shards, and the foreign ones.
            static string Rows(int seed) => "a,b,c,d,label\n" + string.Concat(Enumerable.Range(0, 3100).Select(i => $"{(i * seed) % 5},{i % 7},{i % 3},{i % 2},{i % 3}\n"));
            File.WriteAllText(_dir["big.csv"], Rows(1));
            File.WriteAllText(_dir["other.csv"], Rows(3));
            string otherModel = TinyModels.Mlp(_dir["mlp-other.onnx"], 4, 6, 3, seed: 2);
            string Shard(string name, int index, int count, string? model = null, string data = "big.csv", int batch = 256) =>
                Shards[name] = Percept.Analysis.Shard(new AnalysisOptions
                {
                    ModelPath = model ?? Mlp, Data = new Percept.Data.DataSource { Path = _dir[data] }, OutputDirectory = _dir[$"shards/{name}"], BatchSize = batch,
                }, new Percept.Data.ShardSpec(index, count)).Directory;
            Shard("shard1", 0, 3); Shard("shard2", 1, 3); Shard("shard3", 2, 3);
            Shard("shard2-other-model", 1, 3, otherModel);
            Shard("shard2-other-data", 1, 3, data: "other.csv");
            Shard("shard2-other-batch", 1, 3, batch: 128);
            Shard("shard1-of-4", 0, 4);
        }

        public void Dispose() => _dir.Dispose();
    }

    readonly Inputs _inputs;
    public BadInputCorpusTests(Inputs inputs) => _inputs = inputs;

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (var dir in Directory.GetDirectories(CorpusRoot).Order(StringComparer.Ordinal)) data.Add(Path.GetFileName(dir));
        return data;
    }

    [Fact]
    public void The_corpus_covers_every_kind_of_input()
    {
        var names = Directory.GetDirectories(CorpusRoot).Select(d => Path.GetFileName(d)!).ToArray();
        foreach (var kind in new[] { "idx-", "npy-", "csv-", "onnx-", "image-", "manifest-", "parquet-", "text-", "serve-", "merge-", "shard-" }) Assert.Contains(names, n => n.StartsWith(kind, StringComparison.Ordinal));
        Assert.True(names.Length >= 30, $"{names.Length} cases");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Bad_input_gives_its_exit_code_and_one_clear_line(string name)
    {
        using var dir = new TempDir();
        string work = dir["case"];
        Copy(Path.Combine(CorpusRoot, name), work);
        File.Delete(Path.Combine(work, "args"));
        File.Delete(Path.Combine(work, "expect"));
        var before = Snapshot(work);
        var args = File.ReadAllLines(Path.Combine(CorpusRoot, name, "args")).Select(a => a
            .Replace("{case}", work, StringComparison.Ordinal).Replace("{repo}", TestFiles.Root, StringComparison.Ordinal)
            .Replace("{mlp-external-missing}", _inputs.MlpExternalMissing, StringComparison.Ordinal).Replace("{mlp}", _inputs.Mlp, StringComparison.Ordinal).Replace("{run}", _inputs.Run, StringComparison.Ordinal))
            .Select(a => a.StartsWith("{shard", StringComparison.Ordinal) && a.EndsWith('}') ? _inputs.Shards[a[1..^1]] : a).ToArray();
        var expect = File.ReadAllLines(Path.Combine(CorpusRoot, name, "expect"));

        var (stdout, stderr) = (new StringWriter(), new StringWriter());
        int code = CommandLine.Run(args, stdout, stderr, default);
        string err = stderr.ToString().TrimEnd();

        Assert.True(code == int.Parse(expect[0], System.Globalization.CultureInfo.InvariantCulture), $"{name}: exit {code}, expected {expect[0]}; stderr: {err}");
        if (code == 0)
        {
            // Input Percept takes with a warning: the run is made (at out/), every line is a warning, and the expected
            // one is said once.
            Assert.All(err.Split('\n'), line => Assert.StartsWith("warning: ", line));
            err = Assert.Single(err.Split('\n'), line => line.StartsWith(expect[1], StringComparison.Ordinal));
            Assert.True(Directory.Exists(Path.Combine(work, "out")), $"{name}: no run");
            Directory.Delete(Path.Combine(work, "out"), recursive: true);
        }
        Assert.True(!err.Contains('\n'), $"{name}: more than one line on stderr:\n{err}");
        Assert.StartsWith(expect[1], err);
        // A third line, when there is one, is a part of the message that must be in it (after a path, say).
        if (expect.Length > 2) Assert.Contains(expect[2], err);
        Assert.DoesNotContain("   at ", err);
        Assert.DoesNotContain("Exception", err);
        // No run appeared or was half-written, and no file the command was given changed or went.
        Assert.Equal(before, Snapshot(work));
    }

    static void Copy(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from)) File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
        foreach (var d in Directory.GetDirectories(from)) Copy(d, Path.Combine(to, Path.GetFileName(d)));
    }

    /// <summary>Every file and folder under <paramref name="root"/> (hidden ones too) with its content's hash.</summary>
    static SortedDictionary<string, string> Snapshot(string root) => new(
        Directory.GetFileSystemEntries(root, "*", SearchOption.AllDirectories).ToDictionary(
            p => Path.GetRelativePath(root, p),
            p => File.Exists(p) ? Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(p))) : "folder"), StringComparer.Ordinal);
}
