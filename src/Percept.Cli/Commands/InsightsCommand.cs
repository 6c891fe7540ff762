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
        Synopsis = ["percept insights RUN [--json] [--k N]"],
        Description = """
            Finds, in the run's perception vectors (never on the 2-D map), which classes the model perceives as close and
            whether closeness predicts confusion, which labels the model's confidence and the samples' neighbours
            disagree with (suspected mislabels, or ambiguous inputs when the evidence is mixed), small groups of a class
            perceived among another (rare variants), near and exact duplicates (leakage when they cross splits),
            clusters the model fails on with the metadata over-represented in them, and outliers; most important first.
            Keeps the cards and the per-sample fields label_issue, neighbor_agreement, outlier_score and cluster in the
            run (docs/insights.md). 'percept analyze' does this already unless given --insights none.
            """,
        Arguments = new("RUN", "a run folder", 1, 1),
        Options =
        [
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
        foreach (string note in insights.Notes) stdout.WriteLine($"note: {note}");
        if (insights.Insights.Count == 0) stdout.WriteLine("nothing stands out");
        foreach (var card in insights.Insights)
        {
            stdout.WriteLine($"[{card.Severity}] {card.Title}");
            if (card.Samples.Count > 0) stdout.WriteLine($"    samples: {string.Join(", ", card.Samples.Take(10).Select(s => $"#{s.Index}"))}{(card.Samples.Count > 10 ? ", …" : "")}");
            if (card.Pairs is { Count: > 0 } pairs) stdout.WriteLine($"    pairs: {string.Join(", ", pairs.Take(6).Select(q => $"#{q[0].Index}~#{q[1].Index}"))}{(pairs.Count > 6 ? ", …" : "")}");
            stdout.WriteLine($"    → {card.Action}");
        }
        return CommandLine.Ok;
    }
}
