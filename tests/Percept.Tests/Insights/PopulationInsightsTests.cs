using Percept.Insights;

namespace Percept.Tests.Insights;

/// <summary>Insights on synthetic populations where the answer is known: planted mislabels, duplicates, outliers and close classes.</summary>
public class PopulationInsightsTests
{
    const int Dims = 10, PerClass = 150;

    /// <summary>Three Gaussian blobs (classes 1 and 2 close together, 0 apart) with planted faults; probabilities from the distance to each class's centre.</summary>
    static (Matrix X, int[] Labels, float[] Probabilities, int[] Mislabelled, int[] Outliers, (int, int)[] Duplicates) Population()
    {
        var rng = new Random(3);
        double Gauss() => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
        var centres = new double[3][];
        for (int c = 0; c < 3; c++) centres[c] = new double[Dims];
        centres[0][0] = 6; centres[1][1] = 6; centres[2][1] = 6; centres[2][2] = 2.5;
        var rows = new List<float[]>();
        var labelList = new List<int>();
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < PerClass; i++) { rows.Add(centres[c].Select(v => (float)(v + 0.7 * Gauss())).ToArray()); labelList.Add(c); }
        // Eight samples of class 0 labelled 1.
        int[] mislabelled = [3, 17, 29, 44, 58, 71, 90, 121];
        foreach (int i in mislabelled) labelList[i] = 1;
        // Three samples far from everything, along an axis no class uses.
        var outliers = new List<int>();
        for (int o = 0; o < 3; o++) { var v = new float[Dims]; v[9] = 40 + o; v[8] = o; outliers.Add(rows.Count); rows.Add(v); labelList.Add(o); }
        // Four copies of existing samples.
        var duplicates = new List<(int, int)>();
        foreach (int src in new[] { 200, 260, 330, 400 }) { duplicates.Add((src, rows.Count)); rows.Add(rows[src].Select(v => v + 1e-6f).ToArray()); labelList.Add(labelList[src]); }
        int n = rows.Count;
        var labels = labelList.ToArray();
        var x = new Matrix(n, Dims);
        for (int i = 0; i < n; i++) rows[i].CopyTo(x.Row(i));
        var probabilities = new float[n * 3];
        for (int i = 0; i < n; i++)
        {
            var logits = centres.Select(c => -c.Zip(rows[i], (a, b) => (a - b) * (a - b)).Sum() / 2).ToArray();
            double max = logits.Max(), sum = logits.Sum(l => Math.Exp(l - max));
            for (int c = 0; c < 3; c++) probabilities[i * 3 + c] = (float)(Math.Exp(logits[c] - max) / sum);
        }
        // The outliers are labelled as the model sees them: they are far from everything, not mislabelled.
        foreach (int o in outliers) labels[o] = Enumerable.Range(0, 3).MaxBy(c => probabilities[o * 3 + c]);
        return (x, labels, probabilities, mislabelled, outliers.ToArray(), duplicates.ToArray());
    }

    [Fact]
    public void Planted_faults_are_found_in_perception_space()
    {
        var (x, labels, probabilities, mislabelled, outliers, duplicates) = Population();
        var ids = Enumerable.Range(0, x.Rows).Select(i => $"s{i}").ToArray();
        var doc = PopulationInsights.Compute(x, labels, probabilities, 3, ids, ["zero", "one", "two"]);

        // Mislabels: one card, labelled one but perceived as zero, holding every planted sample and nothing else. (Other
        // flagged samples may only lie between the two close classes, one and two, where the blobs overlap.)
        var mislabel = Assert.Single(doc.Insights, c => c.Kind == "suspected-mislabel" && c.Classes.Contains("zero"));
        Assert.Equal(["one", "zero"], mislabel.Classes);
        Assert.All(doc.Insights.Where(c => c.Kind is "suspected-mislabel" or "ambiguous" && c != mislabel), c => Assert.Equal(["one", "two"], c.Classes.Order()));
        Assert.Equal(mislabelled.Order(), mislabel.Samples.Select(s => s.Index).Order());
        Assert.All(mislabel.Samples, s => Assert.Equal($"s{s.Index}", s.Id));
        // label_issue scores every planted sample at least 0.9 and ranks them all within the top ten (the samples it
        // puts among them lie where the close classes one and two overlap, and are ambiguous indeed).
        Assert.All(mislabelled, i => Assert.True(doc.LabelIssue[i] >= 0.9f, $"sample {i}: label_issue {doc.LabelIssue[i]}"));
        var top = Enumerable.Range(0, x.Rows).OrderByDescending(i => float.IsNaN(doc.LabelIssue[i]) ? -1 : doc.LabelIssue[i]).Take(mislabelled.Length + 2).ToArray();
        Assert.All(mislabelled, i => Assert.Contains(i, top));
        Assert.All(top.Except(mislabelled), i => Assert.True(labels[i] is 1 or 2, $"sample {i} (label {labels[i]}) ranked among the planted"));
        Assert.All(mislabelled, i => Assert.True(doc.NeighborAgreement[i] < 0.3f, $"sample {i}: agreement {doc.NeighborAgreement[i]}"));

        // Outliers and duplicates.
        // The planted outliers come first (most telling first); a Gaussian's own tail may add a sample or two.
        var outlierCard = Assert.Single(doc.Insights, c => c.Kind == "outliers");
        Assert.Equal(outliers.Order(), outlierCard.Samples.Take(3).Select(s => s.Index).Order());
        Assert.InRange(outlierCard.Samples.Count, 3, 5);
        Assert.All(outliers, i => Assert.True(doc.OutlierScore[i] > 0.99f));
        var duplicateCard = Assert.Single(doc.Insights, c => c.Kind == "near-duplicates");
        Assert.Equal(duplicates.Order(), duplicateCard.Pairs!.Select(p => (p[0].Index, p[1].Index)).Order());

        // Close classes: one and two, the only pair closer than the rest; closeness tracks confusion.
        var close = doc.Insights.Where(c => c.Kind == "close-classes").ToArray();
        Assert.Equal(["one", "two"], Assert.Single(close).Classes);
        var p = doc.ClassProximity!;
        Assert.True(p.Matrix[1][2] > 10 * p.Matrix[0][2], $"one→two {p.Matrix[1][2]}, zero→two {p.Matrix[0][2]}");
        for (int a = 0; a < 3; a++) Assert.Equal(1.0, p.Matrix[a].Sum(), 3);

        var json = doc.ToJson();
        Assert.Contains("\"version\": 1", json);
        Assert.Contains("\"kind\": \"suspected-mislabel\"", json);
    }

    [Fact]
    public void Without_labels_only_the_label_free_insights_remain()
    {
        var (x, _, _, _, outliers, duplicates) = Population();
        var doc = PopulationInsights.Compute(x, Enumerable.Repeat(-1, x.Rows).ToArray(), null, 0, Enumerable.Range(0, x.Rows).Select(i => $"{i}").ToArray(), null);
        Assert.Null(doc.ClassProximity);
        Assert.Equal(["near-duplicates", "outliers"], doc.Insights.Select(c => c.Kind).Order());
        Assert.All(doc.LabelIssue, v => Assert.True(float.IsNaN(v)));
        Assert.Equal(outliers.Order(), doc.Insights.Single(c => c.Kind == "outliers").Samples.Take(3).Select(s => s.Index).Order());
        Assert.Equal(duplicates.Length, doc.Insights.Single(c => c.Kind == "near-duplicates").Pairs!.Count);
    }

    [Fact]
    public void Spearman_matches_a_hand_count()
    {
        Assert.Equal(1.0, Numerics.Spearman([1, 2, 3, 4], [10, 20, 30, 40]), 9);
        Assert.Equal(-1.0, Numerics.Spearman([1, 2, 3, 4], [4, 3, 2, 1]), 9);
        // Ties share their average rank: ranks x = 0.5, 0.5, 2, 3 against 0, 1, 2, 3.
        Assert.Equal(0.9487, Numerics.Spearman([1, 1, 2, 3], [1, 2, 3, 4]), 4);
    }
}
