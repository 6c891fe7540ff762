using Percept.Attribution;
using SkiaSharp;

namespace Percept.Report;

/// <summary>
/// Draws attribution maps over their input as a PNG, one tile per target: the input in gray, positive attribution
/// in warm colours and negative in blue, opacity growing with |value| (each tile scaled to its own largest |value|).
/// </summary>
public static class HeatmapImage
{
    /// <summary>
    /// The colour of a map value scaled to −1..1: warm (red to yellow as it weakens) where it supports the target, blue
    /// where it works against it; opacity |value| (0..1). One colour map for the PNGs here and the dashboard's overlays.
    /// </summary>
    public static (float R, float G, float B, float Opacity) Colour(float a) =>
        a >= 0 ? (1f, 0.35f + 0.55f * (1 - Math.Min(1, a)), 0.1f, Math.Min(1, a)) : (0.15f, 0.45f, 1f, Math.Min(1, -a));

    /// <param name="background">Gray values of the input, H × W (or one per tile, targets × H × W), any range (scaled to its min..max).</param>
    public static void Render(AttributionResult result, float[] background, IReadOnlyList<string>? classNames, string outPath, int tileScale = 6)
    {
        int h = result.Height, w = result.Width, t = result.Targets.Count;
        int tileW = w * tileScale, tileH = h * tileScale, caption = 24, pad = 8, columns = Math.Min(t, 6);
        int rows = (t + columns - 1) / columns;
        using var surface = SKSurface.Create(new SKImageInfo(pad + columns * (tileW + pad), pad + rows * (tileH + caption + pad)));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        float bmin = background.Min(), bmax = background.Max();
        using var typeface = MapImage.Typeface();
        using var font = typeface != null ? new SKFont(typeface, 13) : null;
        using var textPaint = new SKPaint { Color = new SKColor(40, 40, 40), IsAntialias = true };
        using var bitmap = new SKBitmap(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        for (int k = 0; k < t; k++)
        {
            var map = result.Maps.AsSpan(k * h * w, h * w);
            float scale = 0;
            foreach (var v in map) scale = Math.Max(scale, Math.Abs(v));
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                {
                    int bo = background.Length >= t * h * w && t > 1 ? k * h * w : 0;
                    float g = (background[bo + y * w + x] - bmin) / Math.Max(bmax - bmin, 1e-12f);
                    float a = scale > 0 ? map[y * w + x] / scale : 0;
                    var (r, gg, b, opacity) = Colour(a);
                    float alpha = opacity * 0.75f;
                    byte Mix(float c) => (byte)(255 * ((1 - alpha) * g + alpha * c));
                    bitmap.SetPixel(x, y, new SKColor(Mix(r), Mix(gg), Mix(b)));
                }
            int col = k % columns, row = k / columns;
            float left = pad + col * (tileW + pad), top = pad + row * (tileH + caption + pad) + caption;
            using var image = SKImage.FromBitmap(bitmap);
            canvas.DrawImage(image, new SKRect(left, top, left + tileW, top + tileH), new SKSamplingOptions(SKFilterMode.Nearest));
            if (font != null)
                canvas.DrawText($"{result.Targets[k].Name(classNames)} ({result.Scores[k]:G3})", left, top - 7, font, textPaint);
        }
        using var snapshot = surface.Snapshot();
        using var png = snapshot.Encode(SKEncodedImageFormat.Png, 100);
        string full = Path.GetFullPath(outPath);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        File.WriteAllBytes(full, png.ToArray());
    }
}
