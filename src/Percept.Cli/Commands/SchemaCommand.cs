using Percept.Store;

namespace Percept.Cli.Commands;

/// <summary><c>percept schema</c>: every field a run can hold, by the stage that writes it.</summary>
public static class SchemaCommand
{
    public static readonly CommandSpec Spec = new()
    {
        Name = "schema",
        Summary = "the fields a run can hold, by the stage that writes them",
        Synopsis = ["percept schema [--markdown]"],
        Description = """
            Lists every field the stages declare: its name, the stage that writes it, its type and layout (a matrix of
            numbers, a column of the samples table, a document), and what it holds. 'percept export' writes any of them
            that a run has; 'percept info RUN' says which a run has.
            """,
        Options = [new("markdown", null, "print the table of docs/run-format.md")],
        Run = Run,
    };

    public static int Run(Arguments a, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        if (a.Positional.Count != 0) throw new UsageException("schema takes no argument");
        if (a.Has("markdown")) { stdout.Write(RunSchema.MarkdownTable()); return CommandLine.Ok; }
        foreach (var stage in RunSchema.All.GroupBy(f => f.Owner))
        {
            stdout.WriteLine($"{stage.Key}:");
            foreach (var f in stage)
            {
                string name = f.IsFamily ? f.Name + ":NAME" : f.Name;
                string layout = f.Layout switch { FieldLayout.Column => "column", FieldLayout.Document => "document", _ => f.PerSample ? "per sample" : "run-wide" };
                stdout.WriteLine($"  {name,-26} {f.Type.ToString().ToLowerInvariant(),-8} {layout,-10} {f.Description}");
            }
        }
        return CommandLine.Ok;
    }
}
