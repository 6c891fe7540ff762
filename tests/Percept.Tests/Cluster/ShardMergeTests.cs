using Percept.Cluster;
using Percept.Data;
using Percept.IO;
using Percept.Neighbors;
using Percept.Perception;
using Percept.Projection;
using Percept.Store;

namespace Percept.Tests.Cluster;

/// <summary>Shards of an analysis merged into one run equal the single pass: the same rows, bit-identical outputs and vectors.</summary>
public class ShardMergeTests
{
    static AnalysisOptions Demo(string output, string? data = null, string? labels = null) => new()
    {
        ModelPath = TestFiles.DemoModel,
        Data = new DataSource { Path = data ?? TestFiles.FashionImages, LabelsPath = labels ?? TestFiles.FashionLabels, ClassNamesPath = TestFiles.FashionClasses },
        OutputDirectory = output,
    };

    /// <summary>Every field file the two runs share, byte for byte; and every column of their samples tables.</summary>
    static void AssertSameRuns(Run single, Run merged, params string[] fields)
    {
        foreach (string name in fields)
        {
            var a = single.Find(name) ?? throw new InvalidOperationException($"the single run lacks {name}");
            var b = merged.Find(name) ?? throw new InvalidOperationException($"the merged run lacks {name}");
            Assert.True(File.ReadAllBytes(Path.Combine(single.Directory, a.File!)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(merged.Directory, b.File!))),
                $"{name} differs");
        }
        using var x = single.OpenSamples();
        using var y = merged.OpenSamples();
        Assert.Equal(x.Columns.Select(c => c.Name), y.Columns.Select(c => c.Name));
        foreach (var column in x.Columns) Assert.Equal(x.ReadValues(column.Name), y.ReadValues(column.Name));
    }

    [Fact]
    public void Four_shards_of_the_demo_merge_into_the_single_machine_run()
    {
        using var dir = new TempDir();
        var single = Analysis.Run(Demo(dir["single"]));
        // The IDX reader cannot seek: each shard reads (and drops) the samples before its slice.
        var shards = Enumerable.Range(0, 4).Select(i => Analysis.Shard(Demo(dir[$"shards/{i}"]), new ShardSpec(i, 4))).ToArray();
        Assert.Equal(single.Manifest.Data.Count, shards.Sum(s => s.Manifest.Shard!.Rows));
        Assert.All(shards, s => Assert.True(File.Exists(Path.Combine(s.Directory, ShardStatistics.RowsFile)), "no samples.parquet in the shard"));
        var merged = ShardMerge.Merge([dir["shards"]], new MergeOptions { OutputDirectory = dir["merged"] });

        string[] layers = [.. single.Manifest.Perception.Layers.Select(l => l.Field)];
        string[] stats = [.. single.Manifest.Perception.Layers.Select(l => l.StatsField)];
        AssertSameRuns(single, merged, [PerceptionFields.Logits.Name, PerceptionFields.Probabilities.Name, PerceptionFields.Embedding.Name, .. layers, .. stats]);
        Assert.Equal(single.Manifest.Summary!.Accuracy, merged.Manifest.Summary!.Accuracy);
        Assert.Equal(single.Manifest.Summary.MeanLoss!.Value, merged.Manifest.Summary.MeanLoss!.Value, 9);
        Assert.Equal(single.Manifest.Perception with { Layers = [] }, merged.Manifest.Perception with { Layers = [] });
        Assert.Equal(single.Manifest.Perception.Layers, merged.Manifest.Perception.Layers);
        Assert.InRange(merged.Manifest.Map!.Trustworthiness, single.Manifest.Map!.Trustworthiness - 0.005, single.Manifest.Map.Trustworthiness + 0.005);
        // The same insight cards.
        var cards = (Run r) => System.Text.Json.JsonDocument.Parse(global::Percept.Insights.InsightsStore.ReadJson(r)!).RootElement.GetProperty("insights").EnumerateArray()
            .Select(c => c.GetProperty("title").GetString()).ToArray();
        Assert.Equal(cards(single), cards(merged));
        // A shard is not a run for the commands that read runs.
        var e = Assert.Throws<PerceptException>(() => Run.Open(shards[0].Directory));
        Assert.Contains("is shard 1 of 4 of an analysis, not a run", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Shards_of_a_seekable_dataset_with_odd_batches_merge_bit_for_bit()
    {
        using var dir = new TempDir();
        // 3,333 images as a float .npy (which seeks), batches of 100: segments of 1,100 samples, so four of them, the last short.
        float[] pixels;
        long[] labels;
        using (var idx = new IdxDataset(TestFiles.FashionImages, TestFiles.FashionLabels))
        {
            var rows = new List<float>();
            var y = new List<long>();
            foreach (var b in idx.ReadBatches(1111))
            {
                rows.AddRange(b.Values.AsSpan(0, b.Count * 784).ToArray().Select(v => v / 255f));
                y.AddRange(b.Labels.Take(b.Count).Select(l => (long)l));
                if (y.Count >= 3333) break;
            }
            pixels = [.. rows.Take(3333 * 784)];
            labels = [.. y.Take(3333)];
        }
        Npy.Write(dir["x.npy"], pixels, 3333, 28, 28);
        Npy.Write(dir["y.npy"], labels, 3333);
        AnalysisOptions Options(string output) => Demo(output, dir["x.npy"], dir["y.npy"]) with
        {
            BatchSize = 100, Insights = false, Map = new MapOptions { Method = MapMethod.Pca },
        };
        var single = Analysis.Run(Options(dir["single"]));
        Assert.Equal(1100, PerceptionPass.SegmentLength(100));
        var shards = new[] { 2, 0, 1 }.Select(i => Analysis.Shard(Options(dir[$"s{i}"]), new ShardSpec(i, 3))).ToArray();
        Assert.Equal([(0, 1100), (1100, 1100), (2200, 1133)], shards.OrderBy(s => s.Manifest.Shard!.Index).Select(s => (s.Manifest.Shard!.Start, s.Manifest.Shard.SliceCount)));
        var merged = ShardMerge.Merge([dir["s2"], dir["s0"], dir["s1"]], new MergeOptions { OutputDirectory = dir["merged"], Map = new MapOptions { Method = MapMethod.Pca }, Insights = false });
        AssertSameRuns(single, merged, PerceptionFields.Logits.Name, PerceptionFields.Embedding.Name, MapFields.Map.Name);
    }

    /// <summary>Cancels when the model pass reports its first batch: a shard task killed mid-way.</summary>
    sealed class KillMidway(CancellationTokenSource cts) : IProgress<AnalysisProgress>
    {
        public void Report(AnalysisProgress value) { if (value.Stage == "analyze" && value.Done > 0) cts.Cancel(); }
    }

    [Fact]
    public void A_shard_killed_midway_leaves_nothing_and_running_that_task_again_lets_the_merge_work()
    {
        using var dir = new TempDir();
        AnalysisOptions Options(string output) => Demo(output) with { Insights = false, Map = new MapOptions { Method = MapMethod.Pca } };
        var first = Analysis.Shard(Options(dir["shards/a"]), new ShardSpec(0, 2));
        using (var cts = new CancellationTokenSource())
            Assert.ThrowsAny<OperationCanceledException>(() => Analysis.Shard(Options(dir["shards/b"]), new ShardSpec(1, 2), new KillMidway(cts), cancellationToken: cts.Token));
        // Nothing that looks like a shard, and no work folder left behind.
        Assert.Equal([first.Directory], Directory.GetDirectories(dir["shards"]).Select(Path.GetFullPath));
        var refused = Assert.Throws<PerceptException>(() => ShardMerge.Merge([dir["shards"]], new MergeOptions { OutputDirectory = dir["run"] }));
        Assert.Equal("shard 2 of 2 is missing", refused.Message);
        Assert.False(Directory.Exists(dir["run"]));
        // The task again, alone; then the merge.
        Analysis.Shard(Options(dir["shards/b"]), new ShardSpec(1, 2));
        var run = ShardMerge.Merge([dir["shards"]], new MergeOptions { OutputDirectory = dir["run"], Map = new MapOptions { Method = MapMethod.Pca }, Insights = false });
        Assert.Equal(10_000, run.Manifest.Data.Count);
        Assert.Null(run.Manifest.Shard);
    }

    [Fact]
    public void Shards_of_an_image_folder_with_a_broken_file_keep_to_their_slices()
    {
        using var dir = new TempDir();
        var rng = new Random(4);
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < 400; i++)
                TestFiles.WritePng(dir[$"img/class{c}/{i:D3}.png"], 8, 8, new SkiaSharp.SKColor((byte)rng.Next(256), (byte)rng.Next(256), (byte)(c * 100)));
        File.WriteAllText(dir["img/class0/100-broken.png"], "not a picture");
        string model = TinyModels.ConvNet(dir["c.onnx"], 3, 8, 6, 3);
        AnalysisOptions Options(string output) => new()
        {
            ModelPath = model, Data = new DataSource { Path = dir["img"] }, OutputDirectory = output, BatchSize = 16,
            Insights = false, Map = new MapOptions { Method = MapMethod.Pca },
        };
        var single = Analysis.Run(Options(dir["single"]));
        Assert.Equal(1200, single.Count);
        // 1,201 files make two segments of 1,024: the broken file is in the first shard's slice, which keeps 1,023 rows,
        // and the second shard reads its own files only.
        var shards = Enumerable.Range(0, 2).Select(i => Analysis.Shard(Options(dir[$"shards/{i}"]), new ShardSpec(i, 2))).ToArray();
        Assert.Equal([1023L, 177L], shards.Select(s => s.Manifest.Shard!.Rows));
        var merged = ShardMerge.Merge([dir["shards"]], new MergeOptions { OutputDirectory = dir["merged"], Map = new MapOptions { Method = MapMethod.Pca }, Insights = false });
        Assert.Equal(1, merged.Manifest.Data.Skipped);
        // The same rows, numbered as one pass numbers them; the same outputs (the same batches).
        AssertSameRuns(single, merged, PerceptionFields.Logits.Name);
    }

    [Fact]
    public void A_landmark_map_placed_in_shards_is_as_good_as_one_placed_at_once()
    {
        using var dir = new TempDir();
        var shards = Enumerable.Range(0, 2).Select(i => Analysis.Shard(Demo(dir[$"shards/{i}"]), new ShardSpec(i, 2))).ToArray();
        var landmarks = new MapOptions { Landmarks = 3000 };
        var atOnce = ShardMerge.Merge([dir["shards"]], new MergeOptions { OutputDirectory = dir["at-once"], Map = landmarks, Insights = false });
        var later = ShardMerge.Merge([dir["shards"]], new MergeOptions { OutputDirectory = dir["later"], Map = landmarks with { DeferPlacement = true }, Insights = false });
        Assert.True(later.Manifest.Map!.Unplaced);
        Assert.Equal(3000, later.Manifest.Map.Landmarks);
        Assert.Equal(3000, later.ReadMatrix(MapFields.Map).Data.Where((v, i) => i % 2 == 0 && float.IsFinite(v)).Count());
        // Three placement tasks; all parts but one are refused, the right ones complete the map.
        var parts = Enumerable.Range(0, 3).Select(i => LandmarkPlacement.Place(later, new ShardSpec(i, 3), dir[$"parts/{i}"])).ToArray();
        Assert.Contains("a part is missing", Assert.Throws<PerceptException>(() => LandmarkPlacement.Complete(later, parts[..2])).Message, StringComparison.Ordinal);
        Assert.Contains("has no map waiting", Assert.Throws<PerceptException>(() => LandmarkPlacement.Complete(atOnce, parts)).Message, StringComparison.Ordinal);
        var placed = LandmarkPlacement.Complete(Run.Open(dir["later"]), [dir["parts"]]);
        Assert.False(placed.Manifest.Map!.Unplaced);
        Assert.All(placed.ReadMatrix(MapFields.Map).Data, v => Assert.True(float.IsFinite(v)));
        Assert.All(placed.ReadFloat32(MapFields.Preservation), v => Assert.True(float.IsFinite(v)));
        Assert.InRange(placed.Manifest.Map.Trustworthiness, atOnce.Manifest.Map!.Trustworthiness - 0.005, 1);
        Assert.True(atOnce.Manifest.Map.Trustworthiness > 0.97, $"trustworthiness {atOnce.Manifest.Map.Trustworthiness}");
    }

    [Fact]
    public void Past_one_machines_memory_the_graph_is_each_samples_nearest_landmarks()
    {
        using var dir = new TempDir();
        var single = Analysis.Run(Demo(dir["single"]) with { Insights = false });
        var run = Analysis.Run(Demo(dir["run"]) with { Map = new MapOptions { Landmarks = 2000, LandmarkGraph = true } });
        Assert.Equal(2000, run.Manifest.Neighbors!.Landmarks);
        Assert.Equal(2000, run.Manifest.Map!.Landmarks);
        var graph = RunGraph.Read(run).Graph;
        var used = graph.Indices.Where(i => i >= 0).ToHashSet();
        Assert.True(used.Count <= 2000, $"{used.Count} distinct neighbours");
        for (int i = 0; i < graph.Count; i++) Assert.DoesNotContain(i, graph.NeighborsOf(i).ToArray());
        // The map keeps its quality, and the insights run on that graph.
        Assert.InRange(run.Manifest.Map.Trustworthiness, single.Manifest.Map!.Trustworthiness - 0.01, 1);
        Assert.NotNull(global::Percept.Insights.InsightsStore.ReadJson(run));
    }

    [Fact]
    public void Shards_that_pooled_their_token_layers_otherwise_are_refused()
    {
        using var dir = new TempDir();
        string Fixture(string f) => Path.Combine(TestFiles.Root, "tests", "fixtures", "text", f);
        // The fixture's 600 texts four times over: two shards need two segments of whole batches.
        var ids = Npy.ReadInt64(Fixture("tokens.npy"), out var shape);
        var labels = Npy.ReadInt64(Fixture("labels.npy"), out _);
        Npy.Write(dir["tokens.npy"], Enumerable.Repeat(ids, 4).SelectMany(x => x).ToArray(), 4 * shape[0], shape[1]);
        Npy.Write(dir["labels.npy"], Enumerable.Repeat(labels, 4).SelectMany(x => x).ToArray(), 4 * shape[0]);
        AnalysisOptions Text(string output) => new()
        {
            ModelPath = Fixture("model.onnx"), OutputDirectory = output, BatchSize = 50, Insights = false,
            Data = new DataSource { Path = dir["tokens.npy"], LabelsPath = dir["labels.npy"], ClassNamesPath = Fixture("classes.txt") },
        };
        for (int i = 0; i < 2; i++) Analysis.Shard(Text(dir[$"shards/{i}"]), new ShardSpec(i, 2));
        // A shard made by a build that pooled over padding too: its manifest says so.
        string manifest = Path.Combine(dir["shards/1"], "run.json");
        string json = File.ReadAllText(manifest);
        Assert.Contains("\"masked_pooling\": true", json);
        File.WriteAllText(manifest, json.Replace("\"masked_pooling\": true", "\"masked_pooling\": false"));
        var refused = Assert.Throws<PerceptException>(() => ShardMerge.Merge([dir["shards"]], new MergeOptions { OutputDirectory = dir["merged"], Insights = false }));
        Assert.Contains("pooled its token layers", refused.Message);
        Assert.False(Directory.Exists(dir["merged"]));
    }

    [Fact]
    public void Slices_are_contiguous_whole_segments_covering_the_data_once()
    {
        foreach (int samples in new[] { 1, 1023, 1024, 1025, 10_000, 1_050_000 })
            foreach (int count in new[] { 1, 2, 3, 7, 64 })
            {
                int segment = 1024, next = 0;
                for (int i = 0; i < count; i++)
                {
                    var (start, n) = new ShardSpec(i, count).Slice(samples, segment);
                    Assert.Equal(next, start);
                    Assert.True(start % segment == 0 || n == 0, $"{samples}/{count}: shard {i} starts at {start}");
                    next = start + n;
                }
                Assert.Equal(samples, next);
            }
        // As even as whole segments allow: 10 segments over 4 shards are 2, 3, 2, 3.
        Assert.Equal([2048, 3072, 2048, 2832], Enumerable.Range(0, 4).Select(i => new ShardSpec(i, 4).Slice(10_000, 1024).Count));
    }

    [Fact]
    public void The_shard_comes_from_the_text_or_from_the_scheduler()
    {
        static Func<string, string?> Env(params (string, string)[] vars) => name => vars.FirstOrDefault(v => v.Item1 == name).Item2;
        Assert.Equal(new ShardSpec(0, 4), ShardSpec.Parse("1/4", null, Env()));
        Assert.Equal(new ShardSpec(3, 4), ShardSpec.Parse("4/4", null, Env()));
        // Slurm: --array=1-4 counts from its first task; --shard-count wins over the array's size.
        Assert.Equal(new ShardSpec(2, 4), ShardSpec.Parse("auto", null, Env(("SLURM_ARRAY_TASK_ID", "3"), ("SLURM_ARRAY_TASK_MIN", "1"), ("SLURM_ARRAY_TASK_COUNT", "4"))));
        Assert.Equal(new ShardSpec(0, 8), ShardSpec.Parse("auto", 8, Env(("SLURM_ARRAY_TASK_ID", "0"), ("SLURM_ARRAY_TASK_COUNT", "4"))));
        // Kubernetes: an Indexed Job's completion index, from 0; the count is given.
        Assert.Equal(new ShardSpec(5, 6), ShardSpec.Parse("auto", 6, Env(("JOB_COMPLETION_INDEX", "5"))));
        foreach (var (text, count, env, message) in new (string, int?, Func<string, string?>, string)[]
        {
            ("0/4", null, Env(), "no such shard"), ("5/4", null, Env(), "no such shard"), ("1/0", null, Env(), "must be from 1"), ("a/b", null, Env(), "takes I/N"),
            ("auto", null, Env(), "neither SLURM_ARRAY_TASK_ID nor JOB_COMPLETION_INDEX"),
            ("auto", null, Env(("JOB_COMPLETION_INDEX", "2")), "does not say how many shards"),
            ("auto", null, Env(("SLURM_ARRAY_TASK_ID", "2")), "SLURM_ARRAY_TASK_COUNT is not set"),
            ("auto", 4, Env(("JOB_COMPLETION_INDEX", "4")), "no such shard"),
        })
            Assert.Contains(message, Assert.Throws<PerceptException>(() => ShardSpec.Parse(text, count, env)).Message, StringComparison.Ordinal);
    }
}
