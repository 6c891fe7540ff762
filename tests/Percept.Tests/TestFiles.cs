using SkiaSharp;

namespace Percept.Tests;

/// <summary>Paths to what the repository holds (demo data, demo model, golden files) and scratch folders.</summary>
public static class TestFiles
{
    public static string Root { get; } = FindRoot();

    static string FindRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Percept.slnx"))) return d.FullName;
        throw new InvalidOperationException("repository root not found");
    }

    public static string FashionImages => Path.Combine(Root, "data", "fashion-mnist", "t10k-images-idx3-ubyte.gz");
    public static string FashionLabels => Path.Combine(Root, "data", "fashion-mnist", "t10k-labels-idx1-ubyte.gz");
    public static string FashionClasses => Path.Combine(Root, "data", "fashion-mnist", "classes.txt");
    public static string DemoModel => Path.Combine(Root, "models", "fmnist-cnn", "epoch-5.onnx");
    public static string Golden(string name) => Path.Combine(Root, "tools", "golden", name);

    /// <summary>Writes a PNG of one colour.</summary>
    public static void WritePng(string path, int width, int height, SKColor color)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var bmp = new SKBitmap(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        bmp.Erase(color);
        using var data = bmp.Encode(SKEncodedImageFormat.Png, 100);
        File.WriteAllBytes(path, data.ToArray());
    }
}

/// <summary>A scratch folder deleted when disposed.</summary>
public sealed class TempDir : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "percept-tests", Guid.NewGuid().ToString("N"));

    public TempDir() => Directory.CreateDirectory(Path);

    public string this[string relative] => System.IO.Path.Combine(Path, relative);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}
