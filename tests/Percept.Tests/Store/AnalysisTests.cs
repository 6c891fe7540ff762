using Percept.Data;
using Percept.IO;
using Percept.Store;
using SkiaSharp;

namespace Percept.Tests.Store;

public class AnalysisTests
{
    static (string X, string Y) RandomTable(TempDir dir, int rows, int features, int classes, int seed = 1)
    {
        var rng = new Random(seed);
        Npy.Write(dir["x.npy"], Enumerable.Range(0, rows * features).Select(_ => (float)rng.NextDouble()).ToArray(), rows, features);
        Npy.Write(dir["y.npy"], Enumerable.Range(0, rows).Select(i => (long)(i % classes)).ToArray(), rows);
        return (dir["x.npy"], dir["y.npy"]);
    }

    static AnalysisOptions Options(string model, string x, string? y, string output) => new()
    {
        ModelPath = model,
        Data = new DataSource { Path = x, LabelsPath = y },
        OutputDirectory = output,
        BatchSize = 16,
    };

    [Fact]
    public void Metadata_from_csv_and_parquet_joins_on_index_or_id()
    {
        using var dir = new TempDir();
        var (x, y) = RandomTable(dir, 50, 4, 3);
        string model = TinyModels.Mlp(dir["m.onnx"], 4, 8, 3);
        File.WriteAllText(dir["meta.csv"], "index,site,weight,label\n" + string.Join("\n", Enumerable.Range(0, 49).Select(i => $"{i},s{i % 4},{i * 0.5},{i}")) + "\n999,nowhere,0,0\n");
        var warnings = new List<string>();
        var run = Analysis.Run(Options(model, x, y, dir["run"]) with { MetadataPath = dir["meta.csv"] }, warn: warnings.Add);
        Assert.Equal(new[] { "site", "weight", "meta_label" }, run.Manifest.Data.MetadataColumns);
        var site = run.ReadColumn("site");
        Assert.Equal("s1", site[5]);
        Assert.Null(site[49]);
        Assert.Equal(6.0, Convert.ToDouble(run.ReadColumn("weight")[12]));
        Assert.Contains(warnings, w => w.Contains("1 metadata row"));

        // Parquet (the run's own export, joined on index); built-in names get a meta_ prefix.
        RunExporter.Export(run, "metadata", dir["m.parquet"]);
        var run2 = Analysis.Run(Options(model, x, y, dir["run2"]) with { MetadataPath = dir["m.parquet"] });
        Assert.Contains("meta_loss", run2.Manifest.Data.MetadataColumns);
        Assert.Equal(run.ReadColumn("loss"), run2.ReadColumn("meta_loss"));

        File.WriteAllText(dir["byid.csv"], "id,tag\n3,three\n7,seven\n");
        var run3 = Analysis.Run(Options(model, x, y, dir["run3"]) with { MetadataPath = dir["byid.csv"] });
        var tags = run3.ReadColumn("tag");
        Assert.Equal("three", tags[3]);
        Assert.Equal("seven", tags[7]);
        Assert.Equal(2, tags.Count(t => t != null));

        File.WriteAllText(dir["dup.csv"], "index,a\n1,x\n1,y\n");
        Assert.Contains("each sample may appear once", Assert.Throws<PerceptException>(() => Analysis.Run(Options(model, x, y, dir["r3"]) with { MetadataPath = dir["dup.csv"] })).Message);
        File.WriteAllText(dir["nokey.csv"], "a,b\n1,2\n");
        Assert.Contains("'index' or 'id'", Assert.Throws<PerceptException>(() => Analysis.Run(Options(model, x, y, dir["r3"]) with { MetadataPath = dir["nokey.csv"] })).Message);
        Assert.False(Directory.Exists(dir["r3"]));
    }

    [Fact]
    public void Softmax_models_are_read_as_probabilities_and_logits_are_their_logarithm()
    {
        using var dir = new TempDir();
        var (x, y) = RandomTable(dir, 20, 5, 4);
        var run = Analysis.Run(Options(TinyModels.Mlp(dir["m.onnx"], 5, 7, 4, softmax: true), x, y, dir["run"]));
        Assert.Equal("probabilities", run.Manifest.Model.OutputKind);
        var p = run.ReadMatrix("probabilities", out _, out _);
        var l = run.ReadMatrix("logits", out _, out _);
        for (int i = 0; i < p.Length; i++) Assert.Equal(MathF.Log(p[i]), l[i], 1e-5);
        var loss = run.ReadColumn("loss");
        for (int i = 0; i < 20; i++) Assert.Equal(-Math.Log(p[i * 4 + i % 4]), (float)loss[i]!, 1e-5);
    }

    [Fact]
    public void A_model_without_class_scores_still_gets_perception_vectors()
    {
        using var dir = new TempDir();
        var (x, y) = RandomTable(dir, 30, 6, 2);
        var run = Analysis.Run(Options(TinyModels.Regressor(dir["m.onnx"], 6), x, y, dir["run"]));
        Assert.Equal("other", run.Manifest.Model.OutputKind);
        Assert.Equal(0, run.Manifest.NumClasses);
        Assert.All(run.ReadColumn("loss"), Assert.Null);
        run.ReadMatrix("outputs", out int rows, out int cols);
        Assert.Equal((30, 1), (rows, cols));
        run.ReadMatrix("embedding", out rows, out cols);
        Assert.Equal((30, 9), (rows, cols));
        Assert.Contains("not a class-score vector", Assert.Throws<PerceptException>(() => run.ReadMatrix("logits", out _, out _)).Message);
    }

    [Fact]
    public void Image_folders_run_through_a_conv_net_and_count_skipped_files()
    {
        using var dir = new TempDir();
        var rng = new Random(3);
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < 5; i++)
                TestFiles.WritePng(dir[$"img/class{c}/{i}.png"], 20 + i, 12, new SKColor((byte)rng.Next(256), (byte)rng.Next(256), (byte)rng.Next(256)));
        File.WriteAllText(dir["img/class1/zz.jpg"], "broken");
        var warnings = new List<string>();
        var run = Analysis.Run(new AnalysisOptions
        {
            ModelPath = TinyModels.ConvNet(dir["c.onnx"], 3, 8, 6, 3),
            Data = new DataSource { Path = dir["img"] },
            OutputDirectory = dir["run"],
            BatchSize = 4,
        }, warn: warnings.Add);
        Assert.Equal(15, run.Count);
        Assert.Equal(1, run.Manifest.Data.Skipped);
        Assert.Equal(new[] { "class0", "class1", "class2" }, run.Manifest.Classes);
        Assert.Equal("class1/0.png", run.ReadColumn("id")[5]);
        Assert.Equal("class1", run.ReadColumn("label_name")[5]);
        Assert.Contains(warnings, w => w.Contains("skipped 1 image"));
        Assert.Equal(new[] { "conv", "fc" }, run.Manifest.Perception.Layers.Select(l => l.Name));
    }

    [Fact]
    public void Fixed_batch_models_are_padded_and_wide_vectors_projected()
    {
        using var dir = new TempDir();
        var (x, y) = RandomTable(dir, 5, 3, 2);
        var run = Analysis.Run(Options(TinyModels.Mlp(dir["m.onnx"], 3, 40, 2, batch: 2), x, y, dir["run"]) with { MaxWidth = 8, Seed = 3 });
        Assert.Equal(5, run.Count);
        Assert.True(run.Manifest.Perception.Projected);
        Assert.Equal(42, run.Manifest.Perception.ConcatenatedWidth);
        run.ReadMatrix("embedding", out int rows, out int cols);
        Assert.Equal((5, 8), (rows, cols));
    }

    [Fact]
    public void An_interrupted_or_failed_analysis_leaves_no_run_and_the_next_one_starts_clean()
    {
        using var dir = new TempDir();
        var (x, y) = RandomTable(dir, 100, 4, 3);
        string model = TinyModels.Mlp(dir["m.onnx"], 4, 8, 3);
        using var cts = new CancellationTokenSource();
        var progress = new CallbackProgress(p => { if (p.Done >= 32) cts.Cancel(); });
        Assert.ThrowsAny<OperationCanceledException>(() => Analysis.Run(Options(model, x, y, dir["run"]), progress, null, cts.Token));
        Assert.False(Directory.Exists(dir["run"]));
        Assert.False(Directory.Exists(dir[".run.partial"]));

        // Interrupted while the map is being made: still nothing.
        using var mapCancel = new CancellationTokenSource();
        var atMap = new CallbackProgress(p => { if (p.Stage == "map") mapCancel.Cancel(); });
        Assert.ThrowsAny<OperationCanceledException>(() => Analysis.Run(Options(model, x, y, dir["run"]), atMap, null, mapCancel.Token));
        Assert.False(Directory.Exists(dir["run"]));
        Assert.False(Directory.Exists(dir[".run.partial"]));

        // A label beyond the model's classes in a late batch fails the run as a whole.
        Npy.Write(dir["badlabels.npy"], Enumerable.Range(0, 100).Select(i => i == 90 ? 7L : 0L).ToArray(), 100);
        Assert.Contains("label 7 of sample 90", Assert.Throws<PerceptException>(() => Analysis.Run(Options(model, x, dir["badlabels.npy"], dir["run"]))).Message);
        Assert.False(Directory.Exists(dir["run"]));

        // A crash that left a partial folder behind: the next analysis says so and starts clean.
        Directory.CreateDirectory(dir[".run.partial"]);
        File.WriteAllText(dir[".run.partial/junk"], "x");
        var notes = new List<string>();
        var run = Analysis.Run(Options(model, x, y, dir["run"]), warn: notes.Add);
        Assert.Contains(notes, n => n.Contains("interrupted analysis"));
        Assert.False(Directory.Exists(dir[".run.partial"]));
        Assert.Equal(100, run.Count);

        Assert.Contains("AnalysisOptions.Overwrite", Assert.Throws<PerceptException>(() => Analysis.Run(Options(model, x, y, dir["run"]))).Message);
        var again = Analysis.Run(Options(model, x, y, dir["run"]) with { Overwrite = true, Layers = ["head"] });
        Assert.Single(again.Manifest.Perception.Layers);
        Assert.Single(Directory.GetDirectories(dir.Path));
    }

    [Fact]
    public void Partial_folders_of_dead_analyses_are_cleaned_and_live_ones_kept()
    {
        using var dir = new TempDir();
        var (x, y) = RandomTable(dir, 40, 4, 3);
        string model = TinyModels.Mlp(dir["m.onnx"], 4, 8, 3);
        // A crashed analysis (its writer's process is gone), one from before writers were recorded, and a running one (this process).
        Directory.CreateDirectory(dir[".crashed.partial"]);
        File.WriteAllText(dir[".crashed.partial/.writer"], "2147483000\n2020-01-01T00:00:00.0000000Z\n");
        Directory.CreateDirectory(dir[".unknown.partial"]);
        Directory.CreateDirectory(dir[".running.partial"]);
        using (var me = System.Diagnostics.Process.GetCurrentProcess())
            File.WriteAllText(dir[".running.partial/.writer"], $"{me.Id}\n{me.StartTime.ToUniversalTime().ToString("O", System.Globalization.CultureInfo.InvariantCulture)}\n");
        // A shard being written on another machine of the cluster (a shared file system): its process cannot be asked.
        Directory.CreateDirectory(dir[".elsewhere.partial"]);
        File.WriteAllText(dir[".elsewhere.partial/.writer"], "2147483000\n2020-01-01T00:00:00.0000000Z\nanother-node\n");
        var notes = new List<string>();
        Analysis.Run(Options(model, x, y, dir["run"]) with { Map = new Percept.Projection.MapOptions { Method = Percept.Projection.MapMethod.None } }, warn: notes.Add);
        Assert.False(Directory.Exists(dir[".crashed.partial"]));
        Assert.False(Directory.Exists(dir[".unknown.partial"]));
        Assert.True(Directory.Exists(dir[".running.partial"]));
        Assert.True(Directory.Exists(dir[".elsewhere.partial"]));
        Assert.Equal(2, notes.Count(n => n.Contains("did not finish")));
        // The finished run keeps no trace of its writer.
        Assert.False(File.Exists(dir["run/.writer"]));
    }

    [Fact]
    public void Non_finite_outputs_and_vectors_are_reported_and_kept_off_the_map()
    {
        using var dir = new TempDir();
        var rng = new Random(4);
        var values = Enumerable.Range(0, 60 * 4).Select(_ => (float)rng.NextDouble()).ToArray();
        values[7 * 4 + 2] = float.NaN; // sample 7
        values[31 * 4] = float.PositiveInfinity; // sample 31
        Npy.Write(dir["x.npy"], values, 60, 4);
        Npy.Write(dir["y.npy"], Enumerable.Range(0, 60).Select(i => (long)(i % 3)).ToArray(), 60);
        var notes = new List<string>();
        var run = Analysis.Run(Options(TinyModels.Mlp(dir["m.onnx"], 4, 8, 3), dir["x.npy"], dir["y.npy"], dir["run"])
            with { Map = new Percept.Projection.MapOptions { Method = Percept.Projection.MapMethod.Pca } }, warn: notes.Add);
        Assert.Contains(notes, n => n.StartsWith("2 of 60 samples have NaN or infinite model outputs (first: sample 7)", StringComparison.Ordinal));
        Assert.Contains(notes, n => n.StartsWith("2 of 60 samples have NaN or infinite layer activations (first: sample 7)", StringComparison.Ordinal));
        // The totals count the 58 others; the two get no loss; the map leaves them out and places every other sample.
        Assert.Equal(58, run.Manifest.Summary!.Labelled);
        Assert.True(double.IsFinite(run.Manifest.Summary.MeanLoss!.Value));
        var loss = run.ReadColumn("loss");
        Assert.Null(loss[7]); Assert.Null(loss[31]);
        var map = run.ReadMatrix("map", out int rows, out int dims);
        for (int i = 0; i < rows; i++)
            Assert.Equal(i is 7 or 31, float.IsNaN(map[i * dims]));
        var vectors = run.ReadMatrix("embedding", out _, out int width);
        Assert.True(vectors.Where((_, k) => k / width is not (7 or 31)).All(float.IsFinite));
    }

    sealed class CallbackProgress(Action<AnalysisProgress> action) : IProgress<AnalysisProgress>
    {
        public void Report(AnalysisProgress value) => action(value);
    }
}
