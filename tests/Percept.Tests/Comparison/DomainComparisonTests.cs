using System.IO.Compression;
using System.Text.Json;
using Percept.Comparison;
using Percept.Data;
using Percept.Store;
using Percept.Tests.Cli;

namespace Percept.Tests.Comparison;

/// <summary>
/// A domain comparison with planted answers: the demo model on the first half of the bundled test split (A) against the
/// second half with every Trouser and Bag left out and one image in six inverted (B, as tools/make_shifted_fmnist.py makes
/// from the training split), and against the second half as it is (C, no gap).
/// </summary>
public class DomainComparisonTests(DomainComparisonTests.Runs runs) : IClassFixture<DomainComparisonTests.Runs>
{
    public sealed class Runs : IDisposable
    {
        readonly TempDir _dir = new();
        public Run A { get; }
        public Run Shifted { get; }
        public Run Same { get; }
        public Run ShiftedByEpoch1 { get; }
        /// <summary>500 samples of C: drawn like A, a tenth of its size.</summary>
        public Run Small { get; }
        /// <summary>Indices in <see cref="Shifted"/> of the inverted images.</summary>
        public HashSet<int> Inverted { get; } = [];
        public string[] Classes { get; } = File.ReadAllLines(TestFiles.FashionClasses).Where(l => l.Length > 0).ToArray();

        public Runs()
        {
            var (images, rows, cols) = ReadIdx(TestFiles.FashionImages);
            var (labels, _, _) = ReadIdx(TestFiles.FashionLabels);
            int n = labels.Length, half = n / 2, size = rows * cols;
            int trouser = Array.IndexOf(Classes, "Trouser"), bag = Array.IndexOf(Classes, "Bag");
            WriteIdx(_dir["a-images.gz"], images.AsSpan(0, half * size), half, rows, cols);
            WriteIdx(_dir["a-labels.gz"], labels.AsSpan(0, half), half);
            WriteIdx(_dir["c-images.gz"], images.AsSpan(half * size), n - half, rows, cols);
            WriteIdx(_dir["c-labels.gz"], labels.AsSpan(half), n - half);
            var shifted = new List<byte>(); var shiftedLabels = new List<byte>();
            for (int i = half; i < n; i++)
            {
                if (labels[i] == trouser || labels[i] == bag) continue;
                var image = images.AsSpan(i * size, size).ToArray();
                if (shiftedLabels.Count % 6 == 5)
                {
                    for (int p = 0; p < size; p++) image[p] = (byte)(255 - image[p]);
                    Inverted.Add(shiftedLabels.Count);
                }
                shifted.AddRange(image); shiftedLabels.Add(labels[i]);
            }
            WriteIdx(_dir["s-images.gz"], images.AsSpan(half * size, 500 * size), 500, rows, cols);
            WriteIdx(_dir["s-labels.gz"], labels.AsSpan(half, 500), 500);
            WriteIdx(_dir["b-images.gz"], shifted.ToArray(), shiftedLabels.Count, rows, cols);
            WriteIdx(_dir["b-labels.gz"], shiftedLabels.ToArray(), shiftedLabels.Count);
            A = Analyse(TestFiles.DemoModel, "a", "a");
            Shifted = Analyse(TestFiles.DemoModel, "b", "b");
            Same = Analyse(TestFiles.DemoModel, "c", "c");
            Small = Analyse(TestFiles.DemoModel, "s", "s");
            ShiftedByEpoch1 = Analyse(Path.Combine(TestFiles.Root, "models", "fmnist-cnn", "epoch-1.onnx"), "b", "b1");
        }

        Run Analyse(string model, string data, string name) => Analysis.Run(new AnalysisOptions
        {
            ModelPath = model,
            Data = new DataSource { Path = _dir[$"{data}-images.gz"], LabelsPath = _dir[$"{data}-labels.gz"], ClassNamesPath = TestFiles.FashionClasses },
            OutputDirectory = _dir[name],
            BatchSize = 500,
            Insights = false,
            Map = new Percept.Projection.MapOptions { Method = Percept.Projection.MapMethod.None },
        });

        static (byte[] Data, int Rows, int Cols) ReadIdx(string path)
        {
            using var gz = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
            using var ms = new MemoryStream();
            gz.CopyTo(ms);
            var all = ms.ToArray();
            int dims = all[3];
            int Dim(int d) => (all[4 + 4 * d] << 24) | (all[5 + 4 * d] << 16) | (all[6 + 4 * d] << 8) | all[7 + 4 * d];
            return (all[(4 + 4 * dims)..], dims > 1 ? Dim(1) : 0, dims > 2 ? Dim(2) : 0);
        }

        static void WriteIdx(string path, ReadOnlySpan<byte> payload, params int[] shape)
        {
            using var gz = new GZipStream(File.Create(path), CompressionLevel.Fastest);
            gz.Write([0, 0, 8, (byte)shape.Length]);
            foreach (int d in shape) gz.Write([(byte)(d >> 24), (byte)(d >> 16), (byte)(d >> 8), (byte)d]);
            gz.Write(payload);
        }

        public void Dispose() => _dir.Dispose();
    }

    [Fact]
    public void Runs_of_positional_ids_over_different_files_are_two_datasets_and_the_same_file_is_the_same_samples()
    {
        string?[] Ids(Run r) { using var t = r.OpenSamples(); return t.ReadText("id"); }
        Assert.Equal(SampleMatching.Datasets, RunComparison.Decide(runs.A, runs.Shifted, Ids(runs.A), Ids(runs.Shifted)));
        Assert.Equal(SampleMatching.Datasets, RunComparison.Decide(runs.A, runs.Same, Ids(runs.A), Ids(runs.Same)));
        Assert.Equal(SampleMatching.Samples, RunComparison.Decide(runs.Shifted, runs.ShiftedByEpoch1, Ids(runs.Shifted), Ids(runs.ShiftedByEpoch1)));
        var d = RunComparison.Compare(runs.A, runs.Shifted);
        Assert.NotNull(d.Domain);
        Assert.Null(d.Predictions);
        Assert.Equal(new SampleMatch("none", 0, runs.A.Count, runs.Shifted.Count), d.Samples);
    }

    [Fact]
    public void The_gap_card_names_the_classes_left_out_and_the_inverted_images_added()
    {
        var d = RunComparison.Compare(runs.A, runs.Shifted);
        var g = d.Domain!;
        var verdicts = g.Regions.ToDictionary(r => r.Name, r => r.Verdict);
        Assert.Equal("empty", verdicts["Trouser"]);
        Assert.Equal("empty", verdicts["Bag"]);
        Assert.All(g.Regions.Where(r => r.Name is not ("Trouser" or "Bag")), r => Assert.True(r.Verdict is "filled" or "crowded", $"{r.Name}: {r.Verdict}"));
        Assert.Contains("Trouser", g.Card);
        Assert.Contains("Bag", g.Card);
        Assert.Contains("adds", g.Card);

        // The added samples are the inverted images: most of them found, and little else.
        var added = g.Added.SelectMany(x => x.IndicesB).ToHashSet();
        Assert.Equal(g.AddedB, g.Added.Sum(x => x.Count));
        int hits = added.Count(runs.Inverted.Contains);
        Assert.True(hits >= 0.8 * runs.Inverted.Count, $"inverted images found: {hits} of {runs.Inverted.Count}");
        Assert.True(hits >= 0.9 * added.Count, $"added samples that are inverted: {hits} of {added.Count}");
        Assert.InRange(g.Separability, 0.55, 1);

        // Per class, each run's own accuracy, computed here from its samples.
        using var t = runs.Shifted.OpenSamples();
        var labels = t.ReadInt32(Percept.Perception.PerceptionFields.Label);
        var predictions = t.ReadInt32(Percept.Perception.PerceptionFields.Prediction);
        foreach (var c in d.PerClass)
        {
            int y = Array.IndexOf(runs.Classes, c.Class);
            int count = labels.Count(l => l == y), right = Enumerable.Range(0, labels.Length).Count(i => labels[i] == y && predictions[i] == y);
            Assert.Equal(count, c.CountB);
            if (count > 0) Assert.Equal(right / (double)count, c.AccuracyB!.Value, 12);
            else Assert.Null(c.AccuracyB);
        }
        Assert.Equal(5_000, d.PerClass.Sum(c => c.Count));
    }

    [Fact]
    public void Data_drawn_like_A_shows_no_gap()
    {
        var g = RunComparison.Compare(runs.A, runs.Same).Domain!;
        Assert.InRange(g.Separability, 0.46, 0.54);
        Assert.All(g.Regions, r => Assert.Equal("filled", r.Verdict));
        Assert.True(g.AddedB < 0.01 * runs.Same.Count, $"added: {g.AddedB}");
        Assert.StartsWith("no domain gap", g.Card);
    }

    [Fact]
    public void Datasets_of_very_different_sizes_drawn_alike_show_no_gap_either_way()
    {
        foreach (var (a, b) in new[] { (runs.A, runs.Small), (runs.Small, runs.A) })
        {
            var g = RunComparison.Compare(a, b).Domain!;
            Assert.Equal((500, 500), (g.MeasuredA, g.MeasuredB));
            Assert.InRange(g.Separability, 0.44, 0.56);
            Assert.All(g.Regions, r => Assert.Equal("filled", r.Verdict));
            Assert.True(g.AddedB < 0.03 * b.Count && g.UnfilledA < 0.03 * a.Count, $"added {g.AddedB} of {b.Count}, unfilled {g.UnfilledA} of {a.Count}");
            Assert.StartsWith("no domain gap", g.Card);
        }
    }

    [Fact]
    public void Two_datasets_need_one_model()
    {
        var e = Assert.Throws<PerceptException>(() => RunComparison.Compare(runs.A, runs.ShiftedByEpoch1));
        Assert.Contains("different models", e.Message);
    }

    [Fact]
    public void The_cli_prints_the_gap_and_writes_it_in_the_json_document()
    {
        var (code, stdout, stderr) = CliHarness.Percept("compare", runs.A.Directory, runs.Shifted.Directory, "--json");
        Assert.True(code == 0, stderr);
        using var doc = JsonDocument.Parse(stdout);
        var domain = doc.RootElement.GetProperty("domain");
        Assert.Contains("Trouser", domain.GetProperty("card").GetString());
        Assert.Equal("none", doc.RootElement.GetProperty("samples").GetProperty("by").GetString());
        var text = CliHarness.Percept("compare", runs.A.Directory, runs.Shifted.Directory, "--match", "samples");
        Assert.Equal(0, text.Item1);
        Assert.Matches(@"matched by id: [\d,]+ samples", text.Item2);
        var bad = CliHarness.Percept("compare", runs.A.Directory, runs.Shifted.Directory, "--match", "rows");
        Assert.NotEqual(0, bad.Item1);
        Assert.Single(bad.Item3.Trim().Split('\n'));
    }
}
