using System.Data.Common;
using System.Globalization;
using DuckDB.NET.Data;

namespace Percept.Store;

/// <summary>
/// Writes the samples table of a run (one row per sample, the columns a stage declares as <see cref="FieldLayout.Column"/>
/// fields), then joins user metadata. Owns its database until disposed; the table is complete only after
/// <see cref="Finish"/>. Rows are appended with <see cref="Row"/>, one typed value per column in declaration order.
/// </summary>
public sealed class SampleTableWriter : IDisposable
{
    readonly DuckDBConnection _connection;
    DuckDBAppender? _appender;

    internal SampleTableWriter(string databasePath, IReadOnlyList<Field> columns)
    {
        if (columns.Count < 2 || columns.Any(c => c.Layout != FieldLayout.Column) || columns[0].Name != SampleKeys.Index || columns[1].Name != SampleKeys.Id)
            throw new ArgumentException($"the samples table needs column fields, '{SampleKeys.Index}' and '{SampleKeys.Id}' first", nameof(columns));
        Columns = columns;
        _connection = new DuckDBConnection($"Data Source={databasePath}");
        _connection.Open();
        Execute($"CREATE TABLE samples ({string.Join(", ", columns.Select((c, i) => $"{Quote(c.Name)} {SqlType(c.Type)}{(i == 0 ? " NOT NULL" : "")}"))})");
        _appender = _connection.CreateAppender("samples");
    }

    /// <summary>The declared columns, in order.</summary>
    public IReadOnlyList<Field> Columns { get; }

    internal static string Quote(string column) => "\"" + column.Replace("\"", "\"\"") + "\"";

    static string SqlType(FieldType t) => t switch
    {
        FieldType.Int64 => "BIGINT", FieldType.Int32 => "INTEGER", FieldType.Float32 => "FLOAT", FieldType.Bool => "BOOLEAN", FieldType.Text => "VARCHAR",
        _ => throw new ArgumentOutOfRangeException(nameof(t), $"{t} cannot be a column"),
    };

    void Execute(string sql)
    {
        using var cmd = _connection.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    /// <summary>Starts a row: append one value per column, in order, then call <see cref="SampleRowBuilder.End"/>.</summary>
    public SampleRowBuilder Row() => new(_appender!.CreateRow());

    /// <summary>
    /// Appends every row of another run's samples table with the same columns (a shard's), in index order: the rows
    /// appended so far are flushed first; no row can be appended with <see cref="Row"/> afterwards.
    /// </summary>
    public void AppendRowsOf(Run other) => AppendTable(other.PathOf(Run.SamplesFile));

    /// <summary>
    /// Numbers the rows 0, 1, 2, … in their index order (appended tables whose slices skipped samples leave gaps: an image
    /// folder's undecodable files).
    /// </summary>
    public void RenumberIndex()
    {
        string index = Quote(SampleKeys.Index);
        Execute($"UPDATE samples SET {index} = renumbered.row FROM (SELECT {index} AS old, row_number() OVER (ORDER BY {index}) - 1 AS row FROM samples) renumbered WHERE samples.{index} = renumbered.old");
    }

    void AppendTable(string databasePath)
    {
        _appender?.Dispose();
        _appender = null;
        Execute($"ATTACH '{databasePath.Replace("'", "''")}' AS shard (READ_ONLY)");
        try
        {
            string columns = string.Join(", ", Columns.Select(c => Quote(c.Name)));
            Execute($"INSERT INTO samples ({columns}) SELECT {columns} FROM shard.samples ORDER BY {Quote(SampleKeys.Index)}");
        }
        finally { Execute("DETACH shard"); }
    }

    /// <summary>Finishes appending and joins each of <paramref name="metadata"/>'s columns to the samples it names, in order; returns those columns.</summary>
    internal IReadOnlyList<string> Finish(IReadOnlyList<MetadataFile> metadata, Action<string>? warn)
    {
        _appender?.Dispose();
        _appender = null;
        var names = Columns.Select(c => c.Name).ToList();
        var added = new List<string>();
        foreach (var m in metadata)
        {
            var joined = m.JoinInto(_connection, names, warn);
            names.AddRange(joined);
            added.AddRange(joined);
        }
        return added;
    }

    /// <summary>Closes the database (idempotent).</summary>
    public void Dispose()
    {
        _appender?.Dispose();
        _appender = null;
        _connection.Dispose();
    }
}

/// <summary>One row being appended to the samples table: values in column order, null for none.</summary>
public readonly struct SampleRowBuilder
{
    readonly IDuckDBAppenderRow _row;

    internal SampleRowBuilder(IDuckDBAppenderRow row) => _row = row;

    public SampleRowBuilder Add(long value) { _row.AppendValue(value); return this; }
    public SampleRowBuilder Add(string? value) { _row.AppendValue(value); return this; }
    public SampleRowBuilder Add(int? value) { _row.AppendValue(value); return this; }
    public SampleRowBuilder Add(bool? value) { _row.AppendValue(value); return this; }
    public SampleRowBuilder Add(float? value) { _row.AppendValue(value); return this; }
    public void End() => _row.EndRow();
}

/// <summary>The two columns the store itself relies on: every samples table starts with them.</summary>
public static class SampleKeys
{
    /// <summary>The sample's position in the dataset: the table's key, and what row ranges count.</summary>
    public const string Index = "index";
    /// <summary>The sample's id, which user metadata may be joined on.</summary>
    public const string Id = "id";

    /// <summary>The key column, as a field: the first of every samples table.</summary>
    public static readonly Field IndexField = new()
    {
        Name = Index, Type = FieldType.Int64, Layout = FieldLayout.Column, Kind = FieldKind.Text, Owner = "Store",
        Description = "the sample's position in the dataset (0-based): the table's key",
    };

    /// <summary>The id column, as a field: the second of every samples table.</summary>
    public static readonly Field IdField = new()
    {
        Name = Id, Type = FieldType.Text, Layout = FieldLayout.Column, Kind = FieldKind.Text, Owner = "Store",
        Description = "the sample's id: its file name (a manifest's path as written), a table's id column, or its index as text; metadata may be joined on it",
    };
}

/// <summary>A column of a run's samples table: its name and element type, and the schema's declaration when a stage made it (null for user metadata).</summary>
public sealed record ColumnInfo(string Name, FieldType Type, FieldEntry? Declared);

/// <summary>
/// Reads a run's samples table: whole columns as typed arrays in sample order (null as NaN, −1 or null), selected rows
/// as name → value maps, the rows with the largest values of a column, and exports. Holds the database open, read-only,
/// until disposed.
/// </summary>
public sealed class SampleTable : IDisposable
{
    readonly DuckDBConnection _db;
    readonly Run _run;

    internal SampleTable(Run run, string path)
    {
        _run = run;
        _db = new DuckDBConnection($"Data Source={path};ACCESS_MODE=READ_ONLY");
        try
        {
            _db.Open();
            Columns = ReadColumns(run);
        }
        catch (DbException e) { _db.Dispose(); throw new PerceptException($"cannot open the samples table of {run.Directory}: {e.Message.Split('\n')[0]}"); }
        catch { _db.Dispose(); throw; }
    }

    List<ColumnInfo> ReadColumns(Run run)
    {
        var declared = run.Manifest.Fields.Where(f => f.Layout == FieldLayout.Column).ToDictionary(f => f.Name);
        var columns = new List<ColumnInfo>();
        using var cmd = _db.CreateCommand();
        cmd.CommandText = "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'samples' ORDER BY ordinal_position";
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            string type = r.GetString(1);
            var t = type switch
            {
                "BOOLEAN" => FieldType.Bool,
                "VARCHAR" => FieldType.Text,
                "FLOAT" or "DOUBLE" => FieldType.Float32,
                "TINYINT" or "SMALLINT" or "INTEGER" or "UTINYINT" or "USMALLINT" => FieldType.Int32,
                "BIGINT" or "UINTEGER" or "UBIGINT" or "HUGEINT" => FieldType.Int64,
                _ when type.StartsWith("DECIMAL", StringComparison.Ordinal) => FieldType.Float32,
                _ => FieldType.Text,
            };
            columns.Add(new ColumnInfo(r.GetString(0), t, declared.GetValueOrDefault(r.GetString(0))));
        }
        return columns;
    }

    static readonly string IndexColumn = SampleTableWriter.Quote(SampleKeys.Index);

    /// <summary>Every column, in table order: the stages' declared columns first, then the user's metadata.</summary>
    public IReadOnlyList<ColumnInfo> Columns { get; }

    /// <summary>Whether the table has <paramref name="column"/>.</summary>
    public bool Has(string column) => Columns.Any(c => c.Name == column);

    ColumnInfo Find(string column) => Columns.FirstOrDefault(c => c.Name == column)
        ?? throw new PerceptException($"the samples table has no column '{column}' (columns: {string.Join(", ", Columns.Select(c => c.Name))})");

    /// <summary>A column's values per sample as the database holds them (null for none): for columns whose type the caller does not know.</summary>
    public object?[] ReadValues(string column) => Read<object?>(column, null, v => v);

    /// <summary>A column as one float32 per sample: numbers as they are, true/false as 1/0, null and text as NaN.</summary>
    public float[] ReadFloat32(string column) => Read(column, float.NaN, v => v switch
    {
        bool b => b ? 1 : 0,
        string => float.NaN,
        var x => Convert.ToSingle(x, CultureInfo.InvariantCulture),
    });

    /// <summary>A whole-number column as int32 per sample (<paramref name="missing"/> for null).</summary>
    public int[] ReadInt32(string column, int missing = -1) => Read(column, missing, v => v switch
    {
        bool b => b ? 1 : 0,
        var x => Convert.ToInt32(x, CultureInfo.InvariantCulture),
    });

    /// <summary>A true/false column per sample (null for none).</summary>
    public bool?[] ReadBool(string column) => Read<bool?>(column, null, v => v is bool b ? b : Convert.ToInt64(v, CultureInfo.InvariantCulture) != 0);

    /// <summary>A column as text per sample (null for none).</summary>
    public string?[] ReadText(string column) => Read<string?>(column, null, v => Convert.ToString(v, CultureInfo.InvariantCulture));

    /// <inheritdoc cref="ReadFloat32(string)"/>
    public float[] ReadFloat32(Field column) => ReadFloat32(column.Name);
    /// <inheritdoc cref="ReadInt32(string, int)"/>
    public int[] ReadInt32(Field column, int missing = -1) => ReadInt32(column.Name, missing);
    /// <inheritdoc cref="ReadBool(string)"/>
    public bool?[] ReadBool(Field column) => ReadBool(column.Name);
    /// <inheritdoc cref="ReadText(string)"/>
    public string?[] ReadText(Field column) => ReadText(column.Name);

    T[] Read<T>(string column, T missing, Func<object, T> convert)
    {
        Find(column);
        var values = new T[_run.Count];
        Array.Fill(values, missing);
        using var cmd = _db.CreateCommand();
        cmd.CommandText = $"SELECT {IndexColumn}, {SampleTableWriter.Quote(column)} FROM samples";
        try
        {
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                long i = r.GetInt64(0);
                if (i >= 0 && i < values.Length && !r.IsDBNull(1)) values[i] = convert(r.GetValue(1));
            }
        }
        catch (DbException e) { throw new PerceptException($"cannot read column '{column}': {e.Message.Split('\n')[0]}"); }
        return values;
    }

    /// <summary>Up to <paramref name="limit"/> + 1 distinct non-null values of a text column, in order.</summary>
    public IReadOnlyList<string> Distinct(string column, int limit)
    {
        Find(column);
        using var cmd = _db.CreateCommand();
        cmd.CommandText = $"SELECT DISTINCT {SampleTableWriter.Quote(column)} FROM samples WHERE {SampleTableWriter.Quote(column)} IS NOT NULL ORDER BY 1 LIMIT {limit + 1}";
        using var r = cmd.ExecuteReader();
        var values = new List<string>();
        while (r.Read()) values.Add(Convert.ToString(r.GetValue(0), CultureInfo.InvariantCulture) ?? "");
        return values;
    }

    /// <summary>The smallest and largest finite value of a numeric column (null when it has none).</summary>
    public (double? Min, double? Max) Range(string column)
    {
        string q = SampleTableWriter.Quote(Find(column).Name);
        using var cmd = _db.CreateCommand();
        cmd.CommandText = $"SELECT MIN({q})::DOUBLE, MAX({q})::DOUBLE FROM samples WHERE isfinite({q}::DOUBLE)";
        using var r = cmd.ExecuteReader();
        r.Read();
        return (r.IsDBNull(0) ? null : r.GetDouble(0), r.IsDBNull(1) ? null : r.GetDouble(1));
    }

    /// <summary>How many samples have a value (not null) in <paramref name="column"/>.</summary>
    public long CountNotNull(string column)
    {
        using var cmd = _db.CreateCommand();
        cmd.CommandText = $"SELECT count({SampleTableWriter.Quote(Find(column).Name)}) FROM samples";
        return Convert.ToInt64(cmd.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// The given columns (all when null) of each of <paramref name="samples"/>, keyed by sample; NaN and infinities as null,
    /// dates and big numbers as text.
    /// </summary>
    public Dictionary<int, Dictionary<string, object?>> Rows(IReadOnlyCollection<int> samples, IReadOnlyList<string>? columns = null)
    {
        var rows = samples.Distinct().ToDictionary(i => i, _ => new Dictionary<string, object?>());
        if (rows.Count == 0) return rows;
        string list = columns == null ? "*" : string.Join(", ", columns.Select(c => SampleTableWriter.Quote(Find(c).Name)));
        using var cmd = _db.CreateCommand();
        cmd.CommandText = $"SELECT {IndexColumn} AS \"percept_row\", {list} FROM samples WHERE {IndexColumn} IN ({string.Join(", ", rows.Keys)})";
        using var r = cmd.ExecuteReader();
        while (r.Read()) Fill(r, rows[(int)r.GetInt64(0)]);
        return rows;
    }

    /// <summary>
    /// The <paramref name="count"/> samples with the largest value of <paramref name="orderBy"/> (nulls left out), largest
    /// first: their index and the <paramref name="columns"/> asked for.
    /// </summary>
    public IReadOnlyList<(int Index, Dictionary<string, object?> Values)> Largest(string orderBy, int count, IReadOnlyList<string> columns)
    {
        string key = SampleTableWriter.Quote(Find(orderBy).Name);
        using var cmd = _db.CreateCommand();
        cmd.CommandText = $"SELECT {IndexColumn} AS \"percept_row\", {string.Join(", ", columns.Select(c => SampleTableWriter.Quote(Find(c).Name)))} " +
                          $"FROM samples WHERE {key} IS NOT NULL ORDER BY {key} DESC, {IndexColumn} LIMIT {count}";
        using var r = cmd.ExecuteReader();
        var result = new List<(int, Dictionary<string, object?>)>();
        while (r.Read())
        {
            var values = new Dictionary<string, object?>();
            Fill(r, values);
            result.Add(((int)r.GetInt64(0), values));
        }
        return result;
    }

    static void Fill(DbDataReader r, Dictionary<string, object?> row)
    {
        for (int c = 1; c < r.FieldCount; c++)
        {
            object? v = r.IsDBNull(c) ? null : r.GetValue(c);
            row[r.GetName(c)] = v switch
            {
                float f when !float.IsFinite(f) => null,
                double d when !double.IsFinite(d) => null,
                DateTime or DateTimeOffset or DateOnly or TimeOnly => Convert.ToString(v, CultureInfo.InvariantCulture),
                System.Numerics.BigInteger b => b.ToString(CultureInfo.InvariantCulture),
                decimal m => (double)m,
                _ => v,
            };
        }
    }

    /// <summary>Writes the given columns (all when null) of <paramref name="count"/> samples from <paramref name="start"/> (all when −1), in sample order, to a CSV or Parquet file.</summary>
    public void Export(string path, bool parquet, IReadOnlyList<string>? columns = null, int start = 0, int count = -1)
    {
        string list = columns == null ? "*" : IndexColumn + ", " + string.Join(", ", columns.Select(c => SampleTableWriter.Quote(Find(c).Name)));
        string where = count < 0 ? "" : $"WHERE {IndexColumn} >= {start} AND {IndexColumn} < {(long)start + count} ";
        using var cmd = _db.CreateCommand();
        cmd.CommandText = $"COPY (SELECT {list} FROM samples {where}ORDER BY {IndexColumn}) TO '{path.Replace("'", "''")}' ({(parquet ? "FORMAT parquet" : "FORMAT csv, HEADER")})";
        try { cmd.ExecuteNonQuery(); }
        catch (DbException e) { throw new PerceptException($"export failed: {e.Message.Split('\n')[0]}"); }
    }

    public void Dispose() => _db.Dispose();
}
