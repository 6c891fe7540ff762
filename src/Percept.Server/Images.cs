using Percept.Data;
using Percept.Report;
using SkiaSharp;

namespace Percept.Server;

/// <summary>PNG pictures for the dashboard: a sample's thumbnail and a heat map as a transparent overlay.</summary>
public static class Images
{
    /// <summary>
    /// The preprocessed input as a picture of <paramref name="size"/> pixels on its longer side: gray for one channel,
    /// colour for three, each scaled to its own min..max (what the model saw, not the file's bytes).
    /// </summary>
    public static byte[] Thumbnail(float[] x, int[] shape, int size)
    {
        using var bitmap = Picture(x, shape);
        return Encode(bitmap, size, bitmap.Height, bitmap.Width, smooth: false);
    }

    /// <summary>The preprocessed input as a bitmap at its own size (gray or colour, scaled to its min..max).</summary>
    public static SKBitmap Picture(float[] x, int[] shape)
    {
        if (shape.Length < 2) throw new PerceptException("the samples of this run are not images; there is no thumbnail");
        var (c, h, w, first) = Preprocessor.ImageAxes(shape, InputLayout.Auto);
        float min = float.MaxValue, max = float.MinValue;
        foreach (var v in x) { if (v < min) min = v; if (v > max) max = v; }
        float range = Math.Max(max - min, 1e-12f);
        var bitmap = new SKBitmap(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        for (int y = 0; y < h; y++)
            for (int xx = 0; xx < w; xx++)
            {
                int p = y * w + xx;
                byte Channel(int ch) => (byte)Math.Clamp((int)(255 * (x[first ? ch * h * w + p : p * c + ch] - min) / range + 0.5f), 0, 255);
                bitmap.SetPixel(xx, y, c >= 3 ? new SKColor(Channel(0), Channel(1), Channel(2)) : new SKColor(Channel(0), Channel(0), Channel(0)));
            }
        return bitmap;
    }

    /// <summary>
    /// A heat map (<c>H × W</c>) as colour with transparency: warm where it supports the target, blue where it works
    /// against it, opacity growing with |value| (scaled to the map's own largest |value|), for laying over the thumbnail.
    /// </summary>
    public static byte[] Overlay(ReadOnlySpan<float> map, int h, int w, int size)
    {
        float scale = 0;
        foreach (var v in map) scale = Math.Max(scale, Math.Abs(v));
        using var bitmap = new SKBitmap(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                var (r, g, b, opacity) = HeatmapImage.Colour(scale > 0 ? map[y * w + x] / scale : 0);
                // At most 92% opaque, so the sample shows through even where the map is strongest (the page has its own slider).
                bitmap.SetPixel(x, y, new SKColor((byte)(255 * r), (byte)(255 * g), (byte)(255 * b), (byte)(235 * opacity)));
            }
        return Encode(bitmap, size, h, w, smooth: true);
    }

    static byte[] Encode(SKBitmap bitmap, int size, int h, int w, bool smooth)
    {
        float factor = (float)size / Math.Max(h, w);
        int outW = Math.Max(1, (int)MathF.Round(w * factor)), outH = Math.Max(1, (int)MathF.Round(h * factor));
        using var surface = SKSurface.Create(new SKImageInfo(outW, outH, SKColorType.Rgba8888, SKAlphaType.Premul));
        surface.Canvas.Clear(SKColors.Transparent);
        using var image = SKImage.FromBitmap(bitmap);
        surface.Canvas.DrawImage(image, new SKRect(0, 0, outW, outH), smooth ? new SKSamplingOptions(SKFilterMode.Linear) : new SKSamplingOptions(SKFilterMode.Nearest));
        using var snapshot = surface.Snapshot();
        using var png = snapshot.Encode(SKEncodedImageFormat.Png, 100);
        return png.ToArray();
    }
}
