using Percept.Store;

namespace Percept.Cli.Commands;

/// <summary><c>percept export</c>: one field of a run to a file.</summary>
public static class ExportCommand
{
    public static readonly CommandSpec Spec = new()
    {
        Name = "export",
        Summary = "write one field of a run to .npy, .csv or .parquet",
        Synopsis = ["percept export RUN --field FIELD --out FILE(.npy|.csv|.parquet)"],
        Arguments = new("RUN", "a run folder", 1, 1),
        Options =
        [
            new("field", "FIELD", "the field to write (below)"),
            new("out", "FILE", "where to write it: .npy, .csv or .parquet"),
        ],
        Epilogue = """
            Fields (rows in dataset order):
              logits, probabilities, embedding, outputs, map, layer:<name>   float32 matrices
              map_preservation                                         float32, per point (share of 10-NN kept on the map)
              prediction, label, correct                               int64 (-1 where there is none)
              loss, confidence, margin, entropy                        float32 (NaN where there is none)
              metadata                                                 the samples table (.csv or .parquet)
            """,
        Run = Run,
    };

    public static int Run(Arguments a, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        if (a.Positional.Count != 1) throw new UsageException("give one run folder");
        var run = Store.Run.Open(a.Positional[0]);
        string field = a.Require("field"), output = a.Require("out");
        RunExporter.Export(run, field, output);
        stdout.WriteLine($"wrote {field} of {run.Count} samples to {output}");
        return CommandLine.Ok;
    }
}
