using System.Globalization;
using System.Text.Json;

namespace Percept.Data;

/// <summary>
/// A manifest: a CSV, TSV or JSONL file listing images, one row (or JSON object) a sample, with a column of image paths
/// (relative to the manifest's folder, or absolute), an optional label column (class indices, or names that become
/// classes) and an optional <c>id</c> column; every other column is a field of the samples (<see cref="IDatasetFields"/>).
/// Images decode as in an image folder (<see cref="ImageDecoder"/>): one that fails is skipped with a warning, or stops
/// the analysis when strict. Files the manifest names that do not exist are found when it is opened, and skipped with one
/// warning naming the first of them, or refused when strict.
/// </summary>
public sealed class ManifestDataset : IDataset, ISeekableDataset, ISkippingDataset, IDatasetFields
{
    /// <summary>File extensions of the images a manifest may name.</summary>
    public static readonly IReadOnlySet<string> ImageExtensions = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { ".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp" };

    /// <summary>Names of a label column found without <c>--label-column</c>.</summary>
    static readonly string[] LabelNames = ["label", "labels", "class", "category"];

    readonly string _path;
    readonly Row[] _rows;
    readonly bool _strict;
    readonly Action<string>? _warn;
    readonly string[] _fieldNames;

    /// <summary>A sample the manifest names: its file, label (−1 for none), id and field values; <c>Missing</c> when the file is not there.</summary>
    readonly record struct Row(string File, int Label, string Id, string?[] Fields, bool Missing);

    public string Description { get; }
    public int Count { get; }
    public SampleFormat Format { get; }
    public bool HasLabels { get; }
    public IReadOnlyList<string>? ClassNames { get; }
    public string Split { get; }
    public IReadOnlyList<string> FieldNames => _fieldNames;

    /// <summary>Files skipped so far because they failed to decode (missing files are not counted: they are left out when the manifest is opened).</summary>
    public int Skipped { get; private set; }

    /// <summary>The column that names the images.</summary>
    public string ImageColumn { get; }

    /// <param name="path">The manifest: <c>.csv</c>, <c>.tsv</c>/<c>.tab</c> or <c>.jsonl</c>/<c>.ndjson</c>.</param>
    /// <param name="imageColumn">The column of image paths; by default the first whose first value names an image file.</param>
    /// <param name="labelColumn">The label column; by default one named label, labels, class or category, when there is one.</param>
    /// <param name="classNames">Class names (index = label); names in the label column are then looked up in them.</param>
    /// <param name="width">Width every image is resized to.</param>
    /// <param name="height">Height every image is resized to.</param>
    /// <param name="channels">1 for gray, 3 for RGB.</param>
    /// <param name="strict">Refuse missing files and stop on the first image that does not decode, instead of skipping them.</param>
    /// <param name="warn">Receives one line per skipped image, and one for the missing files.</param>
    /// <exception cref="PerceptException">The manifest cannot be read, lacks a named column, or names no file that exists.</exception>
    public ManifestDataset(string path, string? imageColumn, string? labelColumn, IReadOnlyList<string>? classNames, int width, int height, int channels,
        bool strict = false, Action<string>? warn = null, string? split = null)
    {
        if (channels is not (1 or 3)) throw new ArgumentOutOfRangeException(nameof(channels), "1 or 3 channels");
        if (width <= 0 || height <= 0) throw new PerceptException($"image size {width}x{height} is not valid");
        _path = path;
        _strict = strict;
        _warn = warn;
        var (header, cells) = IsJsonLines(path) ? ReadJsonLines(path) : ReadDelimited(path);
        if (cells.Count == 0) throw new PerceptException($"manifest {path} lists no images");

        int image = imageColumn != null ? Array.IndexOf(header, imageColumn) : FindImageColumn(header, cells[0]);
        if (imageColumn != null && image < 0)
            throw new PerceptException($"image column '{imageColumn}' not found in {path} (columns: {string.Join(", ", header)})");
        if (image < 0)
            throw new PerceptException($"manifest {path} has no column of image paths (its first row names no .png, .jpg, .bmp, .gif or .webp file); "
                                       + $"name it with {Terms.Option("image-column")}");
        int label = labelColumn != null ? Array.IndexOf(header, labelColumn)
            : Array.FindIndex(header, h => LabelNames.Contains(h, StringComparer.OrdinalIgnoreCase));
        if (labelColumn != null && label < 0)
            throw new PerceptException($"label column '{labelColumn}' not found in {path} (columns: {string.Join(", ", header)})");
        int id = Array.FindIndex(header, h => h.Equals("id", StringComparison.OrdinalIgnoreCase));
        var fields = Enumerable.Range(0, header.Length).Where(c => c != image && c != label && c != id).ToArray();
        _fieldNames = fields.Select(c => header[c]).ToArray();
        ImageColumn = header[image];

        var (labels, names) = label >= 0 ? Labels(cells, label, header[label], classNames, path) : (null, classNames);
        string folder = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
        var rows = new Row[cells.Count];
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        var missing = new List<string>();
        for (int r = 0; r < cells.Count; r++)
        {
            string named = cells[r][image] ?? "";
            if (named.Length == 0) throw new PerceptException($"manifest row {r + 1} of {path} names no image (column '{header[image]}' is empty)");
            string file = System.IO.Path.GetFullPath(System.IO.Path.Combine(folder, named));
            string sampleId = id >= 0 && !string.IsNullOrEmpty(cells[r][id]) ? cells[r][id]! : named.Replace('\\', '/');
            if (!ids.TryAdd(sampleId, r))
                throw new PerceptException($"manifest rows {ids[sampleId] + 1} and {r + 1} of {path} both name '{sampleId}'; each sample may appear once");
            bool absent = !File.Exists(file);
            if (absent) missing.Add(named);
            rows[r] = new Row(file, labels?[r] ?? -1, sampleId, fields.Select(c => cells[r][c]).ToArray(), absent);
        }
        if (missing.Count > 0)
        {
            string first = string.Join(", ", missing.Take(3)) + (missing.Count > 3 ? ", …" : "");
            string what = $"manifest {path} names {missing.Count} of {rows.Length} file(s) that do not exist: {first} (paths are relative to the manifest's folder)";
            if (strict || missing.Count == rows.Length)
                throw new PerceptException(strict ? $"{what}; unset {Terms.Option("strict")} to skip them" : what);
            warn?.Invoke($"skipped {missing.Count} image(s) the manifest names that do not exist: {first}");
        }
        _rows = rows;
        Count = rows.Length - missing.Count;
        HasLabels = label >= 0;
        ClassNames = names;
        Format = new SampleFormat(SampleKind.Image, [height, width, channels], true);
        Split = split ?? "all";
        Description = $"manifest {System.IO.Path.GetFileName(path)} ({Count} images{(names != null ? $", {names.Count} classes" : "")}, resized to {width}x{height}x{channels})";
    }

    /// <summary>Whether <paramref name="path"/> names a JSON Lines file (<c>.jsonl</c>, <c>.ndjson</c>).</summary>
    public static bool IsJsonLines(string path) => System.IO.Path.GetExtension(path).ToLowerInvariant() is ".jsonl" or ".ndjson";

    /// <summary>
    /// Whether the delimited file at <paramref name="path"/> is a manifest rather than a numeric table: a column is named
    /// <paramref name="imageColumn"/>, or a cell of its first row names an image file.
    /// </summary>
    public static bool IsManifest(string path, string? imageColumn)
    {
        if (imageColumn != null || IsJsonLines(path)) return true;
        using var reader = DelimitedText.Open(path, "CSV file");
        foreach (var row in reader)
        {
            if (DelimitedText.IsBlank(row)) continue;
            for (int c = 0; c < row.ColCount; c++)
                if (NamesImage(row[c].Span)) return true;
            return false;
        }
        return false;
    }

    static bool NamesImage(ReadOnlySpan<char> cell)
    {
        int dot = cell.LastIndexOf('.');
        return dot > 0 && ImageExtensions.Contains(cell[dot..].ToString());
    }

    static int FindImageColumn(string[] header, string?[] first)
    {
        for (int c = 0; c < header.Length; c++)
            if (first[c] is { } v && NamesImage(v)) return c;
        return -1;
    }

    /// <summary>Each row's label: integers are class indices; otherwise names, indexed in <paramref name="classNames"/> or, without them, in sorted order.</summary>
    /// <param name="what">What the file is, for messages ("manifest", "text table").</param>
    internal static (int[] Labels, IReadOnlyList<string>? Names) Labels(List<string?[]> cells, int column, string name, IReadOnlyList<string>? classNames, string path,
        string what = "manifest")
    {
        var texts = cells.Select(r => r[column]).ToArray();
        var present = texts.Where(t => !string.IsNullOrEmpty(t)).Select(t => t!).ToArray();
        if (present.All(t => int.TryParse(t, NumberStyles.Integer, CultureInfo.InvariantCulture, out _)))
        {
            var labels = texts.Select(t => string.IsNullOrEmpty(t) ? -1 : int.Parse(t, CultureInfo.InvariantCulture)).ToArray();
            int negative = Array.FindIndex(texts, t => !string.IsNullOrEmpty(t) && int.Parse(t, CultureInfo.InvariantCulture) < 0);
            if (negative >= 0)
                throw new PerceptException($"{what} row {negative + 1} of {path}: label {labels[negative]} is negative; integer labels are class indices from 0 (or give class names)");
            return (labels, classNames);
        }
        var names = classNames ?? present.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < names.Count; i++) index.TryAdd(names[i], i);
        var result = new int[texts.Length];
        for (int r = 0; r < texts.Length; r++)
        {
            if (string.IsNullOrEmpty(texts[r])) { result[r] = -1; continue; }
            if (!index.TryGetValue(texts[r]!, out result[r]))
                throw new PerceptException($"{what} row {r + 1} of {path}: label '{texts[r]}' in column '{name}' is not one of the {names.Count} class names given");
        }
        return (result, names);
    }

    /// <summary>A CSV or TSV file's header and cells (null for an empty cell).</summary>
    internal static (string[] Header, List<string?[]> Cells) ReadDelimited(string path, string what = "manifest")
    {
        using var reader = DelimitedText.Open(path, what);
        var header = DelimitedText.Header(reader);
        var rows = new List<string?[]>();
        foreach (var row in reader)
        {
            if (DelimitedText.IsBlank(row)) continue;
            DelimitedText.CheckCells(row, header.Length, rows.Count + 1, path, what);
            var cells = new string?[header.Length];
            for (int c = 0; c < cells.Length; c++) cells[c] = row[c].Span.IsEmpty ? null : row[c].ToString();
            rows.Add(cells);
        }
        return (header, rows);
    }

    /// <summary>One JSON object a line; the columns are the keys in the order they first appear, and a key a row lacks is no value.</summary>
    internal static (string[] Header, List<string?[]> Cells) ReadJsonLines(string path, string what = "manifest")
    {
        if (!File.Exists(path)) throw new PerceptException($"{what} not found: {path}");
        var columns = new Dictionary<string, int>(StringComparer.Ordinal);
        var rows = new List<Dictionary<int, string?>>();
        int line = 0;
        foreach (var text in File.ReadLines(path))
        {
            line++;
            if (string.IsNullOrWhiteSpace(text)) continue;
            JsonDocument doc;
            try { doc = JsonDocument.Parse(text); }
            catch (JsonException e) { throw new PerceptException($"{what} {path} line {line} is not JSON: {e.Message.Split('\n')[0]}"); }
            using (doc)
            {
                if (doc.RootElement.ValueKind != JsonValueKind.Object)
                    throw new PerceptException($"{what} {path} line {line} is not a JSON object (one object a line, keys as columns)");
                var row = new Dictionary<int, string?>();
                foreach (var p in doc.RootElement.EnumerateObject())
                {
                    if (!columns.TryGetValue(p.Name, out int c)) columns[p.Name] = c = columns.Count;
                    row[c] = p.Value.ValueKind switch
                    {
                        JsonValueKind.String => p.Value.GetString(),
                        JsonValueKind.Null => null,
                        _ => p.Value.GetRawText(),
                    };
                }
                rows.Add(row);
            }
        }
        var header = columns.OrderBy(c => c.Value).Select(c => c.Key).ToArray();
        return (header, rows.Select(r => Enumerable.Range(0, header.Length).Select(c => r.GetValueOrDefault(c)).ToArray()).ToList());
    }

    public IEnumerable<DataBatch> ReadBatches(int batchSize, CancellationToken cancellationToken = default) => ReadBatches(batchSize, 0, Count, cancellationToken);

    /// <inheritdoc/>
    public IEnumerable<DataBatch> ReadBatches(int batchSize, int first, int items, CancellationToken cancellationToken = default)
    {
        var present = Present();
        int end = Math.Min(present.Length, first + items);
        int h = Format.Shape[0], w = Format.Shape[1], c = Format.Shape[2], len = Format.Length;
        var batch = new DataBatch(batchSize, len);
        var ok = new bool[batchSize];
        var decoded = new float[batchSize * len];
        for (int start = first; start < end; start += batchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int count = Math.Min(batchSize, end - start);
            Parallel.For(0, count, i => ok[i] = ImageDecoder.TryDecode(_rows[present[start + i]].File, h, w, c, decoded.AsSpan(i * len, len)));
            int kept = 0;
            for (int i = 0; i < count; i++)
            {
                var row = _rows[present[start + i]];
                if (!ok[i])
                {
                    if (_strict) throw new PerceptException($"image failed to decode: {row.File} (unset {Terms.Option("strict")} to skip such files)");
                    Skipped++;
                    _warn?.Invoke($"skipped {row.Id}: not a decodable image");
                    continue;
                }
                decoded.AsSpan(i * len, len).CopyTo(batch.Values.AsSpan(kept * len));
                batch.Labels[kept] = row.Label;
                batch.Ids[kept] = row.Id;
                kept++;
            }
            if (kept == 0) continue;
            batch.Count = kept;
            yield return batch;
        }
    }

    int[]? _present;

    /// <summary>Positions of the rows whose files exist, in manifest order.</summary>
    int[] Present() => _present ??= Enumerable.Range(0, _rows.Length).Where(r => !_rows[r].Missing).ToArray();

    /// <inheritdoc/>
    public IEnumerable<(string Id, string?[] Values)> ReadFields(CancellationToken cancellationToken = default)
    {
        foreach (var row in _rows)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return (row.Id, row.Fields);
        }
    }

    public void Dispose() { }
}
