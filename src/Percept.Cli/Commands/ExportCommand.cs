using Percept.Store;

namespace Percept.Cli.Commands;

/// <summary><c>percept export</c>: one field of a run to a file.</summary>
public static class ExportCommand
{
    public static readonly CommandSpec Spec = new()
    {
        Name = "export",
        Summary = "write one field of a run to .npy, .csv or .parquet",
        Synopsis = ["percept export RUN --field FIELD --out FILE(.npy|.csv|.parquet)",
                    "percept export TRAINING [--epoch E] --field FIELD --out FILE"],
        Arguments = new("RUN", "a run folder, or a training folder (percept analyze --checkpoints)", 1, 1),
        Options =
        [
            new("field", "FIELD", "the field to write (below)"),
            new("epoch", "E", "of a training folder: the epoch (1-based; default the last)"),
            new("out", "FILE", "where to write it: .npy, .csv or .parquet"),
            new("rows", "A:B", "only samples A to B-1 (either may be left out: 1000: or :500)"),
        ],
        Epilogue = "Fields (rows in dataset order; docs/run-format.md says what each holds):\n" + FieldList() + """

            The samples table's columns and the scalar fields export to .npy as float32 (NaN for none), or as int64 (-1 for
            none) when they hold whole numbers or true/false; 'metadata' is the whole samples table (.csv or .parquet).
            Of a training folder: loss_history, prediction_history, correct_history (N x epochs, .npy).
            """,
        Run = Run,
    };

    public static int Run(Arguments a, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        if (a.Positional.Count != 1) throw new UsageException("give one run folder");
        string folder = a.Positional[0], field = a.Require("field"), output = a.Require("out");
        int? epoch = a.GetInt("epoch");
        if (Training.IsTraining(folder))
        {
            if (Training.HistoryMatrices.Contains(field))
            {
                if (epoch != null) throw new UsageException($"{field} holds every epoch; drop --epoch");
                if (!output.EndsWith(".npy", StringComparison.OrdinalIgnoreCase)) throw new UsageException($"{field} is written as .npy");
                var shape = Training.ExportHistory(folder, field, output);
                stdout.WriteLine($"wrote {field} ({string.Join(" x ", shape)}) to {output}");
                return CommandLine.Ok;
            }
            folder = Training.EpochDirectory(folder, epoch);
        }
        else if (epoch != null) throw new UsageException("--epoch applies to a training folder (percept analyze --checkpoints)");
        else if (Training.HistoryMatrices.Contains(field)) throw new PerceptException($"{field} belongs to a training folder (percept analyze --checkpoints); {folder} is one run");
        var run = Store.Run.Open(folder);
        var rows = a.Get("rows") is { } text ? Rows(text) : (Range?)null;
        // A field the schema declares but this run lacks: say why, and what computes it.
        if (RunExporter.FindMatrix(run, field) == null && RunSchema.Find(field) is { Layout: FieldLayout.Matrix } declared) run.Entry(declared);
        int count = RunExporter.Export(run, field, output, rows);
        stdout.WriteLine($"wrote {count} rows of {field} to {output}");
        return CommandLine.Ok;
    }

    /// <summary>A range of samples written A:B (start inclusive, end exclusive; either may be left out).</summary>
    static Range Rows(string text)
    {
        var parts = text.Split(':');
        static bool Number(string s, out int n) => int.TryParse(s, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out n);
        if (parts.Length != 2 || (parts[0].Length > 0 && !Number(parts[0], out _)) || (parts[1].Length > 0 && !Number(parts[1], out _)))
            throw new UsageException($"--rows takes A:B (sample A to sample B-1), not '{text}'");
        Index start = parts[0].Length > 0 ? int.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture) : 0;
        Index end = parts[1].Length > 0 ? int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture) : Index.End;
        return new Range(start, end);
    }

    /// <summary>The schema's per-sample fields, a line per stage.</summary>
    static string FieldList() => string.Join("\n", RunSchema.All.Where(f => f.PerSample && f.Layout != FieldLayout.Document).GroupBy(f => f.Owner)
        .Select(g => $"  {g.Key}: {string.Join(", ", g.Select(f => f.IsFamily ? f.Name + ":NAME" : f.Name))}"));
}
