using System.Globalization;

namespace Percept.Data;

/// <summary>
/// A CSV (or TSV) table with a header row, read with <see cref="DelimitedText"/>: numeric feature columns, an optional label column (integers, or names that become
/// classes in sorted order) and an optional <c>id</c> column. The file is scanned once on open (to count rows, find
/// the classes and check every value) and then streamed.
/// </summary>
public sealed class CsvDataset : IDataset
{
    readonly string _path;
    readonly int[] _featureColumns;
    readonly int _labelColumn;
    readonly int _idColumn;
    readonly Dictionary<string, int>? _classIndex;

    public string Description { get; }
    public int Count { get; }
    public SampleFormat Format { get; }
    public bool HasLabels => _labelColumn >= 0;
    public IReadOnlyList<string>? ClassNames { get; }
    public string Split { get; }

    /// <summary>Column names of the features, in order.</summary>
    public IReadOnlyList<string> FeatureNames { get; }

    /// <param name="path">CSV file with a header row.</param>
    /// <param name="labelColumn">Label column; defaults to a column named <c>label</c> when there is one.</param>
    public CsvDataset(string path, string? labelColumn = null, IReadOnlyList<string>? classNames = null, string? split = null)
    {
        _path = path;
        using var reader = DelimitedText.Open(path, "CSV file");
        var header = DelimitedText.Header(reader);
        _labelColumn = labelColumn != null ? Array.IndexOf(header, labelColumn) : Array.FindIndex(header, h => h.Equals("label", StringComparison.OrdinalIgnoreCase));
        if (labelColumn != null && _labelColumn < 0)
            throw new PerceptException($"label column '{labelColumn}' not found in {path} (columns: {string.Join(", ", header)})");
        _idColumn = Array.FindIndex(header, h => h.Equals("id", StringComparison.OrdinalIgnoreCase));
        _featureColumns = Enumerable.Range(0, header.Length).Where(i => i != _labelColumn && i != _idColumn).ToArray();
        if (_featureColumns.Length == 0) throw new PerceptException($"CSV file {path} has no feature columns");
        FeatureNames = _featureColumns.Select(i => header[i]).ToArray();

        var labelTexts = new SortedSet<string>(StringComparer.Ordinal);
        bool allIntegerLabels = true;
        (int Row, string Label)? negativeLabel = null;
        int rows = 0;
        foreach (var row in reader)
        {
            if (DelimitedText.IsBlank(row)) continue;
            rows++;
            DelimitedText.CheckCells(row, header.Length, rows, path, "CSV");
            foreach (int c in _featureColumns)
                if (!float.TryParse(row[c].Span, NumberStyles.Float, CultureInfo.InvariantCulture, out _))
                    throw new PerceptException($"CSV row {rows} of {path}: column '{header[c]}' value '{row[c].ToString()}' is not a number");
            if (_labelColumn >= 0)
            {
                string l = row[_labelColumn].ToString();
                labelTexts.Add(l);
                if (!int.TryParse(l, NumberStyles.Integer, CultureInfo.InvariantCulture, out int li)) allIntegerLabels = false;
                else if (li < 0) negativeLabel ??= (rows, l);
            }
        }
        if (rows == 0) throw new PerceptException($"CSV file {path} has no data rows");
        // Integer labels are class indices; a negative one is a mistake, not a class name.
        if (allIntegerLabels && negativeLabel is var (badRow, badLabel))
            throw new PerceptException($"CSV row {badRow} of {path}: label {badLabel} is negative; integer labels are class indices from 0 (or give class names)");
        Count = rows;
        if (_labelColumn >= 0 && !allIntegerLabels)
        {
            var names = labelTexts.ToArray();
            _classIndex = names.Select((n, i) => (n, i)).ToDictionary(t => t.n, t => t.i, StringComparer.Ordinal);
            ClassNames = classNames ?? names;
        }
        else ClassNames = classNames;
        Format = new SampleFormat(SampleKind.Table, [_featureColumns.Length], false);
        Split = split ?? "all";
        Description = $"CSV {System.IO.Path.GetFileName(path)} ({Count} rows, {_featureColumns.Length} features)";
    }

    public IEnumerable<DataBatch> ReadBatches(int batchSize, CancellationToken cancellationToken = default)
    {
        int len = _featureColumns.Length;
        var batch = new DataBatch(batchSize, len);
        using var reader = DelimitedText.Open(_path, "CSV file");
        int index = 0, count = 0;
        foreach (var row in reader)
        {
            if (DelimitedText.IsBlank(row)) continue;
            for (int f = 0; f < len; f++)
                batch.Values[count * len + f] = float.Parse(row[_featureColumns[f]].Span, NumberStyles.Float, CultureInfo.InvariantCulture);
            batch.Labels[count] = _labelColumn < 0 ? -1
                : _classIndex != null ? _classIndex[row[_labelColumn].ToString()]
                : int.Parse(row[_labelColumn].Span, CultureInfo.InvariantCulture);
            batch.Ids[count] = _idColumn >= 0 ? row[_idColumn].ToString() : index.ToString(CultureInfo.InvariantCulture);
            count++; index++;
            if (count < batchSize) continue;
            cancellationToken.ThrowIfCancellationRequested();
            batch.Count = count;
            yield return batch;
            count = 0;
        }
        if (count == 0) yield break;
        batch.Count = count;
        yield return batch;
    }

    public void Dispose() { }
}
