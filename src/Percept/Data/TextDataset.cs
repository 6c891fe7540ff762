using System.Globalization;
using RecordBatch = Apache.Arrow.RecordBatch;

namespace Percept.Data;

/// <summary>
/// Texts for a text model: a CSV, TSV, JSONL, Parquet or Arrow table with one text a row in a named column, an optional
/// label column (class indices or names) and an optional <c>id</c> column; every other column is a field of the samples
/// (<see cref="IDatasetFields"/>). Each text becomes token ids with the model's <see cref="TextTokenizer"/>: the special
/// tokens around it, cut to the sequence length when longer (counted in <see cref="Truncated"/> and said in one warning)
/// and padded with the pad id. The table is read and tokenized when opened — texts are small beside what a model makes of
/// them — and keeps only each text's ids.
/// </summary>
public sealed class TextDataset : IDataset, ISeekableDataset, IDatasetFields
{
    static readonly string[] LabelNames = ["label", "labels", "class", "category"];

    readonly int[][] _ids;
    readonly int[] _labels;
    readonly string[] _sampleIds;
    readonly string?[][] _fields;
    readonly string[] _fieldNames;
    readonly int _padId;

    public string Description { get; }
    public int Count => _ids.Length;
    public SampleFormat Format { get; }
    public bool HasLabels { get; }
    public IReadOnlyList<string>? ClassNames { get; }
    public string Split { get; }
    public IReadOnlyList<string> FieldNames => _fieldNames;

    /// <summary>Texts whose tokens did not fit the sequence length and were cut at its end.</summary>
    public int Truncated { get; }

    /// <summary>The one line that says how many texts were cut, when any were (the analysis warns with it).</summary>
    public string? TruncationWarning { get; }

    /// <summary>The tokenizer's tokens by id (null where it names none): the words the run shows for the ids.</summary>
    public IReadOnlyList<string?> Vocabulary { get; }

    /// <summary>The id that pads texts to the sequence length.</summary>
    public int PadId => _padId;

    /// <summary>The column the texts are read from.</summary>
    public string TextColumn { get; }

    /// <summary>Whether <paramref name="path"/> names a table a text dataset reads (CSV, TSV, JSONL, Parquet or Arrow).</summary>
    public static bool IsTable(string path) =>
        DelimitedText.IsDelimited(path) || ManifestDataset.IsJsonLines(path) || RecordBatchSource.IsParquet(path) || RecordBatchSource.IsArrow(path);

    /// <param name="path">The table.</param>
    /// <param name="textColumn">The column of texts.</param>
    /// <param name="labelColumn">The label column; by default one named label, labels, class or category, when there is one.</param>
    /// <param name="classNames">Class names (index = label); names in the label column are then looked up in them.</param>
    /// <param name="tokenizer">The model's tokenizer.</param>
    /// <param name="length">Token ids per sample: the model's sequence length.</param>
    /// <param name="lengthOption">The option that sets <paramref name="length"/>, named in <see cref="TruncationWarning"/>.</param>
    /// <exception cref="PerceptException">The table cannot be read, lacks a named column, or has no rows.</exception>
    public TextDataset(string path, string textColumn, string? labelColumn, IReadOnlyList<string>? classNames, TextTokenizer tokenizer, int length,
        string lengthOption, string? split = null)
    {
        if (length <= tokenizer.SpecialTokens)
            throw new PerceptException($"a sequence length of {length} leaves no room for text between the tokenizer's {tokenizer.SpecialTokens} special tokens");
        var (header, cells) = Read(path);
        if (cells.Count == 0) throw new PerceptException($"text table {path} has no rows");
        int text = Array.IndexOf(header, textColumn);
        if (text < 0) throw new PerceptException($"text column '{textColumn}' not found in {path} (columns: {string.Join(", ", header)})");
        int label = labelColumn != null ? Array.IndexOf(header, labelColumn)
            : Array.FindIndex(header, h => h != textColumn && LabelNames.Contains(h, StringComparer.OrdinalIgnoreCase));
        if (labelColumn != null && label < 0)
            throw new PerceptException($"label column '{labelColumn}' not found in {path} (columns: {string.Join(", ", header)})");
        if (label == text) throw new PerceptException($"column '{textColumn}' of {path} cannot be both the texts and the labels");
        int id = Array.FindIndex(header, h => h.Equals("id", StringComparison.OrdinalIgnoreCase) && h != textColumn);
        if (id == label) id = -1;
        var fields = Enumerable.Range(0, header.Length).Where(c => c != text && c != label && c != id).ToArray();
        _fieldNames = fields.Select(c => header[c]).ToArray();
        TextColumn = textColumn;

        var (labels, names) = label >= 0 ? ManifestDataset.Labels(cells, label, header[label], classNames, path, "text table") : (null, classNames);
        _labels = labels ?? Enumerable.Repeat(-1, cells.Count).ToArray();
        _ids = new int[cells.Count][];
        _sampleIds = new string[cells.Count];
        _fields = new string?[cells.Count][];
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        var buffer = new int[length];
        int truncated = 0;
        for (int r = 0; r < cells.Count; r++)
        {
            var (used, cut) = tokenizer.Encode(cells[r][text] ?? "", buffer);
            _ids[r] = buffer.AsSpan(0, used).ToArray();
            if (cut) truncated++;
            string sampleId = id >= 0 && !string.IsNullOrEmpty(cells[r][id]) ? cells[r][id]! : r.ToString(CultureInfo.InvariantCulture);
            if (!seen.TryAdd(sampleId, r))
                throw new PerceptException($"text table rows {seen[sampleId] + 1} and {r + 1} of {path} both have id '{sampleId}'; each sample may appear once");
            _sampleIds[r] = sampleId;
            _fields[r] = fields.Select(c => cells[r][c]).ToArray();
        }
        _padId = tokenizer.PadId;
        Vocabulary = tokenizer.Vocabulary;
        Truncated = truncated;
        if (truncated > 0)
            TruncationWarning = $"truncated {truncated:N0} of {cells.Count:N0} texts to {length} tokens, the model's sequence length "
                                + $"(their ends are left out; {lengthOption} sets the length when the model's is free)";
        HasLabels = label >= 0;
        ClassNames = names;
        Format = new SampleFormat(SampleKind.Table, [length], false);
        Split = split ?? "all";
        Description = $"texts {System.IO.Path.GetFileName(System.IO.Path.TrimEndingDirectorySeparator(path))} ({Count} rows, column '{textColumn}'"
                      + $"{(names != null ? $", {names.Count} classes" : "")}; {tokenizer.Description}; {length} tokens)";
    }

    /// <summary>The table's header and cells, as text (null for none), whatever its format.</summary>
    static (string[] Header, List<string?[]> Cells) Read(string path)
    {
        if (ManifestDataset.IsJsonLines(path)) return ManifestDataset.ReadJsonLines(path, "text table");
        if (DelimitedText.IsDelimited(path)) return ManifestDataset.ReadDelimited(path, "text table");
        using var source = RecordBatchSource.Open(path);
        var columns = source.Schema.FieldsList.Where(f => ArrowValues.IsScalar(f.DataType)).Select(f => f.Name).ToArray();
        var cells = new List<string?[]>();
        foreach (RecordBatch batch in source.Read(columns, 0, CancellationToken.None))
            for (int i = 0; i < batch.Length; i++)
            {
                var row = new string?[columns.Length];
                for (int c = 0; c < columns.Length; c++) row[c] = ArrowValues.Text(batch.Column(c), i);
                cells.Add(row);
            }
        return (columns, cells);
    }

    public IEnumerable<DataBatch> ReadBatches(int batchSize, CancellationToken cancellationToken = default) => ReadBatches(batchSize, 0, Count, cancellationToken);

    /// <inheritdoc/>
    public IEnumerable<DataBatch> ReadBatches(int batchSize, int first, int items, CancellationToken cancellationToken = default)
    {
        int end = Math.Min(Count, first + items), length = Format.Length;
        var batch = new DataBatch(batchSize, length);
        for (int start = first; start < end; start += batchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int count = Math.Min(batchSize, end - start);
            for (int i = 0; i < count; i++)
            {
                var ids = _ids[start + i];
                var row = batch.Values.AsSpan(i * length, length);
                for (int t = 0; t < ids.Length; t++) row[t] = ids[t];
                row[ids.Length..].Fill(_padId);
                batch.Labels[i] = _labels[start + i];
                batch.Ids[i] = _sampleIds[start + i];
            }
            batch.Count = count;
            yield return batch;
        }
    }

    /// <inheritdoc/>
    public IEnumerable<(string Id, string?[] Values)> ReadFields(CancellationToken cancellationToken = default)
    {
        for (int r = 0; r < Count; r++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return (_sampleIds[r], _fields[r]);
        }
    }

    public void Dispose() { }
}
