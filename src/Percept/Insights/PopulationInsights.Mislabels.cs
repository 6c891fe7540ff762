using Percept.Neighbors;

namespace Percept.Insights;

public static partial class PopulationInsights
{
    /// <summary>A pair's group with fewer samples than this joins the "other" card of its verdict.</summary>
    internal const int MinGroup = 3;
    /// <summary>An "other" card names at most this many pairs (and classes); its evidence counts them all.</summary>
    const int MaxPairsListed = 20;

    /// <summary>
    /// Suspected mislabels and ambiguous samples. Every labelled sample gets <c>label_issue</c> from the evidence the run
    /// holds (<see cref="LabelEvidence"/>) and a perceived class besides its label; per pair (label, perceived) the number of
    /// flips is estimated against simulated flips and the pair's best-scored samples make its cards (<see cref="LabelIssueCounts"/>),
    /// clear cases (the neighbours and the model agree on the other class) apart from split evidence (ambiguous). Groups of
    /// fewer than <see cref="MinGroup"/> samples join one "other" card per verdict. Rare-variant members and outliers are left
    /// out of the cards (their score stays).
    /// </summary>
    static LabelIssueSummary Mislabels(Population population, KnnGraph fullGraph, int[] finite, float[] labelIssue, HashSet<int> farOut,
        HashSet<int> variants, List<InsightCard> cards, List<string> notes, Func<int, string> name)
    {
        var (_, labels, probabilities, classes, ids, _) = population;
        var evidence = new LabelEvidence(labels, probabilities, classes, finite, fullGraph, population);
        var classCount = new int[classes];
        foreach (int l in labels) if (l >= 0 && l < classes) classCount[l]++;
        notes.Add(BasisNote(evidence, population));

        var candidates = new List<LabelIssueCounts.Candidate>();
        for (int r = 0; r < finite.Length; r++)
        {
            int y = evidence.Label(r), i = finite[r];
            if (y < 0) continue;
            double score = evidence.Score(r, farOut.Contains(i));
            labelIssue[i] = (float)score;
            if (variants.Contains(i) || farOut.Contains(i)) continue;
            int perceived = evidence.Perceived(r, y);
            if (perceived < 0) continue;
            candidates.Add(new(r, y, perceived, score, evidence.Clear(r, y, perceived)));
        }
        // The rows each class's flips are simulated from: up to MaxDonors of its labelled samples, drawn with a fixed seed.
        var byClass = new List<int>[classes];
        for (int c = 0; c < classes; c++) byClass[c] = [];
        for (int r = 0; r < finite.Length; r++) if (evidence.Label(r) >= 0 && !farOut.Contains(finite[r])) byClass[evidence.Label(r)].Add(r);
        var rng = new SplitMix64(0xF11B);
        var donors = byClass.Select(rows => Draw(rows, LabelIssueCounts.MaxDonors, ref rng)).ToArray();
        var pairs = LabelIssueCounts.Estimate(candidates, c => donors[c], (d, y) =>
        {
            int perceived = evidence.Perceived(d, y);
            return perceived == evidence.Label(d) ? new LabelIssueCounts.Planted(evidence.ScoreAs(d, y), evidence.Clear(d, y, perceived)) : null;
        }, JointCounts(evidence));
        double estimatedIssues = pairs.Sum(p => p.Estimated);

        InsightSample Sample(LabelIssueCounts.Candidate c) => new(finite[c.Row], ids[finite[c.Row]])
        {
            Evidence = evidence.Describe(c.Row, c.Score, c.Perceived, c.Clear, name),
        };
        string basis = evidence.Basis.ToString().ToLowerInvariant();
        var stragglers = new Dictionary<bool, List<(LabelIssueCounts.PairEstimate Pair, LabelIssueCounts.Candidate[] Members)>> { [true] = [], [false] = [] };
        foreach (var pair in pairs.Where(p => p.Members.Length > 0))
            foreach (bool clear in new[] { true, false })
            {
                var members = pair.Members.Where(m => m.Clear == clear).ToArray();
                if (members.Length == 0) continue;
                if (members.Length < MinGroup) { stragglers[clear].Add((pair, members)); continue; }
                var (expected, observed) = pair.Expected(members[^1].Score, clear);
                double precision = Math.Clamp(expected / Math.Max(1, observed), 0, 1);
                int y = pair.Label, j = pair.Perceived;
                var cardEvidence = new Dictionary<string, object>
                {
                    ["count"] = members.Length, ["precision_estimate"] = Math.Round(precision, 3), ["pair_estimated_issues"] = Math.Round(pair.Estimated, 1),
                    ["mean_label_issue"] = Math.Round(members.Average(m => m.Score), 4), ["basis"] = basis, ["class_count"] = classCount[y],
                };
                cards.Add(new InsightCard(clear ? "suspected-mislabel" : "ambiguous",
                    clear && precision >= 0.5 && members.Length >= 0.05 * classCount[y] ? "critical" : "warning",
                    clear ? $"labelled {name(y)}, perceived as {name(j)}: {members.Length} samples"
                          : $"between {name(y)} and {name(j)}: {members.Length} samples labelled {name(y)}",
                    [name(y), name(j)], cardEvidence, members.Take(MaxSamplesPerCard).Select(Sample).ToArray(), null,
                    clear ? $"check these labels: {Witnesses(evidence.Basis, population.Probabilities != null)} say {name(j)}"
                          : $"these inputs sit between {name(y)} and {name(j)} (their neighbours are split): review them, or accept either label")
                {
                    Precision = Math.Round(precision, 3), Impact = precision * members.Length,
                });
            }
        // The stragglers: one card per verdict.
        foreach (var (clear, groups) in stragglers)
        {
            if (groups.Count == 0) continue;
            double expected = 0; int observed = 0;
            foreach (var (pair, members) in groups) { var (e, o) = pair.Expected(members[^1].Score, clear); expected += e; observed += o; }
            var all = groups.SelectMany(g => g.Members).OrderByDescending(m => m.Score).ToArray();
            double precision = Math.Clamp(expected / Math.Max(1, observed), 0, 1);
            var pairList = groups.OrderByDescending(g => g.Members.Length).Take(MaxPairsListed)
                .Select(g => $"{name(g.Pair.Label)} → {name(g.Pair.Perceived)} ({g.Members.Length})").ToList();
            if (groups.Count > MaxPairsListed) pairList.Add($"… and {groups.Count - MaxPairsListed} more pairs");
            cards.Add(new InsightCard(clear ? "suspected-mislabel" : "ambiguous", "warning",
                clear ? $"other suspected mislabels: {all.Length} samples in {groups.Count} pairs of classes" : $"other ambiguous samples: {all.Length} samples in {groups.Count} pairs of classes",
                groups.SelectMany(g => new[] { g.Pair.Label, g.Pair.Perceived }).Distinct().Order().Take(MaxPairsListed).Select(name).ToArray(), new Dictionary<string, object>
                {
                    ["count"] = all.Length, ["precision_estimate"] = Math.Round(precision, 3), ["pairs"] = pairList.ToArray(), ["pair_count"] = groups.Count,
                    ["mean_label_issue"] = Math.Round(all.Average(m => m.Score), 4), ["basis"] = basis,
                },
                all.Take(MaxSamplesPerCard).Select(Sample).ToArray(), null,
                clear ? $"check these labels: {Witnesses(evidence.Basis, population.Probabilities != null)} say another class (each sample's evidence is listed)"
                      : "each of these sits between its label and another class: review them, or accept either label")
            {
                Precision = Math.Round(precision, 3), Impact = precision * all.Length,
            });
        }
        return new LabelIssueSummary(basis, double.IsNaN(evidence.FitsAgainstNeighbours) ? null : Math.Round(evidence.FitsAgainstNeighbours, 4),
            evidence.LowAgreementCount, Math.Round(estimatedIssues, 1));
    }

    /// <summary>
    /// Per pair, the count a card takes when the model has fitted its labels: memorised flips sit nearer their labels than a
    /// simulated flip, so the simulated bound would count too few; the neighbours' confident joint counts instead.
    /// </summary>
    static Func<int, int, double>? JointCounts(LabelEvidence evidence)
    {
        if (evidence.Basis != LabelEvidenceBasis.Neighbours) return null;
        var joint = evidence.NeighbourJoint();
        return (y, j) => joint.GetValueOrDefault((y, j));
    }

    static string Witnesses(LabelEvidenceBasis basis, bool scores) => basis switch
    {
        LabelEvidenceBasis.Neighbours when !scores => "most of their neighbours",
        LabelEvidenceBasis.Neighbours => "most of their neighbours (the model has fitted these labels, so its agreement with them says little)",
        LabelEvidenceBasis.History => "most of their neighbours and the model over its training",
        _ => "the model and most of their neighbours",
    };

    /// <summary>Why label_issue leans on what it does, in a sentence.</summary>
    static string BasisNote(LabelEvidence evidence, Population population)
    {
        string measured = double.IsNaN(evidence.FitsAgainstNeighbours) ? ""
            : $"the model predicts the given label for {evidence.FitsAgainstNeighbours:P0} of the {evidence.LowAgreementCount} samples whose neighbours mostly carry another";
        return evidence.Basis switch
        {
            LabelEvidenceBasis.History => $"label_issue uses the training history: the label's margin and the neighbours' agreement at each of the {population.LabelMarginHistory!.Columns} epochs, the early ones (before a wrong label is memorised) weighing most",
            LabelEvidenceBasis.Neighbours when population.Probabilities == null => "label_issue leans on the neighbours alone: the model gives no class scores",
            LabelEvidenceBasis.Neighbours => $"label_issue leans on the neighbours: {measured}, so it has fitted its labels (training data) and its confidence says little",
            _ => population.LabelProbabilityHistory is { } h
                ? $"label_issue uses the model's mean probability of each label over the {h.Columns} epochs of its training, with the neighbours"
                : $"label_issue uses the model's probability of the label with its neighbours{(measured.Length > 0 ? $" ({measured}: it has not fitted them)" : "")}",
        };
    }

    /// <summary>Up to <paramref name="count"/> of <paramref name="rows"/>, drawn without replacement, in random order.</summary>
    static IReadOnlyList<int> Draw(List<int> rows, int count, ref SplitMix64 rng)
    {
        // Shuffled even when all are taken: a pair may use only the first of them.
        var all = rows.ToArray();
        count = Math.Min(count, all.Length);
        for (int i = 0; i < count; i++) { int j = i + (int)(rng.Next() % (ulong)(all.Length - i)); (all[i], all[j]) = (all[j], all[i]); }
        return all[..count];
    }
}
