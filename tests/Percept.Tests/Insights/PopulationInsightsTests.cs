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
        Assert.Contains($"\"version\": {InsightsDocument.CurrentVersion}", json);
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

    /// <summary>Gaussian blobs around the given centres, <paramref name="count"/> samples each with spread <paramref name="sigma"/>.</summary>
    static List<float[]> Blob(Random rng, double[] centre, int count, double sigma)
    {
        double Gauss() => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
        return Enumerable.Range(0, count).Select(_ => centre.Select(v => (float)(v + sigma * Gauss())).ToArray()).ToList();
    }

    static double[] Axis(int axis, double at) { var c = new double[Dims]; c[axis] = at; return c; }

    static Matrix ToMatrix(List<float[]> rows)
    {
        var x = new Matrix(rows.Count, Dims);
        for (int i = 0; i < rows.Count; i++) rows[i].CopyTo(x.Row(i));
        return x;
    }

    /// <summary>Class probabilities from the distance to each class's centre (a model that sees the blobs).</summary>
    static float[] Probabilities(Matrix x, double[][] centres)
    {
        var p = new float[x.Rows * centres.Length];
        for (int i = 0; i < x.Rows; i++)
        {
            var row = x.Row(i).ToArray();
            var logits = centres.Select(c => -c.Zip(row, (a, b) => (a - b) * (a - b)).Sum() / 2).ToArray();
            double max = logits.Max(), sum = logits.Sum(l => Math.Exp(l - max));
            for (int c = 0; c < centres.Length; c++) p[i * centres.Length + c] = (float)(Math.Exp(logits[c] - max) / sum);
        }
        return p;
    }

    [Fact]
    public void A_small_group_of_one_class_inside_another_is_a_rare_variant_not_a_mislabel()
    {
        var rng = new Random(5);
        double[][] centres = [Axis(0, 6), Axis(1, 6), Axis(2, 6)];
        var rows = new List<float[]>();
        var labels = new List<int>();
        for (int c = 0; c < 3; c++) { rows.AddRange(Blob(rng, centres[c], 150, 0.8)); labels.AddRange(Enumerable.Repeat(c, 150)); }
        // Five samples of class two in a tight pocket inside class zero's blob (the seed's closed 4s among the 9s): their
        // nearest samples are mostly zeros, and each other.
        var pocketCentre = (double[])centres[0].Clone();
        pocketCentre[3] = 1.2;
        int[] pocket = [.. Enumerable.Range(rows.Count, 5)];
        rows.AddRange(Blob(rng, pocketCentre, 5, 0.12)); labels.AddRange(Enumerable.Repeat(2, 5));
        // Five scattered samples of class zero labelled one: mislabels, not a group.
        int[] mislabelled = [5, 33, 61, 97, 130];
        foreach (int i in mislabelled) labels[i] = 1;
        var x = ToMatrix(rows);
        var doc = PopulationInsights.Compute(x, [.. labels], Probabilities(x, centres), 3, Enumerable.Range(0, x.Rows).Select(i => $"{i}").ToArray(), ["zero", "one", "two"]);

        var variant = Assert.Single(doc.Insights, c => c.Kind == "rare-variant");
        Assert.Equal(["two", "zero"], variant.Classes);
        Assert.Equal(pocket, variant.Samples.Select(s => s.Index).Order());
        Assert.Contains("5 samples of two sit among zero", variant.Title, StringComparison.Ordinal);
        // The pocket is not reported as mislabels; the scattered mislabels are, and not as a variant.
        Assert.All(doc.Insights.Where(c => c.Kind is "suspected-mislabel" or "ambiguous"), c => Assert.DoesNotContain(c.Samples, s => pocket.Contains(s.Index)));
        var mislabel = Assert.Single(doc.Insights, c => c.Kind == "suspected-mislabel");
        Assert.Equal(mislabelled, mislabel.Samples.Select(s => s.Index).Order());
        Assert.All(pocket, i => Assert.True(doc.NeighborAgreement[i] < 0.5f));
    }

    [Fact]
    public void A_tight_group_of_one_class_beside_another_is_a_rare_variant_even_when_the_model_gets_it_right()
    {
        var rng = new Random(11);
        double[][] centres = [Axis(0, 6), Axis(1, 6), Axis(2, 6)];
        var rows = new List<float[]>();
        var labels = new List<int>();
        for (int c = 0; c < 3; c++) { rows.AddRange(Blob(rng, centres[c], 150, 0.8)); labels.AddRange(Enumerable.Repeat(c, 150)); }
        // Six samples of class two in a tight group just outside class zero's blob, far from the other twos: half of each
        // one's neighbours are the group, half are zeros, none is another two; the model still calls them two.
        var pocketCentre = (double[])centres[0].Clone();
        pocketCentre[3] = 2.0;
        int[] pocket = [.. Enumerable.Range(rows.Count, 6)];
        rows.AddRange(Blob(rng, pocketCentre, 6, 0.15)); labels.AddRange(Enumerable.Repeat(2, 6));
        var x = ToMatrix(rows);
        var probabilities = Probabilities(x, centres);
        foreach (int i in pocket) { probabilities[i * 3] = 0.1f; probabilities[i * 3 + 1] = 0f; probabilities[i * 3 + 2] = 0.9f; }
        var correct = Enumerable.Range(0, x.Rows).Select(i => (bool?)(Enumerable.Range(0, 3).MaxBy(c => probabilities[i * 3 + c]) == labels[i])).ToArray();
        var doc = PopulationInsights.Compute(new Population(x, [.. labels], probabilities, 3, Enumerable.Range(0, x.Rows).Select(i => $"{i}").ToArray(), ["zero", "one", "two"])
        {
            Correct = correct,
        });

        // Its neighbours are not mostly zeros, so it is not a group "among" them; it is one beside them.
        Assert.All(pocket, i => Assert.True(doc.NeighborAgreement[i] >= 0.5f, $"sample {i}: agreement {doc.NeighborAgreement[i]}"));
        var variant = Assert.Single(doc.Insights, c => c.Kind == "rare-variant");
        Assert.Equal(["two", "zero"], variant.Classes);
        Assert.Equal(pocket, variant.Samples.Select(s => s.Index).Order());
        Assert.Equal(1.0, (double)variant.Evidence["accuracy"]);
        // Shown beside the typical samples of its class: twos from the blob, none of the group.
        Assert.Equal(8, variant.Typical!.Count);
        Assert.All(variant.Typical, t => { Assert.Equal(2, labels[t.Index]); Assert.DoesNotContain(t.Index, pocket); });
        Assert.DoesNotContain(doc.Insights, c => c.Kind is "suspected-mislabel" or "ambiguous" && c.Samples.Any(s => pocket.Contains(s.Index)));
    }

    [Fact]
    public void A_cluster_the_model_fails_on_is_found_with_the_metadata_it_shares()
    {
        var rng = new Random(9);
        double[][] centres = [Axis(0, 6), Axis(1, 6), Axis(2, 6)];
        var rows = new List<float[]>();
        var labels = new List<int>();
        for (int c = 0; c < 3; c++) { rows.AddRange(Blob(rng, centres[c], 200, 0.8)); labels.AddRange(Enumerable.Repeat(c, 200)); }
        // Forty samples of class one from another scanner: their own region, and the model fails on most of them.
        int[] weak = [.. Enumerable.Range(rows.Count, 40)];
        var shifted = (double[])centres[1].Clone();
        shifted[4] = 4;
        rows.AddRange(Blob(rng, shifted, 40, 0.5)); labels.AddRange(Enumerable.Repeat(1, 40));
        int n = rows.Count;
        var correct = new bool?[n];
        var scanner = new string?[n];
        var bright = new float[n];
        for (int i = 0; i < n; i++)
        {
            bool inWeak = weak.Contains(i);
            correct[i] = inWeak ? rng.NextDouble() > 0.6 : rng.NextDouble() > 0.05;
            scanner[i] = inWeak ? "scanner-b" : rng.NextDouble() < 0.03 ? "scanner-b" : "scanner-a";
            bright[i] = (float)(inWeak ? 0.05 + 0.05 * rng.NextDouble() : 0.2 + 0.6 * rng.NextDouble());
        }
        var x = ToMatrix(rows);
        var population = new Population(x, [.. labels], Probabilities(x, centres), 3, Enumerable.Range(0, n).Select(i => $"{i}").ToArray(), ["zero", "one", "two"])
        {
            Correct = correct,
            Loss = correct.Select(c => c == true ? 0.1f : 2f).ToArray(),
            Metadata = [new MetadataColumn("scanner", null, scanner), new MetadataColumn("brightness", bright, null)],
        };
        var doc = PopulationInsights.Compute(population);

        var card = Assert.Single(doc.Insights, c => c.Kind == "weak-cluster");
        var members = card.Samples.Select(s => s.Index).ToHashSet();
        Assert.True(members.Count(weak.Contains) >= 0.9 * members.Count, $"{members.Count(weak.Contains)} of {members.Count} listed samples are the planted group");
        var over = (string[])card.Evidence["over_represented"];
        Assert.Contains(over, o => o.StartsWith("scanner = scanner-b is", StringComparison.Ordinal));
        Assert.Contains(over, o => o.StartsWith("brightness < ", StringComparison.Ordinal));
        Assert.Equal("one", card.Classes[0]);
        // Every sample has a cluster; the planted group shares one.
        Assert.Single(weak.Select(i => doc.Cluster[i]).Distinct());
        // The metadata's association with errors: scanner-b fails far more often.
        var scannerErrors = Assert.Single(doc.MetadataAssociations, a => a.Field == "scanner").ErrorRate;
        Assert.True(scannerErrors["scanner-b"] > 5 * scannerErrors["scanner-a"]);
        var brightness = Assert.Single(doc.MetadataAssociations, a => a.Field == "brightness");
        Assert.True(brightness.SpearmanWithLoss < 0, $"Spearman {brightness.SpearmanWithLoss}");
        Assert.True(brightness.ErrorRate["lowest 10%"] > 4 * brightness.ErrorRate["highest 10%"], $"error rates {string.Join(", ", brightness.ErrorRate)}");
    }

    [Fact]
    public void Exact_duplicates_are_found_by_content_and_leak_across_splits()
    {
        var (x, labels, probabilities, _, _, _) = Population();
        int n = x.Rows;
        var hashes = Enumerable.Range(0, n).Select(i => (ulong)(1000 + i)).ToArray();
        // Two pairs with the same content (whatever the model makes of them): one inside a split, one across.
        hashes[10] = hashes[250]; hashes[20] = hashes[300];
        var splits = Enumerable.Range(0, n).Select(i => i < 200 ? "train" : "test").ToArray();
        splits[10] = "test";
        var doc = PopulationInsights.Compute(new Population(x, labels, probabilities, 3, Enumerable.Range(0, n).Select(i => $"{i}").ToArray(), ["zero", "one", "two"])
        {
            ContentHashes = hashes, Splits = splits,
        });
        var duplicates = Assert.Single(doc.Insights, c => c.Kind == "near-duplicates");
        Assert.Equal(2, duplicates.Evidence["exact_pairs"]);
        Assert.Contains(duplicates.Pairs!, p => p[0].Index == 10 && p[1].Index == 250);
        var leak = Assert.Single(doc.Insights, c => c.Kind == "leakage");
        Assert.Equal("critical", leak.Severity);
        // The planted copies (indices ≥ 453, test) of training samples below 200 leak too; the pair inside "test" does not.
        Assert.Contains(leak.Pairs!, p => p[0].Index == 20 && p[1].Index == 300);
        Assert.DoesNotContain(leak.Pairs!, p => p[0].Index == 10 && p[1].Index == 250);
        Assert.All(leak.Pairs!, p => Assert.NotEqual(splits[p[0].Index], splits[p[1].Index]));
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
