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
    /// <param name="bgr">The model takes BGR: its channels are shown in reverse, so the picture has its own colours.</param>
    public static byte[] Thumbnail(float[] x, int[] shape, int size, bool bgr = false)
    {
        using var bitmap = Picture(x, shape, bgr);
        return Encode(bitmap, size, bitmap.Height, bitmap.Width, smooth: false);
    }

    /// <summary>The preprocessed input as a bitmap at its own size (gray or colour, scaled to its min..max).</summary>
    public static SKBitmap Picture(float[] x, int[] shape, bool bgr = false)
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
                bitmap.SetPixel(xx, y, c >= 3 ? (bgr ? new SKColor(Channel(2), Channel(1), Channel(0)) : new SKColor(Channel(0), Channel(1), Channel(2)))
                    : new SKColor(Channel(0), Channel(0), Channel(0)));
            }
        return bitmap;
    }

    /// <summary>
    /// A heat map (<c>H × W</c>) as colour with transparency: warm where it supports the target, blue where it works
    /// against it, opacity growing with |value|, for laying over the thumbnail.
    /// </summary>
    /// <param name="scale">The |value| drawn at full strength: by default the map's own largest |value|; give one value for
    /// several maps to compare them on one scale.</param>
    public static byte[] Overlay(ReadOnlySpan<float> map, int h, int w, int size, float? scale = null)
    {
        float own = LargestMagnitude(map);
        float s = scale ?? own;
        using var bitmap = new SKBitmap(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                var (r, g, b, opacity) = HeatmapImage.Colour(s > 0 ? map[y * w + x] / s : 0);
                bitmap.SetPixel(x, y, new SKColor((byte)(255 * r), (byte)(255 * g), (byte)(255 * b), (byte)(255 * MaxOpacity * opacity)));
            }
        return Encode(bitmap, size, h, w, smooth: true);
    }

    /// <summary>At most 92% opaque, so the sample shows through even where the map is strongest (the page has its own slider).</summary>
    const float MaxOpacity = 235f / 255f;

    /// <summary>The largest |value| of a map: what its own scale draws at full strength.</summary>
    public static float LargestMagnitude(ReadOnlySpan<float> map)
    {
        float m = 0;
        foreach (var v in map) m = Math.Max(m, Math.Abs(v));
        return m;
    }

    /// <summary>
    /// The overlay's colour scale as CSS colours from −1 (blue, works against the target) through 0 (transparent) to
    /// +1 (warm, supports it), for the page's colour bar: the same colours the overlays are drawn with.
    /// </summary>
    public static IReadOnlyList<string> ColourBar(int steps = 11)
    {
        var colours = new string[steps];
        for (int i = 0; i < steps; i++)
        {
            float a = -1 + 2f * i / (steps - 1);
            var (r, g, b, opacity) = HeatmapImage.Colour(a);
            colours[i] = FormattableString.Invariant($"rgba({(int)(255 * r)}, {(int)(255 * g)}, {(int)(255 * b)}, {MaxOpacity * opacity:0.###})");
        }
        return colours;
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
