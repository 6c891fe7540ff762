namespace Percept.Cli.Commands;

/// <summary><c>percept info</c>: what a run holds.</summary>
public static class InfoCommand
{
    public static readonly CommandSpec Spec = new()
    {
        Name = "info",
        Summary = "summarise a run",
        Synopsis = ["percept info RUN"],
        Description = "Prints the run's model, data, perception layers, accuracy and its worst samples.",
        Arguments = new("RUN", "a run folder", 1, 1),
        Run = Run,
    };

    public static int Run(Arguments a, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        if (a.Positional.Count != 1) throw new UsageException("give one run folder");
        var run = RunFolders.Open(a.Positional[0]);
        var m = run.Manifest;
        stdout.WriteLine($"model: {m.Model.Path} (input {m.Model.Input}, output {m.Model.Output} as {m.Model.OutputKind})");
        stdout.WriteLine($"data: {m.Data.Description}, split {m.Data.Split}; preprocessing {m.Data.Preprocessing}");
        if (m.Data.MetadataColumns.Count > 0) stdout.WriteLine($"metadata columns: {string.Join(", ", m.Data.MetadataColumns)}");
        AnalyzeCommand.PrintSummary(run, stdout);
        DemoCommand.PrintWorst(run, stdout, 5);
        return CommandLine.Ok;
    }
}
