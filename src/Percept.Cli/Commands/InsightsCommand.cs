using System.Globalization;
using Percept.Insights;

namespace Percept.Cli.Commands;

/// <summary><c>percept insights</c>: what the population map shows, found in perception space and explained with numbers.</summary>
public static class InsightsCommand
{
    public static readonly CommandSpec Spec = new()
    {
        Name = "insights",
        Summary = "findings about the population: close classes, suspected mislabels, ambiguous samples, rare variants, duplicates and leakage, weak clusters, outliers",
        Synopsis = ["percept insights RUN [--all] [--json] [--k N]"],
        Description = """
            Finds, in the run's perception vectors (never on the 2-D map), which classes the model perceives as close and
            whether closeness predicts confusion, which labels the model's confidence and the samples' neighbours
            disagree with (suspected mislabels, or ambiguous inputs when the evidence is mixed), small groups of a class
            perceived among another (rare variants), near and exact duplicates (leakage when they cross splits),
            clusters the model fails on with the metadata over-represented in them, and outliers. Cards are ranked by
            impact (the samples they would change, times how sure Percept is of them); the first few are printed, --all
            prints every card. A mislabel card says how many of its samples are estimated to be real label errors.
            Keeps the cards and the per-sample fields label_issue, neighbor_agreement, outlier_score and cluster in the
            run (docs/insights.md). 'percept analyze' does this already unless given --insights none.
            """,
        Arguments = new("RUN", "a run folder", 1, 1),
        Options =
        [
            new("all", null, "print every card, not only the most important ones"),
            new("json", null, "print the JSON document instead of text"),
            new("k", "N", "neighbours per sample (default 10)"),
        ],
        Run = Run,
    };

    public static int Run(Arguments a, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        if (a.Positional.Count != 1) throw new UsageException("give one run folder");
        int k = a.GetInt("k") ?? 10;
        if (k < 1) throw new UsageException("--k must be at least 1");
        var run = RunFolders.Open(a.Positional[0]);
        var insights = PopulationInsights.Compute(run, k, ct);
        string json = insights.ToJson();
        try { InsightsStore.Save(run, insights); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { stderr.WriteLine($"warning: cannot keep the insights in {run.Directory} ({e.Message})"); }
        if (a.Has("json")) { stdout.WriteLine(json); return CommandLine.Ok; }
        stdout.WriteLine($"insights for {run.Directory} ({insights.Neighbors} nearest neighbours in perception space)");
        if (insights.ClassProximity is { } p && !double.IsNaN(p.Spearman))
            stdout.WriteLine($"class proximity against confusion: Spearman {p.Spearman.ToString("F2", CultureInfo.InvariantCulture)} over the pairs of classes");
        if (insights.LabelIssues is { } l)
            stdout.WriteLine($"label errors: about {Number(l.EstimatedIssues)} estimated among the labelled samples (evidence: {l.Basis})");
        foreach (string note in insights.Notes) stdout.WriteLine($"note: {note}");
        if (insights.Insights.Count == 0) stdout.WriteLine("nothing stands out");
        bool all = a.Has("all");
        var shown = all ? insights.Insights : insights.Insights.Where(c => c.Primary).ToList();
        foreach (var card in shown)
        {
            string sure = card.Precision is { } precision ? $" (about {precision.ToString("P0", CultureInfo.InvariantCulture)} of them estimated right)" : "";
            stdout.WriteLine($"[{card.Severity}] {card.Title}{sure}");
            if (card.Samples.Count > 0) stdout.WriteLine($"    samples: {string.Join(", ", card.Samples.Take(10).Select(s => $"#{s.Index}"))}{(card.Samples.Count > 10 ? ", …" : "")}");
            if (card.Pairs is { Count: > 0 } pairs) stdout.WriteLine($"    pairs: {string.Join(", ", pairs.Take(6).Select(q => $"#{q[0].Index}~#{q[1].Index}"))}{(pairs.Count > 6 ? ", …" : "")}");
            stdout.WriteLine($"    → {card.Action}");
        }
        int hidden = insights.Insights.Count - shown.Count;
        if (hidden > 0) stdout.WriteLine($"{hidden} more card{(hidden == 1 ? "" : "s")} of less impact: --all prints them, --json gives everything");
        return CommandLine.Ok;
    }

    static string Number(double value) => value.ToString(value >= 10 ? "N0" : "0.#", CultureInfo.InvariantCulture);
}
