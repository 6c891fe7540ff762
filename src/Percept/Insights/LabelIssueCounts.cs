namespace Percept.Insights;

/// <summary>
/// How many samples labelled y are really of class j, for every pair (y, j), and how sure a card of them is.
///
/// Flips are simulated: samples of class j (up to <see cref="MaxDonors"/>, drawn at random) are scored as if they had been
/// labelled y (<see cref="LabelEvidence.ScoreAs"/>). Under class-conditional noise (a wrong label does not depend on the
/// sample beyond its class, the assumption of confident learning) the real flips of the pair score like the simulated ones,
/// so among the samples labelled y and perceived as j, the number scoring at least s is E·P(s) + C(s): E the pair's flips,
/// P(s) the share of simulated flips scoring at least s, C(s) the correctly labelled samples above s. Hence
/// E ≤ N(s)/P(s) at every s, and the smallest ratio (over thresholds where P(s) is at least a tenth) estimates E
/// (mixture-proportion estimation, as in Scott, Blanchard and Handy 2013). A card then holds the pair's E best-scored
/// samples, stopping at the score above which 95% of simulated flips lie, and its precision is estimated as
/// E·P(s_min, verdict)/N(s_min, verdict): the flips expected among its samples over its samples.
/// A model that has fitted its labels pulls its flips toward them, so they score lower than simulated ones and the bound
/// counts too few; then the neighbours' confident joint gives each pair's count, the card takes that many best-scored
/// samples, and precision is still reckoned from the simulated bound (the flips that look as clear as simulated ones).
/// </summary>
static class LabelIssueCounts
{
    /// <summary>Simulated flips per class, at most.</summary>
    public const int MaxDonors = 500;
    /// <summary>Simulated flips per pair, at least (when many pairs share <see cref="SimulationBudget"/>).</summary>
    public const int MinDonors = 20;
    /// <summary>Simulated flips over all pairs, at most (unless every pair is down to <see cref="MinDonors"/>: 100,000 pairs and more).</summary>
    public const int SimulationBudget = 2_000_000;
    /// <summary>The thresholds the estimate is taken over leave at least this share of simulated flips above.</summary>
    public const double MinPlantedShare = 0.1;
    /// <summary>A card stops at the score above which this share of simulated flips lie.</summary>
    public const double Coverage = 0.95;

    /// <summary>One labelled sample that could be a flip: its row, label, perceived class, score and verdict.</summary>
    public readonly record struct Candidate(int Row, int Label, int Perceived, double Score, bool Clear);

    /// <summary>A simulated flip into the pair: its score (−∞ when the flipped sample would be perceived as another class) and verdict.</summary>
    public readonly record struct Planted(double Score, bool Clear);

    /// <summary>A pair's estimate: the flips expected (<paramref name="Estimated"/>), its candidates best first, its simulated flips best first, and the members a card takes.</summary>
    /// <param name="Bound">The simulated flips' estimate, which precision is reckoned from (the same as <paramref name="Estimated"/> unless a confident joint counted the pair).</param>
    public sealed record PairEstimate(int Label, int Perceived, double Estimated, Candidate[] Candidates, Planted[] Flips, Candidate[] Members, double Bound)
    {
        /// <summary>The share of simulated flips that score at least <paramref name="score"/> (with the given verdict, when one is given).</summary>
        public double PlantedShare(double score, bool? clear = null) =>
            Flips.Length == 0 ? 0 : Flips.Count(f => f.Score >= score && (clear == null || f.Clear == clear)) / (double)Flips.Length;

        /// <summary>Flips expected among the candidates that score at least <paramref name="score"/> and have the verdict, and how many such candidates there are.</summary>
        public (double Expected, int Observed) Expected(double score, bool? clear = null) =>
            (Bound * PlantedShare(score, clear), Candidates.Count(c => c.Score >= score && (clear == null || c.Clear == clear)));
    }

    /// <summary>Estimates every pair that has candidates; <paramref name="donors"/> are the rows each class's flips are simulated from.</summary>
    /// <param name="counted">When given, the pair's count (from a confident joint) instead of the simulated flips' bound; a card
    /// then takes that many of the pair's best-scored samples that score above 0.</param>
    public static List<PairEstimate> Estimate(IEnumerable<Candidate> candidates, Func<int, IReadOnlyList<int>> donors, Func<int, int, Planted?> simulate,
        Func<int, int, double>? counted = null)
    {
        var result = new List<PairEstimate>();
        var groups = candidates.GroupBy(c => (c.Label, c.Perceived)).OrderBy(g => g.Key).ToArray();
        // Many classes make many pairs: the simulated flips per pair shrink to keep the total within the budget.
        int perPair = Math.Clamp(SimulationBudget / Math.Max(1, groups.Length), MinDonors, MaxDonors);
        foreach (var group in groups)
        {
            var (y, j) = group.Key;
            var ordered = group.Select(c => c with { Score = Quantize(c.Score) }).OrderByDescending(c => c.Score).ThenBy(c => c.Row).ToArray();
            var flips = donors(j).Take(perPair).Select(d => simulate(d, y) is { } f ? f with { Score = Quantize(f.Score) } : new Planted(double.NegativeInfinity, false))
                .OrderByDescending(f => f.Score).ToArray();
            var planted = flips.Select(f => f.Score).ToArray();
            double simulatedFloor = Floor(planted);
            double bound = EstimateCount(ordered.Select(c => c.Score).ToArray(), planted, simulatedFloor);
            double floor = counted == null ? simulatedFloor : Resolution;
            double estimated = counted == null ? bound : Math.Min(counted(y, j), ordered.Count(c => c.Score >= floor));
            var members = ordered.Take((int)Math.Round(estimated)).Where(c => c.Score >= floor).ToArray();
            result.Add(new PairEstimate(y, j, estimated, ordered, flips, members, bound));
        }
        return result;
    }

    /// <summary>Scores closer than this are ties: a probability of 10⁻⁸ against 10⁻⁹ says nothing a person could check.</summary>
    public const double Resolution = 1e-3;

    static double Quantize(double score) => double.IsFinite(score) ? Math.Round(score / Resolution) * Resolution : score;

    /// <summary>The score above which <see cref="Coverage"/> of the simulated flips perceived as the pair's class lie (+∞: none is).</summary>
    /// <param name="planted">Simulated flips' scores, descending (−∞ for a flip perceived as another class).</param>
    public static double Floor(double[] planted)
    {
        int perceived = planted.Count(s => s > double.NegativeInfinity);
        return perceived == 0 ? double.PositiveInfinity : planted[Math.Max(0, (int)Math.Ceiling(Coverage * perceived) - 1)];
    }

    /// <summary>
    /// min of N(s)/P(s) over the thresholds s at or above <paramref name="floor"/> (each observed score there, where at least
    /// <see cref="MinPlantedShare"/> of simulated flips score s or more); at most the candidates above the floor, 0 when none is.
    /// </summary>
    /// <param name="observed">Candidates' scores, descending.</param>
    /// <param name="planted">Simulated flips' scores, descending (−∞ for a flip perceived as another class).</param>
    public static double EstimateCount(double[] observed, double[] planted, double floor)
    {
        int candidates = observed.Count(s => s >= floor);
        if (candidates == 0 || planted.Length == 0) return 0;
        double best = candidates;
        int above = 0;
        for (int t = 0; t < candidates; t++)
        {
            // Ties count together: N(s) is every candidate scoring at least s.
            if (t + 1 < observed.Length && observed[t + 1] == observed[t]) continue;
            double s = observed[t];
            while (above < planted.Length && planted[above] >= s) above++;
            double share = above / (double)planted.Length;
            if (share < MinPlantedShare) continue;
            best = Math.Min(best, (t + 1) / share);
        }
        return best;
    }
}
