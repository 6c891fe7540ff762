namespace Percept.Data;

/// <summary>
/// A folder with one sub-folder per class, holding PNG/JPEG/BMP/GIF/WebP images. Images are decoded with SkiaSharp a
/// batch at a time, resized to the model's input size and delivered channels-last as gray (1) or RGB (3) bytes.
/// A file that fails to decode is skipped with a warning (counted in <see cref="Skipped"/>), or stops the analysis
/// when <c>strict</c> is set.
/// </summary>
public sealed class ImageFolderDataset : IDataset, ISeekableDataset, ISkippingDataset
{
    static readonly HashSet<string> Extensions = new(StringComparer.OrdinalIgnoreCase) { ".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp" };

    readonly string _root;
    readonly (string Path, int Label)[] _files;
    readonly bool _strict;
    readonly Action<string>? _warn;

    public string Description { get; }
    public int Count => _files.Length;
    public SampleFormat Format { get; }
    public bool HasLabels => true;
    public IReadOnlyList<string>? ClassNames { get; }
    public string Split { get; }

    /// <summary>Files skipped so far because they failed to decode.</summary>
    public int Skipped { get; private set; }

    /// <param name="root">Folder with one sub-folder per class.</param>
    /// <param name="width">Width every image is resized to.</param>
    /// <param name="height">Height every image is resized to.</param>
    /// <param name="channels">1 for gray, 3 for RGB.</param>
    /// <param name="strict">Fail on the first image that does not decode instead of skipping it.</param>
    /// <param name="warn">Receives one line per skipped file.</param>
    public ImageFolderDataset(string root, int width, int height, int channels, bool strict = false, Action<string>? warn = null, string? split = null)
    {
        if (!Directory.Exists(root)) throw new PerceptException($"folder not found: {root}");
        if (channels is not (1 or 3)) throw new ArgumentOutOfRangeException(nameof(channels), "1 or 3 channels");
        if (width <= 0 || height <= 0) throw new PerceptException($"image size {width}x{height} is not valid");
        _root = root;
        _strict = strict;
        _warn = warn;
        var classes = Directory.GetDirectories(root).Select(System.IO.Path.GetFileName).OfType<string>()
            .Where(n => !n.StartsWith('.')).Order(StringComparer.Ordinal).ToArray();
        if (classes.Length == 0) throw new PerceptException($"{root} has no class sub-folders (expected one folder of images per class)");
        var files = new List<(string, int)>();
        for (int c = 0; c < classes.Length; c++)
            foreach (var f in Directory.EnumerateFiles(System.IO.Path.Combine(root, classes[c]), "*", SearchOption.AllDirectories)
                         .Where(f => Extensions.Contains(System.IO.Path.GetExtension(f))).Order(StringComparer.Ordinal))
                files.Add((f, c));
        if (files.Count == 0) throw new PerceptException($"no images (png, jpg, bmp, gif, webp) found under {root}");
        _files = [.. files];
        ClassNames = classes;
        Format = new SampleFormat(SampleKind.Image, [height, width, channels], true);
        Split = split ?? "all";
        Description = $"image folder {root} ({Count} files, {classes.Length} classes, resized to {width}x{height}x{channels})";
    }

    public IEnumerable<DataBatch> ReadBatches(int batchSize, CancellationToken cancellationToken = default) => ReadBatches(batchSize, 0, _files.Length, cancellationToken);

    /// <inheritdoc/>
    public IEnumerable<DataBatch> ReadBatches(int batchSize, int first, int items, CancellationToken cancellationToken = default)
    {
        int end = Math.Min(_files.Length, first + items);
        int len = Format.Length;
        var batch = new DataBatch(batchSize, len);
        var ok = new bool[batchSize];
        var decoded = new float[batchSize * len];
        for (int start = first; start < end; start += batchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int count = Math.Min(batchSize, end - start);
            Parallel.For(0, count, i => ok[i] = TryDecode(_files[start + i].Path, decoded.AsSpan(i * len, len)));
            int kept = 0;
            for (int i = 0; i < count; i++)
            {
                var (path, label) = _files[start + i];
                string id = System.IO.Path.GetRelativePath(_root, path).Replace('\\', '/');
                if (!ok[i])
                {
                    if (_strict) throw new PerceptException($"image failed to decode: {path} (unset {Terms.Option("strict")} to skip such files)");
                    Skipped++;
                    _warn?.Invoke($"skipped {id}: not a decodable image");
                    continue;
                }
                decoded.AsSpan(i * len, len).CopyTo(batch.Values.AsSpan(kept * len));
                batch.Labels[kept] = label;
                batch.Ids[kept] = id;
                kept++;
            }
            if (kept == 0) continue;
            batch.Count = kept;
            yield return batch;
        }
    }

    bool TryDecode(string path, Span<float> destination) => ImageDecoder.TryDecode(path, Format.Shape[0], Format.Shape[1], Format.Shape[2], destination);

    public void Dispose() { }
}
