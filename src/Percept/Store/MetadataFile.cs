using System.Data.Common;
using DuckDB.NET.Data;
using Percept.Data;

namespace Percept.Store;

/// <summary>
/// Per-sample metadata joined to a run's samples table: a user's CSV, TSV or Parquet file, joined on an <c>index</c>
/// column (the sample's position) or an <c>id</c> column (the sample's id), or the fields a dataset carries besides
/// its samples (a manifest's or a Parquet table's other columns, <see cref="IDatasetFields"/>), joined on the sample's
/// id. Delimited text is read with <see cref="DelimitedText"/> (the reader of every CSV in Percept) and its columns
/// typed by their values: whole numbers, numbers, true/false, else text; an empty cell is no value. A user's file is
/// validated when opened, so a bad file fails before any analysis work.
/// </summary>
public sealed class MetadataFile
{
    const string What = "metadata file";
    readonly IDatasetFields? _fields;

    /// <summary>The file (for a dataset's fields: the dataset's path).</summary>
    public string Path { get; }

    /// <summary>Join column: <c>index</c> or <c>id</c>.</summary>
    public string Key { get; }

    /// <summary>Columns other than the key, as named in the file.</summary>
    public IReadOnlyList<string> Columns { get; }

    /// <summary>Opens and checks a user's metadata file (<c>.parquet</c>, else comma- or tab-separated text).</summary>
    /// <exception cref="PerceptException">The file is missing, unreadable, ragged, has no key column or repeats a key.</exception>
    public MetadataFile(string path)
    {
        if (!File.Exists(path)) throw new PerceptException($"metadata file not found: {path}");
        Path = System.IO.Path.GetFullPath(path);
        using var db = new DuckDBConnection("Data Source=:memory:");
        db.Open();
        try
        {
            var cols = Load(db, "user_meta");
            Key = cols.FirstOrDefault(c => c.Equals(SampleKeys.Index, StringComparison.OrdinalIgnoreCase))
                  ?? cols.FirstOrDefault(c => c.Equals(SampleKeys.Id, StringComparison.OrdinalIgnoreCase))
                  ?? throw new PerceptException($"metadata file {path} needs an '{SampleKeys.Index}' or '{SampleKeys.Id}' column to join on (it has: {string.Join(", ", cols)})");
            Columns = cols.Where(c => c != Key).ToArray();
            using var dup = db.CreateCommand();
            dup.CommandText = $"SELECT CAST({Quote(Key)} AS VARCHAR), count(*) FROM user_meta GROUP BY 1 HAVING count(*) > 1 LIMIT 1";
            using var d = dup.ExecuteReader();
            if (d.Read()) throw new PerceptException($"metadata file {path} has {d.GetInt64(1)} rows for {Key} '{d.GetValue(0)}'; each sample may appear once");
        }
        catch (DbException e) { throw new PerceptException($"cannot read metadata file {path}: {e.Message.Split('\n')[0]}"); }
    }

    MetadataFile(IDatasetFields fields, string path)
    {
        _fields = fields;
        Path = System.IO.Path.GetFullPath(path);
        Key = SampleKeys.Id;
        Columns = fields.FieldNames;
    }

    /// <summary>The fields <paramref name="dataset"/> carries besides its samples, to join on the sample id; null when it carries none.</summary>
    public static MetadataFile? FieldsOf(IDataset dataset, string path) =>
        (dataset is CompleteDataset complete ? complete.Inner : dataset) is IDatasetFields { FieldNames.Count: > 0 } fields ? new MetadataFile(fields, path) : null;

    bool IsParquet => _fields == null && Path.EndsWith(".parquet", StringComparison.OrdinalIgnoreCase);

    static string Quote(string name) => SampleTableWriter.Quote(name);

    /// <summary>Loads the metadata into a temporary table <paramref name="table"/> of <paramref name="db"/>; returns its columns.</summary>
    List<string> Load(DuckDBConnection db, string table)
    {
        if (IsParquet)
        {
            Exec(db, $"CREATE TEMP TABLE {table} AS SELECT * FROM read_parquet('{Path.Replace("'", "''")}')");
            var cols = new List<string>();
            using var cmd = db.CreateCommand();
            cmd.CommandText = $"SELECT column_name FROM information_schema.columns WHERE table_name = '{table}' ORDER BY ordinal_position";
            using var r = cmd.ExecuteReader();
            while (r.Read()) cols.Add(r.GetString(0));
            return cols;
        }
        string raw = table + "_text";
        List<string> columns;
        if (_fields != null)
        {
            columns = [SampleKeys.Id, .. _fields.FieldNames];
            Exec(db, $"CREATE TEMP TABLE {raw} ({string.Join(", ", columns.Select(c => Quote(c) + " VARCHAR"))})");
            using var appender = db.CreateAppender(raw);
            foreach (var (id, values) in _fields.ReadFields())
            {
                var row = appender.CreateRow().AppendValue(id);
                foreach (var v in values) row.AppendValue(string.IsNullOrEmpty(v) ? null : v);
                row.EndRow();
            }
        }
        else
        {
            using var reader = DelimitedText.Open(Path, What);
            columns = [.. DelimitedText.Header(reader)];
            Exec(db, $"CREATE TEMP TABLE {raw} ({string.Join(", ", columns.Select(c => Quote(c) + " VARCHAR"))})");
            using var appender = db.CreateAppender(raw);
            int rows = 0;
            foreach (var line in reader)
            {
                if (DelimitedText.IsBlank(line)) continue;
                DelimitedText.CheckCells(line, columns.Count, ++rows, Path, What);
                var row = appender.CreateRow();
                for (int c = 0; c < line.ColCount; c++)
                {
                    var cell = line[c].Span;
                    row.AppendValue(cell.IsEmpty ? null : cell.ToString());
                }
                row.EndRow();
            }
        }
        Exec(db, $"CREATE TEMP TABLE {table} AS SELECT {string.Join(", ", columns.Select(c => $"{Typed(db, raw, c)} AS {Quote(c)}"))} FROM {raw}");
        Exec(db, $"DROP TABLE {raw}");
        return columns;
    }

    /// <summary>The column as its values' type: BIGINT when all are whole numbers, DOUBLE when all are numbers, BOOLEAN when all are true/false, else text.</summary>
    static string Typed(DuckDBConnection db, string table, string column)
    {
        string c = Quote(column);
        using var cmd = db.CreateCommand();
        cmd.CommandText = $"""
            SELECT count({c}),
                   count(*) FILTER (WHERE regexp_full_match({c}, '[+-]?[0-9]+') AND TRY_CAST({c} AS BIGINT) IS NOT NULL),
                   count(TRY_CAST({c} AS DOUBLE)),
                   count(*) FILTER (WHERE lower({c}) IN ('true', 'false'))
            FROM {table}
            """;
        using var r = cmd.ExecuteReader();
        r.Read();
        long values = r.GetInt64(0);
        if (values == 0) return c;
        if (r.GetInt64(1) == values) return $"CAST({c} AS BIGINT)";
        if (r.GetInt64(2) == values) return $"CAST({c} AS DOUBLE)";
        if (r.GetInt64(3) == values) return $"CAST({c} AS BOOLEAN)";
        return c;
    }

    /// <summary>Adds the file's columns to the samples table; a column named like one of <paramref name="existing"/> becomes <c>meta_NAME</c>.</summary>
    internal IReadOnlyList<string> JoinInto(DuckDBConnection db, IReadOnlyList<string> existing, Action<string>? warn)
    {
        var builtIn = new HashSet<string>(existing, StringComparer.OrdinalIgnoreCase);
        var names = Columns.Select(c => builtIn.Contains(c) ? "meta_" + c : c).ToArray();
        string select = string.Join(", ", Columns.Select((c, i) => $"m.{Quote(c)} AS {Quote(names[i])}"));
        string on = Key.Equals(SampleKeys.Index, StringComparison.OrdinalIgnoreCase)
            ? $"s.{Quote(SampleKeys.Index)} = TRY_CAST(m.{Quote(Key)} AS BIGINT)"
            : $"s.{Quote(SampleKeys.Id)} = CAST(m.{Quote(Key)} AS VARCHAR)";
        try
        {
            Load(db, "user_meta");
            if (_fields != null)
            {
                using var dup = db.CreateCommand();
                dup.CommandText = $"SELECT {Quote(Key)}, count(*) FROM user_meta GROUP BY 1 HAVING count(*) > 1 LIMIT 1";
                using var d = dup.ExecuteReader();
                if (d.Read()) throw new PerceptException($"{Path} has {d.GetInt64(1)} samples with id '{d.GetValue(0)}'; each sample's id must be its own");
            }
            // A dataset's own fields also name the samples it skipped (undecodable images): they match none, and say nothing.
            if (_fields == null)
            {
                long unmatched = Scalar(db, $"SELECT count(*) FROM user_meta m WHERE NOT EXISTS (SELECT 1 FROM samples s WHERE {on})");
                if (unmatched > 0) warn?.Invoke($"{unmatched} metadata row(s) in {System.IO.Path.GetFileName(Path)} match no sample ({Key} not found)");
            }
            Exec(db, $"CREATE TABLE samples_joined AS SELECT s.*{(select.Length > 0 ? ", " + select : "")} FROM samples s LEFT JOIN user_meta m ON {on} ORDER BY s.{Quote(SampleKeys.Index)}");
            Exec(db, "DROP TABLE samples");
            Exec(db, "ALTER TABLE samples_joined RENAME TO samples");
            Exec(db, "DROP TABLE user_meta");
        }
        catch (DbException e) { throw new PerceptException($"cannot join metadata file {Path}: {e.Message.Split('\n')[0]}"); }
        return names;
    }

    static void Exec(DuckDBConnection db, string sql)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    static long Scalar(DuckDBConnection db, string sql)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        return Convert.ToInt64(cmd.ExecuteScalar());
    }
}
