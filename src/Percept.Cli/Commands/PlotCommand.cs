using Percept.Report;

namespace Percept.Cli.Commands;

/// <summary><c>percept plot</c>: a run's similarity map as a PNG.</summary>
public static class PlotCommand
{
    public const string Usage = """
        percept plot RUN --out map.png [--color label|prediction|correct|loss|confidence|margin|entropy|<metadata column>] [--size 1200x900]

        Draws the run's map, one dot per sample, coloured by a column of its samples table (default: label).
        """;

    public static int Run(string[] argv, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        var a = new Arguments(argv, ["out", "color", "size"], []);
        if (a.Positional.Count != 1) throw new UsageException("give one run folder");
        string output = a.Require("out");
        if (!output.EndsWith(".png", StringComparison.OrdinalIgnoreCase)) throw new UsageException("--out must be a .png file");
        int width = 1200, height = 900;
        if (a.Get("size") is { } size)
        {
            var p = size.Split('x');
            if (p.Length != 2 || !int.TryParse(p[0], out width) || !int.TryParse(p[1], out height)) throw new UsageException("--size takes WIDTHxHEIGHT");
        }
        var run = Store.Run.Open(a.Positional[0]);
        string column = a.Get("color") ?? (run.Manifest.Data.HasLabels ? "label" : "prediction");
        MapImage.Render(run, column, output, width, height);
        stdout.WriteLine($"wrote {output}");
        return CommandLine.Ok;
    }
}
