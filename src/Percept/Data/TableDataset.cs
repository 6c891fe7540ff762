using System.Globalization;
using System.Text.Json;
using Apache.Arrow;
using Apache.Arrow.Types;

namespace Percept.Data;

/// <summary>
/// A columnar dataset — a Parquet file, a folder of Parquet shards, or an Arrow IPC file — with one sample a row: an
/// image column of encoded bytes (PNG, JPEG, WebP…, as a binary column or Hugging Face's <c>{bytes, path}</c> struct),
/// decoded as an image folder's files are, or a column of (nested) lists of numbers, one tensor a row; an optional
/// label column (class indices, or names); an optional <c>id</c> column; every other column of scalars is a field of
/// the samples (<see cref="IDatasetFields"/>). Class names come from <c>--classes</c>, else from the Hugging Face
/// <c>ClassLabel</c> feature in the file's metadata, else from the label names; an integer label of −1 is no label, as
/// Hugging Face marks unlabelled rows. Rows are streamed a record batch at a
/// time (a Parquet row group is never read whole into memory with the others); an image that does not decode is
/// skipped with a warning, or stops the analysis when strict.
/// </summary>
public sealed class TableDataset : IDataset, ISeekableDataset, ISkippingDataset, IDatasetFields
{
    /// <summary>Names of an image column found without <c>--image-column</c>.</summary>
    static readonly string[] ImageNames = ["image", "img", "picture", "pixels"];
    static readonly string[] LabelNames = ["label", "labels", "class", "category"];

    readonly RecordBatchSource _source;
    readonly string _image;
    readonly bool _encoded;
    readonly string? _label;
    readonly bool _labelIsText;
    readonly Dictionary<string, int>? _classIndex;
    readonly string? _id;
    readonly string[] _fields;
    readonly bool _strict;
    readonly Action<string>? _warn;

    public string Description { get; }
    public int Count { get; }
    public SampleFormat Format { get; }
    public bool HasLabels => _label != null;
    public IReadOnlyList<string>? ClassNames { get; }
    public string Split { get; }
    public IReadOnlyList<string> FieldNames => _fields;

    /// <summary>Rows skipped so far because their image failed to decode.</summary>
    public int Skipped { get; private set; }

    /// <summary>The column the samples are read from.</summary>
    public string ImageColumn => _image;

    /// <param name="path">A <c>.parquet</c> file, a folder of them (read in name order), or an Arrow IPC file (<c>.arrow</c>, <c>.feather</c>).</param>
    /// <param name="imageColumn">
    /// The column of samples; by default the Hugging Face <c>Image</c> feature, a column named image, else the first column
    /// of encoded bytes, else of lists of numbers.
    /// </param>
    /// <param name="labelColumn">The label column; by default one named label, labels, class or category, else the Hugging Face <c>ClassLabel</c> feature.</param>
    /// <param name="classNames">Class names (index = label), over those the file names.</param>
    /// <param name="imageSize">Decoded images' <c>(height, width, channels)</c>, from the model (for encoded images only).</param>
    /// <param name="strict">Stop on the first image that does not decode, instead of skipping it.</param>
    /// <param name="warn">Receives one line per skipped image.</param>
    /// <exception cref="PerceptException">The file cannot be read, or lacks a named column, or has no column to read samples from.</exception>
    public TableDataset(string path, string? imageColumn, string? labelColumn, IReadOnlyList<string>? classNames,
        Func<(int Height, int Width, int Channels)> imageSize, bool strict = false, Action<string>? warn = null, string? split = null)
    {
        _source = RecordBatchSource.Open(path);
        try
        {
            _strict = strict;
            _warn = warn;
            var schema = _source.Schema;
            var columns = schema.FieldsList;
            string Listed() => string.Join(", ", columns.Select(f => f.Name));
            var features = HuggingFaceFeatures(_source.Metadata);

            // The samples: encoded images, or tensors.
            var image = imageColumn != null
                ? columns.FirstOrDefault(f => f.Name == imageColumn) ?? throw new PerceptException($"image column '{imageColumn}' not found in {path} (columns: {Listed()})")
                : columns.FirstOrDefault(f => features.TryGetValue(f.Name, out var t) && t.Type == "Image" && IsEncoded(f.DataType))
                  ?? columns.FirstOrDefault(f => ImageNames.Contains(f.Name, StringComparer.OrdinalIgnoreCase) && (IsEncoded(f.DataType) || ArrowValues.IsNumberList(f.DataType)))
                  ?? columns.FirstOrDefault(f => IsEncoded(f.DataType))
                  ?? columns.FirstOrDefault(f => ArrowValues.IsNumberList(f.DataType))
                  ?? throw new PerceptException($"{path} has no column of images (encoded bytes) or tensors (lists of numbers) to read samples from "
                                                + $"(columns: {Listed()}); name it with {Terms.Option("image-column")}");
            _image = image.Name;
            _encoded = IsEncoded(image.DataType);
            if (!_encoded && !ArrowValues.IsNumberList(image.DataType))
                throw new PerceptException(
                    $"column '{image.Name}' of {path} holds {image.DataType.Name}, neither encoded images (bytes, or a struct with a 'bytes' field) nor lists of numbers");

            // The label, its classes and the id.
            var label = labelColumn != null
                ? columns.FirstOrDefault(f => f.Name == labelColumn) ?? throw new PerceptException($"label column '{labelColumn}' not found in {path} (columns: {Listed()})")
                : columns.FirstOrDefault(f => f.Name != _image && LabelNames.Contains(f.Name, StringComparer.OrdinalIgnoreCase))
                  ?? columns.FirstOrDefault(f => features.TryGetValue(f.Name, out var t) && t.Type == "ClassLabel");
            if (label != null && !ArrowValues.IsInteger(label.DataType) && !ArrowValues.IsText(label.DataType))
                throw new PerceptException($"label column '{label.Name}' of {path} holds {label.DataType.Name}; labels are class indices (integers) or class names (text)");
            _label = label?.Name;
            _labelIsText = label != null && ArrowValues.IsText(label.DataType);
            var fileNames = label != null && features.TryGetValue(label.Name, out var feature) ? feature.Names : null;
            ClassNames = classNames ?? fileNames;
            if (_labelIsText)
            {
                var names = ClassNames ?? DistinctLabels(CancellationToken.None);
                _classIndex = new Dictionary<string, int>(StringComparer.Ordinal);
                for (int i = 0; i < names.Count; i++) _classIndex.TryAdd(names[i], i);
                ClassNames = names;
            }
            _id = columns.FirstOrDefault(f => f.Name.Equals("id", StringComparison.OrdinalIgnoreCase) && f.Name != _image && f.Name != _label
                                              && ArrowValues.IsScalar(f.DataType))?.Name;
            _fields = columns.Where(f => f.Name != _image && f.Name != _label && f.Name != _id && ArrowValues.IsScalar(f.DataType)).Select(f => f.Name).ToArray();

            if (_source.Rows > int.MaxValue) throw new PerceptException($"{path} has {_source.Rows:N0} rows; Percept reads at most {int.MaxValue:N0}");
            Count = (int)_source.Rows;
            Format = _encoded ? ImageFormat(imageSize()) : TensorFormat(path);
            Split = split ?? GuessSplit(path);
            string classCount = ClassNames != null ? $", {ClassNames.Count} classes" : "";
            Description = $"{_source.Name} ({Count} rows, column '{_image}': {(_encoded ? "encoded images" : "tensors")} of {Format.ShapeText}{classCount})";
        }
        catch { _source.Dispose(); throw; }
    }

    /// <summary>The split a file (a folder: its first Parquet file) is named for, as Hugging Face names them (<c>train-00000-of-00004.parquet</c>), else "all".</summary>
    static string GuessSplit(string path)
    {
        if (Directory.Exists(path)) path = Directory.GetFiles(path, "*.parquet").Order(StringComparer.Ordinal).FirstOrDefault() ?? path;
        string name = Path.GetFileName(Path.TrimEndingDirectorySeparator(path)).ToLowerInvariant();
        return name.Contains("test", StringComparison.Ordinal) ? "test"
            : name.Contains("valid", StringComparison.Ordinal) ? "validation"
            : name.Contains("train", StringComparison.Ordinal) ? "train" : "all";
    }

    static bool IsEncoded(IArrowType type) => ArrowValues.IsBinary(type) || (type is StructType s && ArrowValues.BytesField(s) >= 0);

    static SampleFormat ImageFormat((int Height, int Width, int Channels) size)
    {
        var (h, w, c) = size;
        if (c is not (1 or 3)) throw new ArgumentOutOfRangeException(nameof(size), "1 or 3 channels");
        if (w <= 0 || h <= 0) throw new PerceptException($"image size {w}x{h} is not valid");
        return new SampleFormat(SampleKind.Image, [h, w, c], true);
    }

    /// <summary>The tensors' shape, from the first row: lists of numbers are a table row; nested lists an image (<c>[H, W]</c>, <c>[H, W, C ≤ 4]</c>) or a tensor.</summary>
    SampleFormat TensorFormat(string path)
    {
        foreach (var batch in _source.Read([_image], 0, CancellationToken.None))
        {
            if (batch.Length == 0) continue;
            var column = batch.Column(0);
            var shape = ArrowValues.ListShape(column, 0) ?? throw new PerceptException($"row 0 of column '{_image}' of {path} is not a list of numbers");
            if (shape.Any(d => d <= 0)) throw new PerceptException($"row 0 of column '{_image}' of {path} is an empty list");
            var element = ((NestedType)column.Data.DataType).Fields[0].DataType;
            while (element is NestedType nested) element = nested.Fields[0].DataType;
            bool bytes = element.TypeId == ArrowTypeId.UInt8;
            return shape.Length switch
            {
                1 => new SampleFormat(SampleKind.Table, shape, bytes),
                2 => new SampleFormat(SampleKind.Image, [shape[0], shape[1], 1], bytes),
                3 when shape[2] <= 4 => new SampleFormat(SampleKind.Image, shape, bytes),
                _ => new SampleFormat(SampleKind.Tensor, shape, bytes),
            };
        }
        throw new PerceptException($"{path} has no rows");
    }

    /// <summary>A Hugging Face feature: its <c>_type</c> and, for a <c>ClassLabel</c>, its class names.</summary>
    readonly record struct Feature(string? Type, string[]? Names);

    /// <summary>The features of the <c>huggingface</c> metadata key (<c>{"info": {"features": {...}}}</c>), by column; empty when there are none.</summary>
    static Dictionary<string, Feature> HuggingFaceFeatures(IReadOnlyDictionary<string, string> metadata)
    {
        var features = new Dictionary<string, Feature>(StringComparer.Ordinal);
        if (!metadata.TryGetValue("huggingface", out var json)) return features;
        try
        {
            using var doc = JsonDocument.Parse(json);
            if (!doc.RootElement.TryGetProperty("info", out var info) || !info.TryGetProperty("features", out var fs) || fs.ValueKind != JsonValueKind.Object)
                return features;
            foreach (var f in fs.EnumerateObject())
            {
                if (f.Value.ValueKind != JsonValueKind.Object) continue;
                string? type = f.Value.TryGetProperty("_type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
                string[]? names = f.Value.TryGetProperty("names", out var n) && n.ValueKind == JsonValueKind.Array
                    ? n.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.String ? e.GetString()! : e.GetRawText()).ToArray() : null;
                features[f.Name] = new Feature(type, names);
            }
        }
        catch (JsonException) { }
        return features;
    }

    /// <summary>The label column's names, sorted, when no class names are given (a pass over that column alone).</summary>
    IReadOnlyList<string> DistinctLabels(CancellationToken cancellationToken)
    {
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var batch in _source.Read([_label!], 0, cancellationToken))
        {
            var column = batch.Column(0);
            for (int i = 0; i < batch.Length; i++)
                if (ArrowValues.Text(column, i) is { Length: > 0 } name) names.Add(name);
        }
        return [.. names];
    }

    int Label(IArrowArray? column, int i, long row)
    {
        if (column == null) return -1;
        if (!_labelIsText)
        {
            long? value = ArrowValues.Integer(column, i);
            // −1 is no label: Hugging Face's ClassLabel marks unlabelled rows (a test split's) so.
            if (value is < -1) throw new PerceptException($"row {row} of {_source.Name}: label {value} is negative; integer labels are class indices from 0 (−1 for none)");
            return value is { } v ? checked((int)v) : -1;
        }
        string? name = ArrowValues.Text(column, i);
        if (string.IsNullOrEmpty(name)) return -1;
        return _classIndex!.TryGetValue(name, out int index) ? index
            : throw new PerceptException($"row {row} of {_source.Name}: label '{name}' is not one of the {_classIndex.Count} class names given");
    }

    public IEnumerable<DataBatch> ReadBatches(int batchSize, CancellationToken cancellationToken = default) => ReadBatches(batchSize, 0, Count, cancellationToken);

    /// <inheritdoc/>
    public IEnumerable<DataBatch> ReadBatches(int batchSize, int first, int items, CancellationToken cancellationToken = default)
    {
        int end = Math.Min(Count, first + items);
        if (first >= end) yield break;
        int len = Format.Length;
        var batch = new DataBatch(batchSize, len);
        var decoded = new float[batchSize * len];
        var ok = new bool[batchSize];
        // The rows of the batch being filled: their record batch (kept until the batch is delivered) and position in it.
        var pending = new (IArrowArray Samples, int Index, long Row)[batchSize];
        var labels = new int[batchSize];
        var ids = new string[batchSize];
        int filled = 0, decodedUpTo = 0;
        long row = first;
        var columns = new List<string> { _image };
        if (_label != null) columns.Add(_label);
        if (_id != null) columns.Add(_id);
        foreach (var record in _source.Read(columns, first, cancellationToken))
        {
            var samples = record.Column(0);
            var labelColumn = _label != null ? record.Column(1) : null;
            var idColumn = _id != null ? record.Column(columns.Count - 1) : null;
            for (int i = 0; i < record.Length && row < end; i++, row++)
            {
                pending[filled] = (samples, i, row);
                labels[filled] = Label(labelColumn, i, row);
                ids[filled] = idColumn != null ? ArrowValues.Text(idColumn, i) ?? row.ToString(CultureInfo.InvariantCulture) : row.ToString(CultureInfo.InvariantCulture);
                if (++filled < batchSize) continue;
                Decode(pending, decodedUpTo, filled, decoded, ok);
                if (Deliver(batch, filled, pending, labels, ids, decoded, ok)) yield return batch;
                filled = decodedUpTo = 0;
            }
            // The record batch is released when the next one is read: the rows of it still waiting for a full batch are decoded now.
            Decode(pending, decodedUpTo, filled, decoded, ok);
            decodedUpTo = filled;
            if (row >= end) break;
        }
        if (filled > 0 && Deliver(batch, filled, pending, labels, ids, decoded, ok)) yield return batch;
    }

    /// <summary>Decodes (or, for tensors, copies) pending rows [<paramref name="from"/>, <paramref name="to"/>) into their slots of <paramref name="decoded"/>.</summary>
    void Decode((IArrowArray Samples, int Index, long Row)[] pending, int from, int to, float[] decoded, bool[] ok)
    {
        int len = Format.Length;
        if (_encoded)
        {
            int h = Format.Shape[0], w = Format.Shape[1], c = Format.Shape[2];
            Parallel.For(from, to, k => ok[k] = ImageDecoder.TryDecode(ArrowValues.Bytes(pending[k].Samples, pending[k].Index), h, w, c, decoded.AsSpan(k * len, len)));
        }
        else
        {
            for (int k = from; k < to; k++)
            {
                int n = pending[k].Samples.IsNull(pending[k].Index) ? -1 : ArrowValues.Flatten(pending[k].Samples, pending[k].Index, decoded.AsSpan(k * len, len));
                if (n != len)
                    throw new PerceptException($"row {pending[k].Row} of {_source.Name}: column '{_image}' holds {(n < 0 ? "no value" : $"{n} numbers")}; "
                                               + $"the first row's shape {Format.ShapeText} holds {len}");
                ok[k] = true;
            }
        }
        // The rows' record batches may go now.
        for (int k = from; k < to; k++) pending[k].Samples = null!;
    }

    /// <summary>Moves the decoded rows into <paramref name="batch"/>, skipping (or refusing) those that did not decode; false when none is left.</summary>
    bool Deliver(DataBatch batch, int count, (IArrowArray Samples, int Index, long Row)[] pending, int[] labels, string[] ids, float[] decoded, bool[] ok)
    {
        int len = Format.Length, kept = 0;
        for (int k = 0; k < count; k++)
        {
            if (!ok[k])
            {
                if (_strict)
                    throw new PerceptException($"image failed to decode: row {pending[k].Row} of {_source.Name}, column '{_image}' (unset {Terms.Option("strict")} to skip such rows)");
                Skipped++;
                _warn?.Invoke($"skipped row {pending[k].Row} of {_source.Name}: not a decodable image");
                continue;
            }
            decoded.AsSpan(k * len, len).CopyTo(batch.Values.AsSpan(kept * len));
            batch.Labels[kept] = labels[k];
            batch.Ids[kept] = ids[k];
            kept++;
        }
        batch.Count = kept;
        return kept > 0;
    }

    /// <inheritdoc/>
    public IEnumerable<(string Id, string?[] Values)> ReadFields(CancellationToken cancellationToken = default)
    {
        var columns = new List<string>(_fields);
        if (_id != null) columns.Add(_id);
        long row = 0;
        foreach (var record in _source.Read(columns, 0, cancellationToken))
        {
            var idColumn = _id != null ? record.Column(_fields.Length) : null;
            for (int i = 0; i < record.Length; i++, row++)
            {
                var values = new string?[_fields.Length];
                for (int f = 0; f < values.Length; f++) values[f] = ArrowValues.Text(record.Column(f), i);
                string id = idColumn != null ? ArrowValues.Text(idColumn, i) ?? row.ToString(CultureInfo.InvariantCulture) : row.ToString(CultureInfo.InvariantCulture);
                yield return (id, values);
            }
        }
    }

    public void Dispose() => _source.Dispose();
}
