using System.Diagnostics;
using Percept;
using Percept.Data;

/// <summary>
/// The demo's five checkpoints as one training (each map started from the previous epoch's and aligned to it) against
/// five independent analyses: per-epoch accuracy and mean loss against the training script's own evaluation
/// (models/fmnist-cnn/training.json), how far the dots move between consecutive epochs, and the map's time.
/// </summary>
static class EpochsBench
{
    public static int Run(string[] args)
    {
        string scratch = Path.Combine(Path.GetTempPath(), "percept-epochs-bench-" + Environment.ProcessId);
        Directory.CreateDirectory(scratch);
        try
        {
            var checkpoints = Training.FindCheckpoints([Path.Combine(Paths.Root, "models", "fmnist-cnn")]);
            var template = new AnalysisOptions
            {
                ModelPath = checkpoints[0],
                Data = new DataSource { Path = Paths.TestImages, LabelsPath = Paths.TestLabels, ClassNamesPath = Path.Combine(Paths.Root, "data", "fashion-mnist", "classes.txt") },
                OutputDirectory = Path.Combine(scratch, "training"),
                Insights = false,
            };
            var clock = Stopwatch.StartNew();
            var training = Training.Analyse(checkpoints, template);
            double aligned = clock.Elapsed.TotalSeconds;
            var independent = new List<Percept.Store.Run>();
            clock.Restart();
            for (int e = 0; e < checkpoints.Count; e++)
                independent.Add(Analysis.Run(template with { ModelPath = checkpoints[e], OutputDirectory = Path.Combine(scratch, $"alone-{e + 1}") }));
            double alone = clock.Elapsed.TotalSeconds;
            var reference = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(Paths.Root, "models", "fmnist-cnn", "training.json")))
                .RootElement.GetProperty("epochs").EnumerateArray().ToArray();

            Console.WriteLine($"demo checkpoints on the 10k test split: training (aligned maps) {aligned:F1} s, five independent analyses {alone:F1} s");
            Console.WriteLine("| epoch | accuracy (Percept / training script) | mean loss (Percept / training script) | mean displacement, aligned | mean displacement, independent maps | map seconds, aligned / independent | trustworthiness@10, aligned / independent |");
            Console.WriteLine("|---|---|---|---|---|---|---|");
            for (int e = 0; e < training.Epochs.Count; e++)
            {
                var entry = training.Epochs[e];
                var run = Percept.Store.Run.Open(Path.Combine(template.OutputDirectory, entry.Run));
                string Displacement(Percept.Store.Run a, Percept.Store.Run b) => Training.MeanDisplacement(Map(a), Map(b)).ToString("F3");
                string free = e == 0 ? "—" : Displacement(independent[e - 1], independent[e]);
                Console.WriteLine($"| {entry.Epoch} | {entry.Accuracy:F4} / {reference[e].GetProperty("test_accuracy").GetDouble():F4} | {entry.MeanLoss:F4} / {reference[e].GetProperty("test_loss").GetDouble():F4} | " +
                                  $"{(entry.MeanDisplacement is double d ? d.ToString("F3") : "—")} | {free} | {run.Manifest.Map!.Seconds:F1} / {independent[e].Manifest.Map!.Seconds:F1} | " +
                                  $"{run.Manifest.Map.Trustworthiness:F3} / {independent[e].Manifest.Map!.Trustworthiness:F3} |");
            }
            return 0;
        }
        finally { Directory.Delete(scratch, true); }
    }

    static Matrix Map(Percept.Store.Run run) => run.ReadMatrix(Percept.Projection.MapFields.Map);
}
