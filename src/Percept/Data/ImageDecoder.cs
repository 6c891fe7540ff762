using SkiaSharp;

namespace Percept.Data;

/// <summary>
/// Decodes an encoded image (PNG, JPEG, BMP, GIF, WebP — what SkiaSharp reads), from a file or from bytes held in a
/// table, resizes it to a fixed size and writes it channels-last as gray (1) or RGB (3) values 0–255. Every image
/// dataset decodes through it, so a picture gives the same values however it is stored.
/// </summary>
public static class ImageDecoder
{
    /// <summary>The most pixels an image may have (2²⁶, e.g. 8192 × 8192).</summary>
    public const long MaxPixels = 1L << 26;

    /// <summary>Decodes the image file at <paramref name="path"/> into <paramref name="destination"/> (<c>height × width × channels</c>).</summary>
    /// <returns>False when the file is not a whole, decodable image of at most <see cref="MaxPixels"/> pixels.</returns>
    public static bool TryDecode(string path, int height, int width, int channels, Span<float> destination)
    {
        using var codec = SKCodec.Create(path);
        return TryDecode(codec, height, width, channels, destination);
    }

    /// <summary>Decodes the encoded image in <paramref name="encoded"/> into <paramref name="destination"/> (<c>height × width × channels</c>).</summary>
    /// <returns>False when the bytes are not a whole, decodable image of at most <see cref="MaxPixels"/> pixels.</returns>
    public static unsafe bool TryDecode(ReadOnlySpan<byte> encoded, int height, int width, int channels, Span<float> destination)
    {
        if (encoded.IsEmpty) return false;
        fixed (byte* p = encoded)
        {
            // The data wraps the caller's bytes without copying; the codec is done with them before they are unpinned.
            using var data = SKData.Create((IntPtr)p, encoded.Length);
            using var codec = SKCodec.Create(data);
            return TryDecode(codec, height, width, channels, destination);
        }
    }

    static bool TryDecode(SKCodec? codec, int h, int w, int channels, Span<float> destination)
    {
        if (channels is not (1 or 3)) throw new ArgumentOutOfRangeException(nameof(channels), channels, "gray (1) or RGB (3)");
        if (destination.Length < h * w * channels) throw new ArgumentException($"{h} x {w} x {channels} values do not fit in {destination.Length}", nameof(destination));
        // SKCodec, not SKBitmap.Decode: a truncated file decodes "incomplete" there, which is a failure, not a picture.
        if (codec == null) return false;
        var full = codec.Info.WithColorType(SKColorType.Rgba8888).WithAlphaType(SKAlphaType.Unpremul);
        // A picture too large to hold (a 20,000 × 20,000 bomb) is refused without decoding it.
        if ((long)full.Width * full.Height > MaxPixels) return false;
        using var original = new SKBitmap(full);
        if (codec.GetPixels(full, original.GetPixels()) != SKCodecResult.Success) return false;
        // Enlarged or kept at its size (a 28 × 28 picture fed to a 224 × 224 network), the picture is resampled here:
        // Skia's resize took 0.74 ms for 28 × 28 -> 224 × 224, this 0.1 ms (bench/README.md, issue 27's seventh pass).
        if (w >= full.Width && h >= full.Height)
        {
            Enlarge(original.GetPixelSpan(), original.RowBytes, full.Width, full.Height, w, h, channels, destination);
            return true;
        }
        var info = new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var resized = original.Resize(info, new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear));
        if (resized == null) return false;
        ReadOnlySpan<byte> px = resized.GetPixelSpan();
        int stride = resized.RowBytes;
        for (int y = 0; y < h; y++)
        {
            var line = px.Slice(y * stride, 4 * w);
            var row = destination.Slice(y * w * channels, w * channels);
            if (channels == 3)
                for (int x = 0, o = 0; x < line.Length; x += 4, o += 3) { row[o] = line[x]; row[o + 1] = line[x + 1]; row[o + 2] = line[x + 2]; }
            else
                for (int x = 0, o = 0; x < line.Length; x += 4, o++) row[o] = Luma(line[x], line[x + 1], line[x + 2]);
        }
        return true;
    }

    static float Luma(float r, float g, float b) => MathF.Round(0.299f * r + 0.587f * g + 0.114f * b);

    /// <summary>
    /// Bilinear resampling of an RGBA picture (<paramref name="sw"/> × <paramref name="sh"/>, alpha ignored) to
    /// <paramref name="w"/> × <paramref name="h"/> at least as large: output pixel centres mapped onto the picture's, the
    /// edges clamped, values rounded to whole levels as a decoded picture has. Rows first, then columns, in float: the
    /// same value as Skia's linear filter within its 1/255 steps.
    /// </summary>
    internal static void Enlarge(ReadOnlySpan<byte> rgba, int stride, int sw, int sh, int w, int h, int channels, Span<float> destination)
    {
        var (left, right, along) = Taps(sw, w);
        var (top, bottom, down) = Taps(sh, h);
        // Picture rows resampled across to w pixels of R, G, B, two at a time: an output row blends rows top[y] and
        // bottom[y] (the same row, or the next), and both only grow with y, so row r is kept in slot r mod 2.
        int line = 3 * w;
        var rented = System.Buffers.ArrayPool<float>.Shared.Rent(3 * line);
        var slots = rented.AsSpan(0, 2 * line);
        var blended = rented.AsSpan(2 * line, line);
        Span<int> held = [-1, -1];
        Span<float> Across(int r, ReadOnlySpan<byte> rgba, Span<float> slots, Span<int> held)
        {
            var dst = slots.Slice((r & 1) * line, line);
            if (held[r & 1] == r) return dst;
            held[r & 1] = r;
            var src = rgba.Slice(r * stride, 4 * sw);
            for (int x = 0, o = 0; x < w; x++, o += 3)
            {
                int a = 4 * left[x], b = 4 * right[x];
                float f = along[x], g = 1 - f;
                dst[o] = g * src[a] + f * src[b];
                dst[o + 1] = g * src[a + 1] + f * src[b + 1];
                dst[o + 2] = g * src[a + 2] + f * src[b + 2];
            }
            return dst;
        }
        for (int y = 0; y < h; y++)
        {
            ReadOnlySpan<float> upper = Across(top[y], rgba, slots, held);
            ReadOnlySpan<float> lower = Across(bottom[y], rgba, slots, held);
            var row = channels == 3 ? destination.Slice(y * line, line) : blended;
            float f = down[y], g = 1 - f;
            int i = 0;
            if (System.Numerics.Vector.IsHardwareAccelerated)
            {
                var vf = new System.Numerics.Vector<float>(f);
                var vg = new System.Numerics.Vector<float>(g);
                for (int n = System.Numerics.Vector<float>.Count; i <= line - n; i += n)
                    System.Numerics.Vector.Round(vg * new System.Numerics.Vector<float>(upper[i..]) + vf * new System.Numerics.Vector<float>(lower[i..])).CopyTo(row[i..]);
            }
            for (; i < line; i++) row[i] = MathF.Round(g * upper[i] + f * lower[i]);
            if (channels == 1)
            {
                var gray = destination.Slice(y * w, w);
                for (int x = 0; x < w; x++) gray[x] = Luma(row[3 * x], row[3 * x + 1], row[3 * x + 2]);
            }
        }
        System.Buffers.ArrayPool<float>.Shared.Return(rented);
    }

    /// <summary>For each of <paramref name="to"/> output positions, the two source positions it lies between and its weight on the second.</summary>
    static (int[] First, int[] Second, float[] Weight) Taps(int from, int to)
    {
        var first = new int[to];
        var second = new int[to];
        var weight = new float[to];
        for (int i = 0; i < to; i++)
        {
            double s = Math.Clamp((i + 0.5) * from / to - 0.5, 0, from - 1);
            int a = (int)s;
            first[i] = a;
            second[i] = Math.Min(a + 1, from - 1);
            weight[i] = (float)(s - a);
        }
        return (first, second, weight);
    }
}
