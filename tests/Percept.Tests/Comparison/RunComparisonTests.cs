using System.Text.Json;
using Percept.Comparison;
using Percept.Data;
using Percept.Neighbors;
using Percept.Perception;
using Percept.Store;
using Percept.Tests.Cli;
using Percept.Tests.Server;

namespace Percept.Tests.Comparison;

/// <summary>
/// <c>percept compare</c>: the demo's first epoch against its fifth (the dashboard fixture analyses both), every figure
/// checked against one computed here from the two runs' samples and graphs; and runs matched in part or not at all.
/// </summary>
[Collection("dashboard")]
public class RunComparisonTests(DashboardFixture fixture)
{
    static (string[] Ids, int[] Labels, int[] Predictions, float[] Loss) Samples(Run run)
    {
        using var t = run.OpenSamples();
        return (t.ReadText("id").Select(x => x!).ToArray(), t.ReadInt32(PerceptionFields.Label), t.ReadInt32(PerceptionFields.Prediction), t.ReadFloat32(PerceptionFields.Loss));
    }

    [Fact]
    public void Fixed_and_broken_predictions_and_per_class_accuracy_equal_a_direct_count()
    {
        var a = fixture.FirstEpoch; var b = fixture.Run;
        var d = RunComparison.Compare(a, b);
        var (idsA, labels, predA, lossA) = Samples(a);
        var (idsB, _, predB, lossB) = Samples(b);
        var whereB = idsB.Select((id, j) => (id, j)).ToDictionary(x => x.id, x => x.j);
        int fixedCount = 0, broken = 0, both = 0, neither = 0;
        var right = new Dictionary<int, (int N, int A, int B, double LossA, double LossB)>();
        for (int i = 0; i < idsA.Length; i++)
        {
            int j = whereB[idsA[i]];
            bool ra = predA[i] == labels[i], rb = predB[j] == labels[i];
            if (!ra && rb) fixedCount++; else if (ra && !rb) broken++; else if (ra) both++; else neither++;
            var r = right.GetValueOrDefault(labels[i]);
            right[labels[i]] = (r.N + 1, r.A + (ra ? 1 : 0), r.B + (rb ? 1 : 0), r.LossA + lossA[i], r.LossB + lossB[j]);
        }
        Assert.Equal(new SampleMatch("id", 10_000, 0, 0), d.Samples);
        var p = d.Predictions!;
        Assert.Equal((fixedCount, broken, both, neither), (p.Fixed, p.Broken, p.RightInBoth, p.WrongInBoth));
        Assert.Equal(10_000, p.Labelled);
        Assert.True(p.Fixed > p.Broken, $"epoch 5 fixes more than it breaks: {p.Fixed} against {p.Broken}");
        Assert.Equal(p.Fixed, p.FixedMost.Sum(g => g.Count) + (p.FixedMost.Count < 10 ? 0 : p.Fixed - p.FixedMost.Sum(g => g.Count)));
        Assert.All(p.FixedMost, g => Assert.Equal(g.Label, g.PredictionB));
        Assert.All(p.BrokenMost, g => Assert.Equal(g.Label, g.PredictionA));
        Assert.Equal(10, d.PerClass.Count);
        var classes = b.Manifest.Classes!;
        foreach (var c in d.PerClass)
        {
            var r = right[classes.ToList().IndexOf(c.Class)];
            Assert.Equal(r.N, c.Count);
            Assert.Equal(r.A / (double)r.N, c.AccuracyA!.Value, 12);
            Assert.Equal(r.B / (double)r.N, c.AccuracyB!.Value, 12);
            Assert.Equal(r.LossA / r.N, c.LossA!.Value, 4);
            Assert.Equal(r.LossB / r.N, c.LossB!.Value, 4);
        }
        // The runs' own accuracies agree with the per-class figures.
        Assert.Equal(a.Manifest.Summary!.Accuracy!.Value, d.PerClass.Sum(c => c.AccuracyA!.Value * c.Count) / 10_000, 9);
    }

    [Fact]
    public void Perception_change_is_the_share_of_each_samples_neighbours_kept()
    {
        var a = fixture.FirstEpoch; var b = fixture.Run;
        var d = RunComparison.Compare(a, b, k: 10);
        var q = d.Perception!;
        var ga = RunGraph.Read(a).First(10); var gb = RunGraph.Read(b).First(10);
        // The same ids in the same order here: index i is the same sample in both.
        double sum = 0; int n = 0;
        var overlap = new double[ga.Count];
        for (int i = 0; i < ga.Count; i++)
        {
            var kept = ga.NeighborsOf(i).ToArray().Intersect(gb.NeighborsOf(i).ToArray()).Count();
            overlap[i] = kept / 10.0; sum += overlap[i]; n++;
        }
        Assert.Equal(10, q.K);
        Assert.Equal(Math.Round(sum / n, 4), q.MeanOverlap, 4);
        Assert.All(q.ChangedMost, c => Assert.Equal(overlap[c.IndexA], c.Overlap, 4));
        Assert.Equal(overlap.Min(), q.ChangedMost[0].Overlap, 4);
        Assert.True(q.ChangedMost.Zip(q.ChangedMost.Skip(1)).All(x => x.First.Overlap <= x.Second.Overlap), "changed most not in order");
        Assert.NotEmpty(d.ClassProximity);
        // Training brings the classes apart: the pair that crossed most in epoch 1 crosses less in epoch 5.
        var top = d.ClassProximity.OrderByDescending(c => c.ShareA).First();
        Assert.True(top.ShareB < top.ShareA, $"{top.ClassA} ↔ {top.ClassB}: {top.ShareA} → {top.ShareB}");
    }

    [Fact]
    public void The_command_prints_the_summary_writes_its_documents_and_compares_runs_of_other_samples_as_two_datasets_or_refuses_them_in_one_line()
    {
        using var dir = new TempDir();
        var (code, stdout, stderr) = CliHarness.Percept("compare", fixture.FirstEpoch.Directory, fixture.Run.Directory, "--out", dir["cmp"]);
        Assert.True(code == 0, stderr);
        Assert.Contains("matched by id: 10,000 samples", stdout);
        Assert.Matches(@"predictions of 10,000 labelled samples: [\d,]+ fixed, [\d,]+ broken", stdout);
        Assert.Equal(stdout, File.ReadAllText(dir["cmp/summary.txt"]));
        using var json = JsonDocument.Parse(File.ReadAllText(dir["cmp/comparison.json"]));
        Assert.Equal("percept-comparison", json.RootElement.GetProperty("format").GetString());
        Assert.True(json.RootElement.GetProperty("predictions").GetProperty("fixed").GetInt32() > 0);
        var (code2, stdout2, _) = CliHarness.Percept("compare", fixture.FirstEpoch.Directory, fixture.Run.Directory, "--json");
        Assert.Equal(0, code2);
        Assert.Equal(json.RootElement.GetProperty("per_class").GetArrayLength(), JsonDocument.Parse(stdout2).RootElement.GetProperty("per_class").GetArrayLength());

        // Runs over other samples: two tables whose ids do not meet.
        File.WriteAllText(dir["x.csv"], "id,a,b,label\n" + string.Concat(Enumerable.Range(0, 40).Select(i => $"x{i},{i % 2},{i * 0.1:F1},{i % 2}\n")));
        File.WriteAllText(dir["y.csv"], "id,a,b,label\n" + string.Concat(Enumerable.Range(0, 40).Select(i => $"y{i},{i % 2},{i * 0.1:F1},{i % 2}\n")));
        var model = TinyModels.Mlp(dir["m.onnx"], 2, 4, 2, 1);
        foreach (var t in new[] { "x", "y" })
            Analysis.Run(new AnalysisOptions { ModelPath = model, Data = new DataSource { Path = dir[$"{t}.csv"] }, OutputDirectory = dir[$"run-{t}"] });
        // One model over them: two datasets compared; as the same samples, refused.
        var (domain, domainOut, domainErr) = CliHarness.Percept("compare", dir["run-x"], dir["run-y"]);
        Assert.True(domain == 0, domainErr);
        Assert.Contains("two datasets seen by one model: 40 samples in A, 40 in B", domainOut);
        var (bad, _, err) = CliHarness.Percept("compare", dir["run-x"], dir["run-y"], "--match", "samples");
        Assert.Equal(1, bad);
        Assert.Contains("share no sample id", CliHarness.OneLineError(err));
        // Models of different numbers of classes.
        var (bad2, _, err2) = CliHarness.Percept("compare", dir["run-x"], fixture.Run.Directory);
        Assert.Equal(1, bad2);
        CliHarness.OneLineError(err2);
    }

    [Fact]
    public void Runs_over_overlapping_samples_are_compared_on_the_samples_they_share()
    {
        using var dir = new TempDir();
        string Row(int i) => $"s{i},{i % 3 * 0.7:F1},{(i * 37 % 11) * 0.1:F1},{i % 3}\n";
        File.WriteAllText(dir["a.csv"], "id,a,b,label\n" + string.Concat(Enumerable.Range(0, 60).Select(Row)));
        File.WriteAllText(dir["b.csv"], "id,a,b,label\n" + string.Concat(Enumerable.Range(30, 60).Reverse().Select(Row)));
        var m1 = TinyModels.Mlp(dir["m1.onnx"], 2, 4, 3, 1);
        var m2 = TinyModels.Mlp(dir["m2.onnx"], 2, 4, 3, 2);
        var a = Analysis.Run(new AnalysisOptions { ModelPath = m1, Data = new DataSource { Path = dir["a.csv"] }, OutputDirectory = dir["ra"] });
        var b = Analysis.Run(new AnalysisOptions { ModelPath = m2, Data = new DataSource { Path = dir["b.csv"] }, OutputDirectory = dir["rb"] });
        var d = RunComparison.Compare(a, b);
        Assert.Equal(new SampleMatch("id", 30, 30, 30), d.Samples);
        Assert.Contains(d.Notes, n => n.Contains("30 samples only in A and 30 only in B"));
        var (idsA, labels, predA, _) = Samples(a);
        var (idsB, _, predB, _) = Samples(b);
        int fixedCount = 0, broken = 0;
        for (int i = 0; i < idsA.Length; i++)
        {
            int j = Array.IndexOf(idsB, idsA[i]);
            if (j < 0) continue;
            if (predA[i] != labels[i] && predB[j] == labels[i]) fixedCount++;
            if (predA[i] == labels[i] && predB[j] != labels[i]) broken++;
        }
        Assert.Equal(30, d.Predictions!.Labelled);
        Assert.Equal((fixedCount, broken), (d.Predictions.Fixed, d.Predictions.Broken));
        Assert.Equal(30, d.PerClass.Sum(c => c.Count));

        // Per sample, as the dashboard's compare mode reads it: B's index of each of A's samples (B holds them reversed,
        // half of them), and each one's change, against the same direct count.
        var changes = SampleChanges.Compute(a, b);
        for (int i = 0; i < idsA.Length; i++)
        {
            int j = Array.IndexOf(idsB, idsA[i]);
            Assert.Equal(j, changes.ToB[i]);
            int expected = j < 0 ? SampleChanges.OnlyInA
                : predA[i] != labels[i] && predB[j] == labels[i] ? SampleChanges.Fixed
                : predA[i] == labels[i] && predB[j] != labels[i] ? SampleChanges.Broken
                : changes.Overlap[i] < SampleChanges.MovedBelow || predA[i] != predB[j] ? SampleChanges.Moved : SampleChanges.Unchanged;
            Assert.Equal(expected, changes.Change[i]);
        }
        Assert.Equal(30, changes.Change.Count(c => c == SampleChanges.OnlyInA));
        Assert.True(changes.Overlap.Where((_, i) => changes.ToB[i] < 0).All(float.IsNaN));
        // B's map aligned onto A's over the 30 shared samples: closer to A's positions than B's own map.
        var mapA = a.ReadMatrix(Percept.Projection.MapFields.Map); var mapB = b.ReadMatrix(Percept.Projection.MapFields.Map);
        double before = 0, after = 0;
        for (int i = 0; i < idsA.Length; i++)
        {
            int j = changes.ToB[i];
            if (j < 0) continue;
            for (int c = 0; c < 2; c++)
            {
                before += Math.Pow(mapA.Row(i)[c] - mapB.Row(j)[c], 2);
                after += Math.Pow(mapA.Row(i)[c] - changes.AlignedMapB!.Row(j)[c], 2);
            }
        }
        Assert.True(after < before, $"aligned {after:F3} against unaligned {before:F3}");
    }

    [Fact]
    public void Two_datasets_have_no_side_by_side_view()
    {
        using var dir = new TempDir();
        var other = DomainRun(dir);
        var e = Assert.Throws<PerceptException>(() => SampleChanges.Compute(fixture.Run, other));
        Assert.Contains("two datasets", e.Message);
    }

    /// <summary>The demo model over the first 300 test images written as another IDX file: positional ids from a different file.</summary>
    static Run DomainRun(TempDir dir)
    {
        using (var gz = new System.IO.Compression.GZipStream(File.OpenRead(TestFiles.FashionImages), System.IO.Compression.CompressionMode.Decompress))
        using (var ms = new MemoryStream())
        {
            gz.CopyTo(ms);
            var all = ms.ToArray();
            var head = all[..16];
            head[4] = 0; head[5] = 0; head[6] = 300 >> 8; head[7] = 300 & 255;
            using var o = new System.IO.Compression.GZipStream(File.Create(dir["x.gz"]), System.IO.Compression.CompressionLevel.Fastest);
            o.Write(head); o.Write(all.AsSpan(16, 300 * 784));
        }
        return Analysis.Run(new AnalysisOptions { ModelPath = TestFiles.DemoModel, Data = new DataSource { Path = dir["x.gz"] }, OutputDirectory = dir["run"], Insights = false });
    }
}
