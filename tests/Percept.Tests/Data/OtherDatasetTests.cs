using Percept.Data;
using Percept.IO;
using SkiaSharp;

namespace Percept.Tests.Data;

public class OtherDatasetTests
{
    [Fact]
    public void Npy_images_and_labels_stream_in_order()
    {
        using var dir = new TempDir();
        var x = Enumerable.Range(0, 5 * 4 * 3).Select(i => (float)i).ToArray();
        Npy.Write(dir["x.npy"], x, 5, 4, 3);
        Npy.Write(dir["y.npy"], new long[] { 0, 1, 2, 1, 0 }, 5);
        using var ds = new NpyDataset(dir["x.npy"], dir["y.npy"]);
        Assert.Equal(SampleKind.Image, ds.Format.Kind);
        Assert.Equal(new[] { 4, 3, 1 }, ds.Format.Shape);
        var batches = ds.ReadBatches(2).Select(b => (b.Values.AsSpan(0, b.Count * 12).ToArray(), b.Labels[..b.Count].ToArray())).ToList();
        Assert.Equal(x, batches.SelectMany(b => b.Item1));
        Assert.Equal(new[] { 0, 1, 2, 1, 0 }, batches.SelectMany(b => b.Item2));
        Npy.Write(dir["bad.npy"], new long[] { 0, 1 }, 2);
        Assert.Contains("label count 2", Assert.Throws<PerceptException>(() => new NpyDataset(dir["x.npy"], dir["bad.npy"])).Message);
    }

    [Fact]
    public void Csv_tables_take_integer_or_named_labels_and_reject_non_numbers()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir["t.csv"], "id,a,b,label\nr1,1.5,2,cat\nr2,-3,4e-1,dog\n\nr3,0,0,cat\n");
        using var ds = new CsvDataset(dir["t.csv"]);
        Assert.Equal(3, ds.Count);
        Assert.Equal(new[] { "cat", "dog" }, ds.ClassNames);
        Assert.Equal(new[] { "a", "b" }, ds.FeatureNames);
        var b = ds.ReadBatches(10).Single();
        Assert.Equal(new[] { 1.5f, 2f, -3f, 0.4f, 0f, 0f }, b.Values[..6]);
        Assert.Equal(new[] { 0, 1, 0 }, b.Labels[..3]);
        Assert.Equal(new[] { "r1", "r2", "r3" }, b.Ids[..3]);
        File.WriteAllText(dir["bad.csv"], "a,label\n1,0\nx,1\n");
        Assert.Contains("row 2", Assert.Throws<PerceptException>(() => new CsvDataset(dir["bad.csv"])).Message);
        Assert.Contains("label column 'y'", Assert.Throws<PerceptException>(() => new CsvDataset(dir["t.csv"], "y")).Message);
    }

    [Fact]
    public void Image_folders_resize_to_the_model_and_skip_or_stop_on_broken_files()
    {
        using var dir = new TempDir();
        TestFiles.WritePng(dir["imgs/cats/a.png"], 40, 30, new SKColor(255, 0, 0));
        TestFiles.WritePng(dir["imgs/cats/b.png"], 8, 8, new SKColor(0, 255, 0));
        TestFiles.WritePng(dir["imgs/dogs/c.png"], 16, 16, new SKColor(0, 0, 255));
        File.WriteAllText(dir["imgs/dogs/broken.png"], "not a png");
        var warnings = new List<string>();
        using var ds = new ImageFolderDataset(dir["imgs"], 10, 12, 3, strict: false, warnings.Add);
        Assert.Equal(new[] { "cats", "dogs" }, ds.ClassNames);
        var b = ds.ReadBatches(16).Single();
        Assert.Equal(3, b.Count);
        Assert.Equal(new[] { "cats/a.png", "cats/b.png", "dogs/c.png" }, b.Ids[..3]);
        Assert.Equal(new[] { 0, 0, 1 }, b.Labels[..3]);
        int len = 12 * 10 * 3;
        Assert.Equal(new[] { 255f, 0f, 0f }, b.Values[..3]);
        Assert.Equal(new[] { 0f, 0f, 255f }, b.Values.AsSpan(2 * len + 57, 3).ToArray());
        Assert.Equal(1, ds.Skipped);
        Assert.Contains(warnings, w => w.Contains("broken.png"));

        using var strict = new ImageFolderDataset(dir["imgs"], 10, 12, 1, strict: true);
        Assert.Contains("broken.png", Assert.Throws<PerceptException>(() => strict.ReadBatches(16).ToList()).Message);
        using var gray = new ImageFolderDataset(dir["imgs"], 4, 4, 1);
        Assert.Equal(MathF.Round(0.299f * 255), gray.ReadBatches(2).First().Values[0]);
    }

    /// <summary>A grayscale PNG of 8 or 16 bits per pixel, written by hand (SkiaSharp writes 8 bits only).</summary>
    static void WriteGrayPng(string path, int size, int bits, Func<int, int, int> value)
    {
        static uint Crc(ReadOnlySpan<byte> data)
        {
            uint c = 0xFFFFFFFF;
            foreach (byte b in data) { c ^= b; for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1; }
            return ~c;
        }
        static void Chunk(Stream s, string kind, byte[] body)
        {
            var len = new byte[4]; System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(len, body.Length); s.Write(len);
            var typed = System.Text.Encoding.ASCII.GetBytes(kind).Concat(body).ToArray();
            s.Write(typed);
            var crc = new byte[4]; System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(crc, Crc(typed)); s.Write(crc);
        }
        var raw = new MemoryStream();
        for (int y = 0; y < size; y++)
        {
            raw.WriteByte(0);
            for (int x = 0; x < size; x++)
            {
                int v = value(x, y);
                if (bits == 16) { raw.WriteByte((byte)(v >> 8)); raw.WriteByte((byte)v); } else raw.WriteByte((byte)v);
            }
        }
        var packed = new MemoryStream();
        using (var z = new System.IO.Compression.ZLibStream(packed, System.IO.Compression.CompressionLevel.Optimal, leaveOpen: true)) raw.WriteTo(z);
        var header = new byte[13];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(header, size);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), size);
        header[8] = (byte)bits;
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var f = File.Create(path);
        f.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 13, 10, 26, 10]);
        Chunk(f, "IHDR", header);
        Chunk(f, "IDAT", packed.ToArray());
        Chunk(f, "IEND", []);
    }

    [Fact]
    public void Sixteen_bit_images_decode_to_the_same_picture_as_eight_bit_ones()
    {
        using var dir = new TempDir();
        WriteGrayPng(dir["deep/a/x.png"], 8, 16, (x, y) => (x * 31 + y * 5) * 257);
        WriteGrayPng(dir["flat/a/x.png"], 8, 8, (x, y) => x * 31 + y * 5);
        using var deep = new ImageFolderDataset(dir["deep"], 8, 8, 1, strict: true);
        using var flat = new ImageFolderDataset(dir["flat"], 8, 8, 1, strict: true);
        var a = deep.ReadBatches(1).First().Values.Take(64).ToArray();
        var b = flat.ReadBatches(1).First().Values.Take(64).ToArray();
        for (int i = 0; i < 64; i++) Assert.True(Math.Abs(a[i] - b[i]) <= 1, $"pixel {i}: 16-bit {a[i]}, 8-bit {b[i]}");
        Assert.True(b.Max() > 200);
    }

    /// <summary>Writes a PNG of random opaque colours.</summary>
    static void WriteRandomPng(string path, int width, int height, int seed)
    {
        var rng = new Random(seed);
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++) bitmap.SetPixel(x, y, new SKColor((byte)rng.Next(256), (byte)rng.Next(256), (byte)rng.Next(256)));
        using var png = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        File.WriteAllBytes(path, png.ToArray());
    }

    [Theory]
    [InlineData(5, 4, 13, 11)]
    [InlineData(28, 28, 224, 224)]
    [InlineData(7, 9, 7, 30)]
    [InlineData(1, 1, 3, 5)]
    [InlineData(6, 6, 6, 6)]
    public void An_enlarged_picture_is_the_bilinear_resampling_of_its_pixels(int width, int height, int toWidth, int toHeight)
    {
        using var dir = new TempDir();
        WriteRandomPng(dir["a.png"], width, height, width * 100 + toWidth);
        var pixels = new float[toWidth * toHeight * 3];
        Assert.True(ImageDecoder.TryDecode(dir["a.png"], toHeight, toWidth, 3, pixels));
        using var original = SKBitmap.Decode(dir["a.png"]);
        // Pixel centres mapped onto the original's, the edges clamped.
        static (int, int, double) Taps(int i, int from, int to)
        {
            double s = Math.Clamp((i + 0.5) * from / to - 0.5, 0, from - 1);
            int a = (int)Math.Floor(s);
            return (a, Math.Min(a + 1, from - 1), s - a);
        }
        double worst = 0;
        for (int y = 0; y < toHeight; y++)
            for (int x = 0; x < toWidth; x++)
            {
                var (x0, x1, fx) = Taps(x, width, toWidth);
                var (y0, y1, fy) = Taps(y, height, toHeight);
                for (int c = 0; c < 3; c++)
                {
                    double V(int px, int py) { var k = original.GetPixel(px, py); return c == 0 ? k.Red : c == 1 ? k.Green : k.Blue; }
                    double expected = (1 - fy) * ((1 - fx) * V(x0, y0) + fx * V(x1, y0)) + fy * ((1 - fx) * V(x0, y1) + fx * V(x1, y1));
                    worst = Math.Max(worst, Math.Abs(pixels[(y * toWidth + x) * 3 + c] - expected));
                }
            }
        // Rounded to whole levels, nothing more.
        Assert.True(worst <= 0.5 + 1e-3, $"a pixel {worst:F3} away from the bilinear value");
        // And within Skia's 1/255 steps of its own linear resize, which resamples pictures that shrink.
        using (var skia = original.Resize(new SKImageInfo(toWidth, toHeight, SKColorType.Rgba8888, SKAlphaType.Unpremul), new SKSamplingOptions(SKFilterMode.Linear)))
            for (int y = 0; y < toHeight; y++)
                for (int x = 0; x < toWidth; x++)
                {
                    var k = skia.GetPixel(x, y);
                    int i = (y * toWidth + x) * 3;
                    Assert.True(Math.Abs(pixels[i] - k.Red) <= 1 && Math.Abs(pixels[i + 1] - k.Green) <= 1 && Math.Abs(pixels[i + 2] - k.Blue) <= 1,
                        $"({x}, {y}): {pixels[i]} {pixels[i + 1]} {pixels[i + 2]}, Skia {k.Red} {k.Green} {k.Blue}");
                }
        // Gray is the rounded luma of the same resized pixels, row by row.
        var gray = new float[toWidth * toHeight];
        Assert.True(ImageDecoder.TryDecode(dir["a.png"], toHeight, toWidth, 1, gray));
        for (int i = 0; i < gray.Length; i++)
            Assert.Equal(MathF.Round(0.299f * pixels[3 * i] + 0.587f * pixels[3 * i + 1] + 0.114f * pixels[3 * i + 2]), gray[i]);
    }

    [Theory]
    [InlineData(30, 20, 10, 8)]
    [InlineData(10, 30, 20, 12)]
    public void A_picture_that_shrinks_on_either_axis_is_Skias_mipmapped_resize(int width, int height, int toWidth, int toHeight)
    {
        using var dir = new TempDir();
        WriteRandomPng(dir["a.png"], width, height, width + 7 * toHeight);
        var pixels = new float[toWidth * toHeight * 3];
        Assert.True(ImageDecoder.TryDecode(dir["a.png"], toHeight, toWidth, 3, pixels));
        using var original = SKBitmap.Decode(dir["a.png"]);
        using var skia = original.Resize(new SKImageInfo(toWidth, toHeight, SKColorType.Rgba8888, SKAlphaType.Unpremul), new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear));
        for (int y = 0; y < toHeight; y++)
            for (int x = 0; x < toWidth; x++)
            {
                var k = skia.GetPixel(x, y);
                int i = (y * toWidth + x) * 3;
                Assert.Equal([k.Red, k.Green, k.Blue], new[] { (byte)pixels[i], (byte)pixels[i + 1], (byte)pixels[i + 2] });
            }
    }
}
