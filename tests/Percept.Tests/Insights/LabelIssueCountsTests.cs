using Percept.Insights;

namespace Percept.Tests.Insights;

/// <summary>Per-pair label-issue counts, their precision estimate, the merging of small groups and the ranking of cards, on known answers.</summary>
public class LabelIssueCountsTests
{
    /// <summary>100 simulated flips scoring 0.99, 0.98, …, 0.00 (descending).</summary>
    static double[] Ladder() => Enumerable.Range(0, 100).Select(i => (99 - i) / 100.0).ToArray();

    /// <summary>
    /// Three well-separated Gaussian blobs of 150 samples in 10 dimensions (class c around 6 on axis c, σ = 0.8), the
    /// given samples relabelled, and the probabilities of a model that sees the blobs (from the distance to each centre).
    /// </summary>
    static (Matrix X, int[] Labels, float[] Probabilities) Blobs(int seed, params (int[] Rows, int Label)[] relabel)
    {
        const int dims = 10, perClass = 150;
        var rng = new Random(seed);
        double Gauss() => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
        var x = new Matrix(3 * perClass, dims);
        var labels = new int[x.Rows];
        for (int i = 0; i < x.Rows; i++)
        {
            labels[i] = i / perClass;
            for (int d = 0; d < dims; d++) x.Row(i)[d] = (float)((d == labels[i] ? 6 : 0) + 0.8 * Gauss());
        }
        var p = new float[x.Rows * 3];
        for (int i = 0; i < x.Rows; i++)
        {
            var row = x.Row(i).ToArray();
            var logits = Enumerable.Range(0, 3).Select(c => { double s = 0; for (int d = 0; d < dims; d++) { double v = row[d] - (d == c ? 6 : 0); s += v * v; } return -s / 2; }).ToArray();
            double max = logits.Max(), sum = logits.Sum(l => Math.Exp(l - max));
            for (int c = 0; c < 3; c++) p[i * 3 + c] = (float)(Math.Exp(logits[c] - max) / sum);
        }
        foreach (var (rows, label) in relabel) foreach (int i in rows) labels[i] = label;
        return (x, labels, p);
    }

    [Fact]
    public void The_floor_keeps_ninety_five_percent_of_the_simulated_flips_perceived_as_the_class()
    {
        // Twenty flips scoring 1.00, 0.95, …, 0.05 and five the sample's other class claims (−∞): the floor is the 19th.
        double[] planted = [.. Enumerable.Range(0, 20).Select(i => 1 - i * 0.05), .. Enumerable.Repeat(double.NegativeInfinity, 5)];
        Assert.Equal(0.10, LabelIssueCounts.Floor(planted), 12);
        Assert.Equal(double.PositiveInfinity, LabelIssueCounts.Floor([double.NegativeInfinity, double.NegativeInfinity]));
    }

    [Fact]
    public void The_count_is_the_smallest_ratio_of_candidates_to_simulated_flips_above_a_threshold()
    {
        var planted = Ladder();
        // Thirty real flips scoring like every third-ish simulated one (i mod 10 in {0, 3, 6}) and two hundred correct
        // labels scoring 0. Above 0.90 lie 3 flips and 10 % of simulated ones: 3/0.1 = 30, and no threshold gives fewer;
        // but the floor (0.05, above which 95 % of simulated flips lie) leaves 29 candidates, which caps the count.
        double[] flips = [.. Enumerable.Range(0, 100).Where(i => i % 10 is 0 or 3 or 6).Select(i => planted[i])];
        double[] observed = [.. flips, .. Enumerable.Repeat(0.0, 200)];
        double floor = LabelIssueCounts.Floor(planted);
        Assert.Equal(0.05, floor, 12);
        Assert.Equal(29, LabelIssueCounts.EstimateCount(observed, planted, floor), 9);
        // With no flips the candidates above the floor are none: the count is 0.
        Assert.Equal(0, LabelIssueCounts.EstimateCount([.. Enumerable.Repeat(0.0, 200)], planted, floor));
        // Half the flips: half the count (15 above 0.90 … 0.05 would be 14.5 at 0.90; the floor caps at 14).
        double[] half = [.. flips.Where((_, i) => i % 2 == 0), .. Enumerable.Repeat(0.0, 200)];
        Assert.InRange(LabelIssueCounts.EstimateCount(half, planted, floor), 13, 16);
    }

    [Fact]
    public void Counts_and_precision_match_a_mixture_of_flips_and_correct_labels()
    {
        // A pair with 60 real flips among 600 candidates: flips score like the simulated ones (uniform on [0.3, 1]),
        // correct labels lower (uniform on [0, 0.6]). The estimate finds the 60 within a sixth, and the card's precision
        // estimate is within 0.1 of the share of flips it really holds (about two thirds: where the two overlap, correct
        // labels are ten times as dense).
        var rng = new Random(17);
        var candidates = new List<LabelIssueCounts.Candidate>();
        var truth = new HashSet<int>();
        for (int r = 0; r < 600; r++)
        {
            bool flip = r < 60;
            if (flip) truth.Add(r);
            double score = flip ? 0.3 + 0.7 * rng.NextDouble() : 0.6 * rng.NextDouble();
            candidates.Add(new(r, 0, 1, score, true));
        }
        var donors = Enumerable.Range(1000, 500).ToArray();
        var donorScore = donors.ToDictionary(d => d, _ => 0.3 + 0.7 * rng.NextDouble());
        var pair = Assert.Single(LabelIssueCounts.Estimate(candidates, _ => donors, (d, _) => new LabelIssueCounts.Planted(donorScore[d], true)));
        Assert.InRange(pair.Estimated, 50, 70);
        var members = pair.Members;
        double actual = members.Count(m => truth.Contains(m.Row)) / (double)members.Length;
        var (expected, observed) = pair.Expected(members[^1].Score, true);
        Assert.Equal(members.Length, observed);
        Assert.InRange(expected / observed, actual - 0.1, actual + 0.1);
        // Members are the best-scored: the flips scoring above every correct label (0.6) are all in.
        Assert.All(candidates.Where(c => truth.Contains(c.Row) && c.Score > 0.6), c => Assert.Contains(c.Row, members.Select(m => m.Row)));
    }

    [Fact]
    public void A_confident_joint_count_takes_that_many_but_precision_still_comes_from_the_simulated_flips()
    {
        var candidates = Enumerable.Range(0, 50).Select(r => new LabelIssueCounts.Candidate(r, 2, 0, 0.5 - r / 200.0, true)).ToList();
        var donors = Enumerable.Range(100, 100).ToArray();
        // Simulated flips all score 0.9: the bound finds none of the candidates as clear as them.
        var pair = Assert.Single(LabelIssueCounts.Estimate(candidates, _ => donors, (_, _) => new LabelIssueCounts.Planted(0.9, true), (y, j) => y == 2 && j == 0 ? 12.4 : 0));
        Assert.Equal(12.4, pair.Estimated);
        Assert.Equal(Enumerable.Range(0, 12), pair.Members.Select(m => m.Row));
        Assert.Equal(0, pair.Bound);
        Assert.Equal(0, pair.Expected(pair.Members[^1].Score, true).Expected);
    }

    [Fact]
    public void Small_groups_of_a_pair_join_one_other_card_and_no_card_holds_fewer_than_three()
    {
        // Three well-separated blobs; scattered samples labelled as another class: five of zero labelled one, and two
        // each of one labelled two and of two labelled zero.
        int[] zeroAsOne = [4, 30, 66, 99, 140], oneAsTwo = [160, 230], twoAsZero = [310, 420];
        var (x, labels, p) = Blobs(23, (zeroAsOne, 1), (oneAsTwo, 2), (twoAsZero, 0));
        var doc = PopulationInsights.Compute(x, [.. labels], p, 3, Enumerable.Range(0, x.Rows).Select(i => $"{i}").ToArray(), ["zero", "one", "two"]);

        var label = doc.Insights.Where(c => c.Kind is "suspected-mislabel" or "ambiguous").ToArray();
        Assert.All(label, c => Assert.True(c.Samples.Count >= PopulationInsights.MinGroup, $"'{c.Title}' holds {c.Samples.Count}"));
        var pair = Assert.Single(label, c => c.Title.StartsWith("labelled one, perceived as zero", StringComparison.Ordinal));
        Assert.Equal(zeroAsOne, pair.Samples.Select(s => s.Index).Order());
        var other = Assert.Single(label, c => c.Title.StartsWith("other suspected mislabels", StringComparison.Ordinal));
        Assert.Equal([.. oneAsTwo, .. twoAsZero], other.Samples.Select(s => s.Index).Order());
        Assert.Equal(["zero", "one", "two"], other.Classes);
        Assert.Equal(["two → one (2)", "zero → two (2)"], ((string[])other.Evidence["pairs"]).Order());
        // Each listed sample carries its evidence: (nearly) all its neighbours of the class it is perceived as, the model's view.
        Assert.All(other.Samples, s => Assert.Equal("clear", s.Evidence!["verdict"]));
        Assert.All(pair.Samples, s =>
        {
            var neighbours = (Dictionary<string, object>[])s.Evidence!["neighbors"];
            Assert.Equal("zero", neighbours[0]["class"]);
            Assert.True((int)neighbours[0]["count"] >= 8);
            var model = (Dictionary<string, object>)s.Evidence["model"];
            Assert.Equal("one", model["label"]);
            Assert.Equal("zero", model["perceived"]);
        });
        Assert.Equal(9, doc.LabelIssues!.EstimatedIssues, 0.5);
        Assert.Equal("model", doc.LabelIssues.Basis);
    }

    [Fact]
    public void A_model_that_fitted_its_labels_leaves_the_count_to_the_neighbours()
    {
        // Three well-separated blobs; twelve scattered samples labelled as another class, and a model that has memorised
        // every label (its probabilities are the given labels): only the neighbours can tell.
        int[] zeroAsOne = [3, 21, 47, 80, 111, 133], oneAsTwo = [170, 205, 260], twoAsZero = [320, 380, 430];
        var (x, labels, _) = Blobs(29, (zeroAsOne, 1), (oneAsTwo, 2), (twoAsZero, 0));
        var p = new float[x.Rows * 3];
        for (int i = 0; i < x.Rows; i++) for (int c = 0; c < 3; c++) p[i * 3 + c] = c == labels[i] ? 0.98f : 0.01f;
        var doc = PopulationInsights.Compute(x, [.. labels], p, 3, Enumerable.Range(0, x.Rows).Select(i => $"{i}").ToArray(), ["zero", "one", "two"]);

        Assert.Equal("neighbours", doc.LabelIssues!.Basis);
        Assert.Equal(1.0, doc.LabelIssues.FitsAgainstNeighbours);
        Assert.Equal(12, doc.LabelIssues.SamplesMeasured);
        Assert.InRange(doc.LabelIssues.EstimatedIssues, 10, 14);
        int[] flips = [.. zeroAsOne, .. oneAsTwo, .. twoAsZero];
        var flagged = doc.Insights.Where(c => c.Kind is "suspected-mislabel").SelectMany(c => c.Samples.Select(s => s.Index)).ToArray();
        Assert.Equal(flips.Order(), flagged.Order());
        var top = Enumerable.Range(0, x.Rows).OrderByDescending(i => doc.LabelIssue[i]).Take(flips.Length);
        Assert.Equal(flips.Order(), top.Order());
        Assert.Contains(doc.Notes, n => n.StartsWith("label_issue leans on the neighbours", StringComparison.Ordinal));
    }

    [Fact]
    public void Cards_are_ranked_by_impact_with_at_most_twelve_first_and_four_of_a_kind()
    {
        static InsightCard Card(string kind, double impact, string severity = "warning") =>
            new(kind, severity, $"{kind} {impact}", [], new Dictionary<string, object>(), [new InsightSample(0, "0")], null, "") { Impact = impact };
        var cards = new List<InsightCard>();
        for (int i = 0; i < 6; i++) cards.Add(Card("suspected-mislabel", 100 - i));
        for (int i = 0; i < 6; i++) cards.Add(Card("close-classes", 50 - i));
        for (int i = 0; i < 6; i++) cards.Add(Card("outliers", 20 - i));
        cards.Add(Card("weak-cluster", 0));
        var ranked = PopulationInsights.Rank(cards);

        Assert.Equal(cards.Count, ranked.Length);
        var primary = ranked.TakeWhile(c => c.Primary).ToArray();
        Assert.Equal(PopulationInsights.PrimaryCards, primary.Length);
        Assert.DoesNotContain(ranked.Skip(primary.Length), c => c.Primary);
        Assert.All(primary.GroupBy(c => c.Kind), g => Assert.Equal(PopulationInsights.PrimaryPerKind, g.Count()));
        Assert.Equal([100, 99, 98, 97, 50, 49, 48, 47, 20, 19, 18, 17], primary.Select(c => c.Impact));
        // The rest by impact, the card of no impact last.
        Assert.Equal([96, 95, 46, 45, 16, 15, 0], ranked.Skip(primary.Length).Select(c => c.Impact));

        // A critical card of little impact (two leaked pairs) is on the first screen all the same, in its place by impact.
        var withLeak = PopulationInsights.Rank([.. cards, Card("leakage", 2, "critical")]);
        var first = withLeak.TakeWhile(c => c.Primary).ToArray();
        Assert.Equal(PopulationInsights.PrimaryCards, first.Length);
        Assert.Equal("leakage", first[^1].Kind);
        Assert.Equal([100, 99, 98, 97, 50, 49, 48, 47, 20, 19, 18, 2], first.Select(c => c.Impact));
    }
}
