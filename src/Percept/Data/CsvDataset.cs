using System.Globalization;

namespace Percept.Data;

/// <summary>
/// A CSV table with a header row: numeric feature columns, an optional label column (integers, or names that become
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
        if (!File.Exists(path)) throw new PerceptException($"file not found: {path}");
        _path = path;
        using var reader = new StreamReader(path);
        string? headerLine = reader.ReadLine();
        if (string.IsNullOrWhiteSpace(headerLine)) throw new PerceptException($"CSV file {path} is empty");
        var header = SplitLine(headerLine);
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
        string? line;
        while ((line = reader.ReadLine()) != null)
        {
            if (line.Length == 0) continue;
            var cells = SplitLine(line);
            rows++;
            if (cells.Length != header.Length)
                throw new PerceptException($"CSV row {rows} of {path} has {cells.Length} cells; the header has {header.Length}");
            foreach (int c in _featureColumns)
                if (!float.TryParse(cells[c], NumberStyles.Float, CultureInfo.InvariantCulture, out _))
                    throw new PerceptException($"CSV row {rows} of {path}: column '{header[c]}' value '{cells[c]}' is not a number");
            if (_labelColumn >= 0)
            {
                string l = cells[_labelColumn];
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

    /// <summary>Splits a CSV line on commas, honouring double-quoted cells.</summary>
    internal static string[] SplitLine(string line)
    {
        var cells = new List<string>();
        var cell = new System.Text.StringBuilder();
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char ch = line[i];
            if (quoted)
            {
                if (ch == '"' && i + 1 < line.Length && line[i + 1] == '"') { cell.Append('"'); i++; }
                else if (ch == '"') quoted = false;
                else cell.Append(ch);
            }
            else if (ch == '"') quoted = true;
            else if (ch == ',') { cells.Add(cell.ToString().Trim()); cell.Clear(); }
            else cell.Append(ch);
        }
        cells.Add(cell.ToString().Trim());
        return [.. cells];
    }

    public IEnumerable<DataBatch> ReadBatches(int batchSize, CancellationToken cancellationToken = default)
    {
        int len = _featureColumns.Length;
        var batch = new DataBatch(batchSize, len);
        using var reader = new StreamReader(_path);
        reader.ReadLine();
        int index = 0;
        string? line;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int count = 0;
            while (count < batchSize && (line = reader.ReadLine()) != null)
            {
                if (line.Length == 0) continue;
                var cells = SplitLine(line);
                for (int f = 0; f < len; f++)
                    batch.Values[count * len + f] = float.Parse(cells[_featureColumns[f]], NumberStyles.Float, CultureInfo.InvariantCulture);
                batch.Labels[count] = _labelColumn < 0 ? -1
                    : _classIndex != null ? _classIndex[cells[_labelColumn]]
                    : int.Parse(cells[_labelColumn], CultureInfo.InvariantCulture);
                batch.Ids[count] = _idColumn >= 0 ? cells[_idColumn] : index.ToString(CultureInfo.InvariantCulture);
                count++; index++;
            }
            if (count == 0) yield break;
            batch.Count = count;
            yield return batch;
        }
    }

    public void Dispose() { }
}
