using Percept.Comparison;
using Percept.IO;

namespace Percept.Cli.Commands;

/// <summary><c>percept compare</c>: two runs over the same samples side by side.</summary>
public static class CompareCommand
{
    public static readonly CommandSpec Spec = new()
    {
        Name = "compare",
        Summary = "two runs over the same samples compared: predictions fixed and broken, per-class accuracy and loss, perception change, insight cards",
        Synopsis = ["percept compare A B [--json] [--out DIR] [--k N] [--match auto|samples|datasets]"],
        Description = """
            Compares two runs over the same samples, matched by sample id: two models, two epochs of a training (a
            training folder stands for its last epoch; name an epoch's run folder, epochs/epoch-K, for another), or two
            trainings. Prints the predictions fixed (wrong in A, right in B) and broken (right in A, wrong in B) with the
            largest groups by label, accuracy and mean loss per class in A and B, how much each sample's neighbourhood in
            perception space changed (the share of its k nearest neighbours in A that are among its k nearest in B) and
            the samples that changed most, the pairs of classes whose samples' neighbourhoods cross more or less, and the
            insight cards that appeared or vanished. Two runs of one model over two datasets (no shared sample ids, or
            positional ids read from different files) are compared as datasets instead: B's perception vectors are rebuilt
            in A's space, and the k-NN graph of both says which regions of A B fills, leaves empty or adds (a domain-gap
            card). --out writes comparison.json and summary.txt (docs/compare.md).
            """,
        Arguments = new("A B", "two run or training folders", 2, 2),
        Options =
        [
            new("json", null, "print the JSON document instead of text"),
            new("out", "DIR", "also write comparison.json and summary.txt into DIR"),
            new("k", "N", "neighbours per sample for the perception change (default 10)"),
            new("match", "auto|samples|datasets", "the same samples matched by id, or two datasets seen by one model (default auto: datasets when no id is shared, or positional ids come from different files)"),
        ],
        Run = Run,
    };

    public static int Run(Arguments a, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        if (a.Positional.Count != 2) throw new UsageException("give two run folders, A and B");
        int k = a.GetInt("k") ?? 10;
        if (k < 1) throw new UsageException("--k must be at least 1");
        var runA = RunFolders.Open(a.Positional[0]);
        var runB = RunFolders.Open(a.Positional[1]);
        var match = a.Get("match") switch
        {
            null or "auto" => SampleMatching.Auto,
            "samples" => SampleMatching.Samples,
            "datasets" => SampleMatching.Datasets,
            var other => throw new UsageException($"--match {other}: give auto, samples or datasets"),
        };
        var doc = RunComparison.Compare(runA, runB, k, match, ct);
        string json = doc.ToJson(), summary = RunComparison.Summary(doc);
        if (a.Get("out") is { } dir)
        {
            try { Directory.CreateDirectory(dir); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new PerceptException($"--out {dir}: {e.Message}"); }
            AtomicFile.Replace(Path.Combine(dir, "comparison.json"), tmp => File.WriteAllText(tmp, json + "\n"));
            AtomicFile.Replace(Path.Combine(dir, "summary.txt"), tmp => File.WriteAllText(tmp, summary));
        }
        stdout.Write(a.Has("json") ? json + "\n" : summary);
        return CommandLine.Ok;
    }
}
