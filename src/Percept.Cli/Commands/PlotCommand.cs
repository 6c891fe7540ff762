using Percept.Report;

namespace Percept.Cli.Commands;

/// <summary><c>percept plot</c>: a run's similarity map as a PNG.</summary>
public static class PlotCommand
{
    public static readonly CommandSpec Spec = new()
    {
        Name = "plot",
        Summary = "draw a run's map as a PNG, coloured by any column",
        Synopsis = ["percept plot RUN --out map.png [--color COLUMN] [--size 1200x900]"],
        Description = "Draws the run's map, one dot per sample, coloured by a column of its samples table (default: label).",
        Arguments = new("RUN", "a run folder", 1, 1),
        Options =
        [
            new("out", "FILE.png", "the picture"),
            new("color", "COLUMN", "label, prediction, correct, loss, confidence, margin, entropy or a metadata column (default label)"),
            new("size", "WxH", "picture size in pixels (default 1200x900)"),
        ],
        Run = Run,
    };

    public static int Run(Arguments a, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        if (a.Positional.Count != 1) throw new UsageException("give one run folder");
        string output = a.Require("out");
        if (!output.EndsWith(".png", StringComparison.OrdinalIgnoreCase)) throw new UsageException("--out must be a .png file");
        int width = 1200, height = 900;
        if (a.Get("size") is { } size)
        {
            var p = size.Split('x');
            if (p.Length != 2 || !int.TryParse(p[0], out width) || !int.TryParse(p[1], out height)) throw new UsageException("--size takes WIDTHxHEIGHT");
        }
        var run = RunFolders.Open(a.Positional[0]);
        string column = a.Get("color") ?? (run.Manifest.Data.HasLabels ? "label" : "prediction");
        MapImage.Render(run, column, output, width, height);
        stdout.WriteLine($"wrote {output}");
        return CommandLine.Ok;
    }
}
