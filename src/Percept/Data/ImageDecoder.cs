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
        var info = new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        // Mipmaps only where the picture shrinks. Enlarged (a 28 × 28 picture fed to a 224 × 224 network), every pixel
        // comes from the full-size picture either way, and the mipmapped resize took 4.5 times as long for values within
        // 1 of these (bench/README.md, issue 27's sixth pass).
        var mipmaps = w < full.Width || h < full.Height ? SKMipmapMode.Linear : SKMipmapMode.None;
        using var resized = original.Resize(info, new SKSamplingOptions(SKFilterMode.Linear, mipmaps));
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
                for (int x = 0, o = 0; x < line.Length; x += 4, o++) row[o] = MathF.Round(0.299f * line[x] + 0.587f * line[x + 1] + 0.114f * line[x + 2]);
        }
        return true;
    }
}
