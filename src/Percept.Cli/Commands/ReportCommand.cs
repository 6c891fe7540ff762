using Percept.Server;

namespace Percept.Cli.Commands;

/// <summary><c>percept report</c>: the dashboard as one self-contained HTML file.</summary>
public static class ReportCommand
{
    public static readonly CommandSpec Spec = new()
    {
        Name = "report",
        Summary = "the dashboard as one self-contained HTML file",
        Synopsis = ["percept report RUN --out REPORT.html"],
        Description = """
            Writes the dashboard of a run as one HTML file to share: the map with every field to colour, size and filter
            by, hover previews, details, lasso selection and export, and Fetch Similar (12 precomputed neighbours per
            sample); no server or network needed to open it. Heat maps need the server ('percept serve'). Thumbnails are
            left out above 100,000 samples.
            """,
        Arguments = new("RUN", "a run folder", 1, 1),
        Options =
        [
            new("out", "REPORT.html", "the file to write"),
            new("model", "MODEL.onnx", "where the run's model is now, when it moved"),
            new("data", "DATA", "where the run's data are now, when they moved (for the thumbnails)"),
        ],
        Run = Run,
    };

    public static int Run(Arguments a, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        if (a.Positional.Count != 1) throw new UsageException("name one run (a folder made by 'percept analyze')");
        string output = a.Require("out");
        if (!output.EndsWith(".html", StringComparison.OrdinalIgnoreCase)) throw new UsageException("--out must be an .html file");
        string run = Training.IsTraining(a.Positional[0]) ? Training.EpochDirectory(a.Positional[0]) : a.Positional[0];
        // Ctrl+C or SIGTERM stops it inside the neighbour table or the thumbnails: exit 130, no file.
        long bytes = ReportWriter.Write(run, output, log: line => stdout.WriteLine(line), locations: new Store.RunLocations(a.Get("model"), a.Get("data")), cancellationToken: ct);
        stdout.WriteLine($"report: {output} ({bytes / 1048576.0:F1} MiB, self-contained)");
        return CommandLine.Ok;
    }
}
