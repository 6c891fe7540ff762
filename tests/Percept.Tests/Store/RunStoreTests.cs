using System.Text.RegularExpressions;
using Percept.Data;
using Percept.Insights;
using Percept.IO;
using Percept.Neighbors;
using Percept.Perception;
using Percept.Projection;
using Percept.Store;

namespace Percept.Tests.Store;

/// <summary>The run store: fields written and read by row range, fields larger than an array, updates, the schema's documentation, one graph per run.</summary>
public class RunStoreTests
{
    static readonly Field Wide = new() { Name = "wide", Type = FieldType.Float32, Owner = "Tests", Description = "test rows" };
    static readonly Field Counts = new() { Name = "counts", Type = FieldType.Int32, Kind = FieldKind.Count, Owner = "Tests", Description = "a count per row" };

    [Theory]
    [InlineData(1, 1)]
    [InlineData(7, 13)]
    [InlineData(1000, 3)]
    [InlineData(257, 129)]
    public void Fields_read_back_by_any_row_range_as_written(int rows, int width)
    {
        using var dir = new TempDir();
        var rng = new Random(rows * 31 + width);
        var values = Enumerable.Range(0, rows * width).Select(_ => (float)rng.NextDouble()).ToArray();
        var ints = Enumerable.Range(0, rows).Select(i => i * 7 - 3).ToArray();
        using (var writer = new RunWriter(dir["run"], overwrite: false, warn: null))
        {
            // Appended in uneven pieces, as a stage streams them.
            using (var w = writer.Create(Wide, width))
                for (int start = 0; start < rows;)
                {
                    int n = Math.Min(rows - start, 1 + rng.Next(5));
                    w.Append(values.AsSpan(start * width, n * width));
                    start += n;
                }
            writer.Write(Counts, ints);
            Assert.Equal([Counts.Name, Wide.Name], writer.Fields.Select(f => f.Name).Order());
            using var back = writer.Open(Wide);
            Assert.Equal((rows, width), (back.Rows, back.Columns));
            for (int t = 0; t < 20; t++)
            {
                int start = rng.Next(rows), count = rng.Next(rows - start + 1);
                var got = new float[count * width];
                back.Read(start, count, got);
                Assert.Equal(values.AsSpan(start * width, count * width).ToArray(), got);
            }
            Assert.Equal(values, back.ReadAll());
            using var c = writer.Open(Counts);
            Assert.Equal(ints, c.ReadAllInt32());
            Assert.Throws<ArgumentOutOfRangeException>(() => back.Read(rows - 1, 2, new float[2 * width]));
        }
        // A scalar field is a vector for NumPy users; a wider one a matrix.
        Assert.False(Directory.Exists(dir["run"]));
    }

    [Fact]
    public void A_field_larger_than_an_array_streams_and_refuses_to_load_whole()
    {
        // 600,000 × 4,096 float32 values (2.46·10⁹, 9.8 GB): a sparse file, so the test costs no disk.
        using var dir = new TempDir();
        const int rows = 600_000, width = 4096;
        string path = dir["big.npy"];
        using (var f = new FileStream(path, FileMode.Create))
        {
            f.Write(Npy.BuildHeader(NpyType.Float32, [rows, width]));
            f.Seek(f.Position + (long)rows * width * sizeof(float) - 4, SeekOrigin.Begin);
            f.Write(BitConverter.GetBytes(7.5f));
        }
        var entry = new FieldEntry("embedding", "Perception", FieldType.Float32, FieldLayout.Matrix, FieldKind.Vector, true, rows, width, "big.npy", "test");
        using var reader = new FieldReader(entry, path);
        Assert.True(reader.Elements > int.MaxValue);
        var last = new float[2 * width];
        reader.Read(rows - 2, 2, last);
        Assert.Equal(7.5f, last[^1]);
        Assert.All(last[..^1], v => Assert.Equal(0f, v));
        Assert.Contains("read it by row range", Assert.Throws<PerceptException>(() => reader.ReadAll()).Message);
        Assert.Contains("by row range", Assert.Throws<PerceptException>(() => Matrix.From(reader)).Message);
    }

    [Fact]
    public void An_update_appears_whole_at_commit_or_not_at_all()
    {
        using var dir = new TempDir();
        Run run;
        using (var writer = new RunWriter(dir["run"], overwrite: false, warn: null))
        {
            writer.Write(Counts, [1, 2, 3]);
            run = writer.Commit(Manifest(3));
        }
        using (var update = run.Update())
        {
            update.Write(Counts, [4, 5, 6]);
            update.Write(Wide, new float[] { 1, 2, 3, 4, 5, 6 }, 2);
            // Until the commit, readers see the run as it was.
            Assert.Equal([1, 2, 3], Run.Open(run.Directory).ReadInt32(Counts));
            Assert.False(Run.Open(run.Directory).Has(Wide));
        }
        // Disposed without a commit: nothing changed, nothing left behind.
        Assert.Equal([1, 2, 3], Run.Open(run.Directory).ReadInt32(Counts));
        Assert.DoesNotContain(Directory.EnumerateFiles(run.Directory, "*", SearchOption.AllDirectories), f => f.EndsWith(".tmp", StringComparison.Ordinal));
        using (var update = run.Update())
        {
            update.Write(Counts, [4, 5, 6]);
            update.Write(Wide, new float[] { 1, 2, 3, 4, 5, 6 }, 2);
            run = update.Commit();
        }
        Assert.Equal([4, 5, 6], run.ReadInt32(Counts));
        Assert.Equal((3, 2), (run.Entry(Wide).Rows, run.Entry(Wide).Width));
        Assert.Equal(2, run.Fields.Count);
        // The field kept its file; only the files the manifest names remain.
        var files = Directory.EnumerateFiles(run.Directory, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(run.Directory, f)).Order().ToArray();
        Assert.Equal(run.Fields.Select(f => f.File!).Append("run.json").Order(), files);
        // A field still being written cannot be committed.
        using (var update = run.Update())
        {
            var open = update.Create(Counts, 1);
            Assert.Throws<InvalidOperationException>(() => update.Commit());
            open.Dispose();
        }
    }

    [Fact]
    public void A_folder_fingerprint_ignores_hidden_files_and_the_system_s_order()
    {
        using var dir = new TempDir();
        foreach (var f in new[] { "1/a.png", "10/b.png", "2/c.png" })
        {
            Directory.CreateDirectory(Path.GetDirectoryName(dir[f])!);
            File.WriteAllBytes(dir[f], new byte[f.Length]);
        }
        string before = RunSources.Fingerprint(dir.Path);
        File.WriteAllText(dir[".DS_Store"], "finder");
        Directory.CreateDirectory(dir["10/.thumbs"]);
        File.WriteAllText(dir["10/.thumbs/x"], "cache");
        Assert.Equal(before, RunSources.Fingerprint(dir.Path));
        File.WriteAllBytes(dir["2/c.png"], new byte[99]);
        Assert.NotEqual(before, RunSources.Fingerprint(dir.Path));
    }

    static RunManifest Manifest(int count) => new()
    {
        Created = DateTimeOffset.UnixEpoch, PerceptVersion = "test",
        Model = new RunManifest.ModelSection("m.onnx", null, "", "x", [-1, 2], "y", [-1, 2], "logits", 17, "test"),
        Data = new RunManifest.DataSection("test", "x.npy", null, null, "all", count, 0, false, "", []),
        Perception = new RunManifest.PerceptionSection("mean", 0, 0, 2, 2, false, []),
    };

    [Fact]
    public void The_run_format_document_lists_the_schema_as_the_code_declares_it()
    {
        string doc = File.ReadAllText(Path.Combine(TestFiles.Root, "docs", "run-format.md"));
        var table = Regex.Match(doc, "<!-- schema:begin -->\n(.*?)<!-- schema:end -->", RegexOptions.Singleline);
        Assert.True(table.Success, "docs/run-format.md has no schema table markers");
        Assert.Equal(RunSchema.MarkdownTable(), table.Groups[1].Value);
    }

    [Fact]
    public void Every_declared_field_has_one_owner_and_a_unique_name()
    {
        var all = RunSchema.All;
        Assert.Equal(all.Count, all.Select(f => f.Name).Distinct().Count());
        Assert.All(all, f => Assert.False(string.IsNullOrWhiteSpace(f.Description)));
        Assert.All(all, f => Assert.DoesNotContain(':', f.Name));
        Assert.Equal(PerceptionFields.Layer.Name + ":conv1", RunSchema.Find("layer:conv1")!.Name);
        Assert.Null(RunSchema.Find("nonsense"));
    }

    [Fact]
    public void An_analysis_builds_its_neighbour_graph_once_and_every_reader_reuses_it()
    {
        using var dir = new TempDir();
        var rng = new Random(3);
        int n = 600, features = 12;
        // Three separated clusters, so the map and insights have something to find.
        Npy.Write(dir["x.npy"], Enumerable.Range(0, n * features).Select(i => (float)(rng.NextDouble() + 3 * ((i / features) % 3 == i % features % 3 ? 1 : 0))).ToArray(), n, features);
        Npy.Write(dir["y.npy"], Enumerable.Range(0, n).Select(i => (long)(i % 3)).ToArray(), n);
        string model = TinyModels.Mlp(dir["m.onnx"], features, 16, 3);
        Run run;
        using (GraphBuilds.Watch(out var builds))
        {
            run = Analysis.Run(new AnalysisOptions
            {
                ModelPath = model, Data = new DataSource { Path = dir["x.npy"], LabelsPath = dir["y.npy"] }, OutputDirectory = dir["run"],
                Map = new MapOptions { Method = MapMethod.Umap },
            });
            var space = run.Manifest.Neighbors!;
            // One graph of the perception vectors; the only other is of the 2-D map (for each point's preservation).
            var perception = Assert.Single(builds, b => b.Dimensions == space.SpaceDimensions);
            Assert.Equal((n, 15), (perception.Points, perception.K));
            Assert.All(builds.Where(b => b != perception), b => Assert.Equal(2, b.Dimensions));
        }
        Assert.Equal(1.0, run.Manifest.Neighbors!.Recall);
        Assert.True(run.Has(InsightFields.LabelIssue));
        using (GraphBuilds.Watch(out var builds))
        {
            // Insights again, Fetch Similar, the report's neighbour table: all from the stored graph.
            var doc = PopulationInsights.Compute(run);
            Assert.Equal(run.ReadFloat32(InsightFields.LabelIssue), doc.LabelIssue);
            using var similar = new SimilarSamples(run);
            var nearest = similar.Nearest(5, 20);
            Assert.Equal(20, nearest.Length);
            Assert.True(nearest.Zip(nearest.Skip(1)).All(p => p.First.Similarity >= p.Second.Similarity));
            var (indices, _, k) = SimilarSamples.All(run, 12);
            Assert.Equal((n * 12, 12), (indices.Length, k));
            Assert.Empty(builds);
        }
    }

    [Fact]
    public void Fetch_similar_from_the_graph_finds_the_exact_cosine_neighbours()
    {
        using var dir = new TempDir();
        var rng = new Random(5);
        int n = 800, features = 10;
        Npy.Write(dir["x.npy"], Enumerable.Range(0, n * features).Select(_ => (float)rng.NextDouble()).ToArray(), n, features);
        string model = TinyModels.Mlp(dir["m.onnx"], features, 24, 4);
        var run = Analysis.Run(new AnalysisOptions
        {
            ModelPath = model, Data = new DataSource { Path = dir["x.npy"] }, OutputDirectory = dir["run"],
            Map = new MapOptions { Method = MapMethod.None }, Insights = false,
        });
        var vectors = run.ReadMatrix(PerceptionFields.Embedding);
        var exact = ExactKnn.Search(vectors, 10, Metric.Cosine);
        using var similar = new SimilarSamples(run);
        double hits = 0;
        for (int i = 0; i < n; i += 7)
        {
            var truth = exact.NeighborsOf(i).ToArray().ToHashSet();
            hits += similar.Nearest(i, 10).Count(s => truth.Contains(s.Index)) / 10.0;
        }
        Assert.True(hits / ((n + 6) / 7) >= 0.97, $"recall@10 {hits / ((n + 6) / 7):F3}");
    }
}
