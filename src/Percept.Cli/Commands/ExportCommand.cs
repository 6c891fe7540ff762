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
        ],
        Epilogue = """
            Fields (rows in dataset order):
              logits, probabilities, embedding, outputs, map, layer:<name>   float32 matrices
              map_preservation                                         float32, per point (share of 10-NN kept on the map)
              prediction, label, correct                               int64 (-1 where there is none)
              loss, confidence, margin, entropy                        float32 (NaN where there is none)
              metadata                                                 the samples table (.csv or .parquet)
              label_issue, neighbor_agreement, outlier_score, cluster  float32, from insights (NaN or -1 where there is none)
              first_learned, forgotten, never_learned, neighborhood_change   float32, an epoch's history (training folders)
              loss_history, prediction_history, correct_history        float32 N x epochs (training folders; .npy)
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
                string source = Path.Combine(folder, Training.HistoryFolder, field + ".npy");
                if (!File.Exists(source)) throw new PerceptException($"training {folder} has no {field} yet");
                File.Copy(source, output, overwrite: true);
                stdout.WriteLine($"wrote {field} ({string.Join(" x ", IO.Npy.ReadHeader(source).Shape)}) to {output}");
                return CommandLine.Ok;
            }
            folder = Training.EpochDirectory(folder, epoch);
        }
        else if (epoch != null) throw new UsageException("--epoch applies to a training folder (percept analyze --checkpoints)");
        else if (Training.HistoryMatrices.Contains(field)) throw new PerceptException($"{field} belongs to a training folder (percept analyze --checkpoints); {folder} is one run");
        var run = Store.Run.Open(folder);
        RunExporter.Export(run, field, output);
        stdout.WriteLine($"wrote {field} of {run.Count} samples to {output}");
        return CommandLine.Ok;
    }
}
