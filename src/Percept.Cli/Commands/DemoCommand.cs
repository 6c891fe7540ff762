using System.Globalization;
using System.Text.RegularExpressions;
using Percept.Data;

namespace Percept.Cli.Commands;

/// <summary><c>percept demo</c>: analyses the bundled Fashion-MNIST test split with the last checkpoint of the demo CNN.</summary>
public static partial class DemoCommand
{
    public static readonly CommandSpec Spec = new()
    {
        Name = "demo",
        Summary = "analyse the bundled Fashion-MNIST demo and open its dashboard",
        Synopsis = ["percept demo [--out RUN] [--no-serve] [--host HOST] [--port PORT]"],
        Description = """
            Analyses the bundled Fashion-MNIST test split (data/fashion-mnist) with the last checkpoint of the demo CNN
            (models/fmnist-cnn), prints accuracy, mean loss and the worst samples, and the run's path; then serves the
            dashboard on it (as 'percept serve') until Ctrl+C, unless --no-serve. The files travel with the installed
            tool; from a clone of the repository, its own are used.
            """,
        Options =
        [
            new("out", "RUN", "where to write the run (default runs/demo: in the clone, or under the current folder; replaced on every demo)"),
            new("no-serve", null, "stop after the summary"),
            new("host", "HOST", "as for 'percept serve' (default 127.0.0.1)"),
            new("port", "PORT", "as for 'percept serve' (default 5080 when free)"),
        ],
        Run = Run,
    };

    [GeneratedRegex(@"epoch-(\d+)\.onnx$")] private static partial Regex EpochFile();

    public static int Run(Arguments a, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        if (a.Positional.Count > 0) throw new UsageException($"unexpected argument '{a.Positional[0]}'");
        var (root, inRepository) = FindDemo()
            ?? throw new PerceptException($"demo files not found: neither a Percept clone above {Environment.CurrentDirectory} nor the tool's own copy in {Path.Combine(AppContext.BaseDirectory, "demo")}");
        string data = Path.Combine(root, "data", "fashion-mnist");
        string checkpoint = Directory.GetFiles(Path.Combine(root, "models", "fmnist-cnn"), "epoch-*.onnx")
            .OrderBy(f => int.Parse(EpochFile().Match(f).Groups[1].Value, CultureInfo.InvariantCulture)).Last();
        stdout.WriteLine($"demo: {Path.GetRelativePath(root, checkpoint)} on the Fashion-MNIST test split (10,000 images)");
        var run = AnalyzeCommand.Execute(new AnalysisOptions
        {
            ModelPath = checkpoint,
            Data = new DataSource
            {
                Path = Path.Combine(data, "t10k-images-idx3-ubyte.gz"),
                LabelsPath = Path.Combine(data, "t10k-labels-idx1-ubyte.gz"),
                ClassNamesPath = Path.Combine(data, "classes.txt"),
            },
            // In a clone, the run goes under it (runs/demo); from an installed tool, under the current folder.
            OutputDirectory = a.Get("out") ?? (inRepository ? Path.Combine(root, "runs", "demo") : Path.Combine(Environment.CurrentDirectory, "runs", "demo")),
            Overwrite = true,
        }, stdout, stderr, ct);
        AnalyzeCommand.PrintSummary(run, stdout);
        PrintWorst(run, stdout, 5);
        PrintInsights(run, stdout, 4);
        stdout.WriteLine("explore it:");
        stdout.WriteLine($"  percept serve {run.Directory}");
        stdout.WriteLine($"  percept insights {run.Directory}");
        stdout.WriteLine($"  percept info {run.Directory}");
        stdout.WriteLine($"  percept export {run.Directory} --field embedding --out emb.npy");
        if (!a.Has("no-serve")) ServeCommand.Serve([run.Directory], a.Get("host") ?? "127.0.0.1", a.GetInt("port"), stdout, stderr, ct);
        return CommandLine.Ok;
    }

    /// <summary>
    /// The demo's files (data/fashion-mnist and models/fmnist-cnn): a clone above the current folder, else the copy that
    /// travels with the tool (demo/ next to the program), else a clone above the program (dotnet run).
    /// </summary>
    static (string Root, bool Repository)? FindDemo()
    {
        static bool IsDemo(string dir) => File.Exists(Path.Combine(dir, "data", "fashion-mnist", "t10k-images-idx3-ubyte.gz"))
            && Directory.Exists(Path.Combine(dir, "models", "fmnist-cnn"));
        static string? Above(string start)
        {
            for (var dir = new DirectoryInfo(start); dir != null; dir = dir.Parent)
                if (IsDemo(dir.FullName) && Directory.Exists(Path.Combine(dir.FullName, "src", "Percept"))) return dir.FullName;
            return null;
        }
        if (Above(Environment.CurrentDirectory) is { } clone) return (clone, true);
        string bundled = Path.Combine(AppContext.BaseDirectory, "demo");
        if (IsDemo(bundled)) return (bundled, false);
        return Above(AppContext.BaseDirectory) is { } built ? (built, true) : null;
    }

    /// <summary>Prints the samples with the highest loss.</summary>
    internal static void PrintWorst(Store.Run run, TextWriter stdout, int count)
    {
        using var reader = new Report.RunReader(run);
        var worst = reader.Worst(count);
        if (worst.Count == 0) return;
        stdout.WriteLine("worst samples (highest loss):");
        foreach (var w in worst)
            stdout.WriteLine($"  #{w.Index,-6} label {w.Label,-12} predicted {w.Prediction,-12} confidence {w.Confidence:P1}  loss {w.Loss:F3}");
    }

    /// <summary>The run's most important insights, one line each (docs/insights.md).</summary>
    static void PrintInsights(Store.Run run, TextWriter stdout, int count)
    {
        if (Insights.InsightsStore.ReadJson(run) is not { } json) return;
        using var doc = System.Text.Json.JsonDocument.Parse(json);
        var cards = doc.RootElement.GetProperty("insights").EnumerateArray().ToArray();
        if (cards.Length == 0) return;
        int primary = cards.Count(c => c.TryGetProperty("primary", out var p) && p.GetBoolean());
        stdout.WriteLine($"insights ({cards.Length} cards, {(primary > 0 ? $"{primary} on the first screen, " : "")}most impact first):");
        foreach (var c in cards.Take(count))
        {
            string sure = c.TryGetProperty("precision", out var p) && p.ValueKind == System.Text.Json.JsonValueKind.Number
                ? $" (about {p.GetDouble().ToString("P0", System.Globalization.CultureInfo.InvariantCulture)} estimated right)" : "";
            stdout.WriteLine($"  [{c.GetProperty("severity").GetString()}] {c.GetProperty("title").GetString()}{sure}");
        }
    }
}
