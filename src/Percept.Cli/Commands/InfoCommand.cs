namespace Percept.Cli.Commands;

/// <summary><c>percept info</c>: what a run holds.</summary>
public static class InfoCommand
{
    public const string Usage = """
        percept info RUN

        Prints the run's model, data, perception layers, accuracy and its worst samples.
        """;

    public static int Run(string[] argv, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        var a = new Arguments(argv, [], []);
        if (a.Positional.Count != 1) throw new UsageException("give one run folder");
        var run = Store.Run.Open(a.Positional[0]);
        var m = run.Manifest;
        stdout.WriteLine($"model: {m.Model.Path} (input {m.Model.Input}, output {m.Model.Output} as {m.Model.OutputKind})");
        stdout.WriteLine($"data: {m.Data.Description}, split {m.Data.Split}; preprocessing {m.Data.Preprocessing}");
        if (m.Data.MetadataColumns.Count > 0) stdout.WriteLine($"metadata columns: {string.Join(", ", m.Data.MetadataColumns)}");
        AnalyzeCommand.PrintSummary(run, stdout);
        DemoCommand.PrintWorst(run, stdout, 5);
        return CommandLine.Ok;
    }
}
