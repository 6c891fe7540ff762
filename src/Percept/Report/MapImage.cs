using System.Globalization;
using Percept.Store;
using SkiaSharp;

namespace Percept.Report;

/// <summary>
/// Draws a run's similarity map as a PNG: every sample a dot, coloured by a samples-table column — categories (label,
/// prediction, correct, text metadata) get a palette and a legend, numbers (loss, confidence, numeric metadata) a
/// continuous scale with its range. Text needs a TrueType font on the machine; without one the legend is drawn
/// without words.
/// </summary>
public static class MapImage
{
    // Ten well-separated colours (Tableau 10), then repeated lighter.
    static readonly SKColor[] Palette =
    [
        new(0x4E, 0x79, 0xA7), new(0xF2, 0x8E, 0x2B), new(0xE1, 0x57, 0x59), new(0x76, 0xB7, 0xB2), new(0x59, 0xA1, 0x4F),
        new(0xED, 0xC9, 0x48), new(0xB0, 0x7A, 0xA1), new(0xFF, 0x9D, 0xA7), new(0x9C, 0x75, 0x5F), new(0xBA, 0xB0, 0xAC),
    ];

    static readonly byte[] ViridisAnchors = [68, 1, 84, 59, 82, 139, 33, 145, 140, 94, 201, 98, 253, 231, 37];

    static readonly string[] FontFiles =
    [
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/truetype/lato/Lato-Regular.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf", "/usr/share/fonts/TTF/DejaVuSans.ttf",
    ];

    /// <summary>A TrueType font from the machine, or null when it has none (then no text is drawn).</summary>
    internal static SKTypeface? Typeface() => FontFiles.Where(File.Exists).Select(SKTypeface.FromFile).FirstOrDefault(t => t != null);

    /// <summary>Renders the map of <paramref name="run"/> coloured by <paramref name="column"/> into a PNG file.</summary>
    public static void Render(Run run, string column, string outPath, int width = 1200, int height = 900)
    {
        if (width < 200 || height < 200) throw new PerceptException("the image must be at least 200 x 200 pixels");
        using var reader = new RunReader(run);
        var map = reader.Map(out int dims) ?? throw new PerceptException("the run has no map (it was analysed without one)");
        int n = run.Count;
        if (dims < 2) throw new PerceptException("the run's map has one dimension; plotting needs two");
        var field = reader.Fields.FirstOrDefault(f => f.Name == column)
            ?? throw new PerceptException($"the run has no field '{column}' to colour by (fields: {string.Join(", ", reader.Fields.Select(f => f.Name))})");
        var values = reader.Column(column);
        bool numeric = field.Kind == "numeric";

        using var surface = SKSurface.Create(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        using var typeface = Typeface();
        using var font = typeface != null ? new SKFont(typeface, 15) : null;
        using var text = new SKPaint { Color = new SKColor(40, 40, 40), IsAntialias = true };

        int legendWidth = 230, margin = 30, top = 50;
        var plot = new SKRect(margin, top, width - legendWidth - margin, height - margin);
        float minX = float.MaxValue, maxX = float.MinValue, minY = float.MaxValue, maxY = float.MinValue;
        for (int i = 0; i < n; i++)
        {
            minX = Math.Min(minX, map[i * dims]); maxX = Math.Max(maxX, map[i * dims]);
            minY = Math.Min(minY, map[i * dims + 1]); maxY = Math.Max(maxY, map[i * dims + 1]);
        }
        float scale = Math.Min(plot.Width / Math.Max(maxX - minX, 1e-9f), plot.Height / Math.Max(maxY - minY, 1e-9f));
        float ox = plot.MidX - (minX + maxX) / 2 * scale, oy = plot.MidY + (minY + maxY) / 2 * scale;

        Func<int, SKColor> colourOf;
        int[] drawOrder = Enumerable.Range(0, n).ToArray();
        var legend = new List<(SKColor Colour, string Text)>();
        if (numeric)
        {
            var nums = values.Select(v => (double)v).ToArray();
            var finite = nums.Where(double.IsFinite).Order().ToArray();
            // Clip to the 1st–99th percentile so a few extreme values do not flatten the scale.
            double lo = finite[(int)(0.01 * (finite.Length - 1))], hi = finite[(int)(0.99 * (finite.Length - 1))];
            colourOf = i => double.IsFinite(nums[i]) ? Viridis((nums[i] - lo) / Math.Max(hi - lo, 1e-12)) : new SKColor(200, 200, 200);
            // High values are drawn last, so the few samples that stand out are not buried.
            drawOrder = [.. drawOrder.OrderBy(i => double.IsFinite(nums[i]) ? nums[i] : double.NegativeInfinity)];
            for (int s = 0; s <= 4; s++) legend.Add((Viridis(s / 4.0), (lo + (hi - lo) * s / 4).ToString("G3", CultureInfo.InvariantCulture) + (s == 4 ? "+" : "")));
        }
        else
        {
            var names = field.Categories!;
            var labels = values.Select(v => float.IsFinite(v) && v >= 0 && v < names.Count ? names[(int)v] : "(none)").ToArray();
            // Categories in code order (classes in class order), those present only, none last.
            var categories = names.Where(labels.Contains).Append("(none)").Where(labels.Contains).Distinct().ToList();
            var index = categories.Select((c, k) => (c, k)).ToDictionary(p => p.c, p => p.k);
            colourOf = i => Palette[index[labels[i]] % Palette.Length];
            foreach (var c in categories.Take(24)) legend.Add((Palette[index[c] % Palette.Length], $"{c} ({labels.Count(l => l == c)})"));
        }

        using var dot = new SKPaint { IsAntialias = true };
        float radius = n > 50000 ? 1.2f : n > 10000 ? 1.8f : 2.4f;
        foreach (int i in drawOrder)
        {
            dot.Color = colourOf(i).WithAlpha(170);
            canvas.DrawCircle(ox + map[i * dims] * scale, oy - map[i * dims + 1] * scale, radius, dot);
        }
        float ly = top + 10;
        if (font != null)
        {
            using var titleFont = new SKFont(typeface, 20);
            canvas.DrawText($"{run.Manifest.Map?.Method.ToUpperInvariant() ?? "Map"} of {n:N0} perception vectors, coloured by {column}", margin, 32, titleFont, text);
            canvas.DrawText(column, width - legendWidth, ly, font, text);
            ly += 12;
        }
        foreach (var (colour, label) in legend)
        {
            dot.Color = colour;
            canvas.DrawRect(width - legendWidth, ly, 14, 14, dot);
            if (font != null) canvas.DrawText(label, width - legendWidth + 22, ly + 12, font, text);
            ly += 22;
        }
        using var image = surface.Snapshot();
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        string full = Path.GetFullPath(outPath);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        File.WriteAllBytes(full, png.ToArray());
    }

    /// <summary>A perceptually uniform blue–green–yellow scale (viridis, interpolated from five anchors).</summary>
    static SKColor Viridis(double t)
    {
        t = Math.Clamp(t, 0, 1) * 4;
        int k = Math.Min(3, (int)t);
        double f = t - k;
        byte C(int c) => (byte)(ViridisAnchors[3 * k + c] + f * (ViridisAnchors[3 * (k + 1) + c] - ViridisAnchors[3 * k + c]));
        return new SKColor(C(0), C(1), C(2));
    }
}
