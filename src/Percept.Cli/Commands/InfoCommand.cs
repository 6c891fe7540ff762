namespace Percept.Cli.Commands;

/// <summary><c>percept info</c>: what a run holds.</summary>
public static class InfoCommand
{
    public static readonly CommandSpec Spec = new()
    {
        Name = "info",
        Summary = "summarise a run",
        Synopsis = ["percept info RUN [--model MODEL.onnx] [--data DATA]"],
        Description = """
            Prints the run's model and data (where they are now, or what to do when they moved), its fields, perception
            layers, neighbour graph, map, accuracy and its worst samples.
            """,
        Arguments = new("RUN", "a run folder", 1, 1),
        Options =
        [
            new("model", "MODEL.onnx", "where the run's model is now, when it moved (checked against its fingerprint)"),
            new("data", "DATA", "where the run's data are now, when they moved"),
        ],
        Run = Run,
    };

    public static int Run(Arguments a, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        if (a.Positional.Count != 1) throw new UsageException("give one run folder");
        var run = RunFolders.Open(a.Positional[0], new Store.RunLocations(a.Get("model"), a.Get("data")));
        var m = run.Manifest;
        stdout.WriteLine($"model: input {m.Model.Input}, output {m.Model.Output} as {m.Model.OutputKind}");
        stdout.WriteLine($"data: {m.Data.Description}, split {m.Data.Split}; preprocessing {m.Data.Preprocessing}");
        // Where the files the run was made from are now: a moved run needs them only to explain and show samples.
        foreach (var source in run.Sources)
        {
            string option = source.Role is "model" ? "--model" : "--data";
            stdout.WriteLine(source.Found is { } now
                ? $"  {source.Role}: {now}{(now != source.Recorded ? $" (moved from {source.Recorded})" : "")}"
                : $"  {source.Role}: missing: {source.Problem}; heat maps and thumbnails need it: add {option} PATH");
        }
        if (m.Data.MetadataColumns.Count > 0) stdout.WriteLine($"metadata columns: {string.Join(", ", m.Data.MetadataColumns)}");
        stdout.WriteLine($"fields: {string.Join(", ", run.Fields.Select(f => f.Name))}");
        if (m.Neighbors is { } g)
            stdout.WriteLine($"neighbour graph: {g.K} per sample, {g.Metric} in {g.Space} ({(g.Exact ? "exact" : $"NN-descent, recall@{g.K} {g.Recall:F3} on {g.RecallSample} samples")}), {g.Seconds:F1}s");
        AnalyzeCommand.PrintSummary(run, stdout);
        DemoCommand.PrintWorst(run, stdout, 5);
        return CommandLine.Ok;
    }
}
