using System.Data.Common;
using DuckDB.NET.Data;

namespace Percept.Store;

/// <summary>
/// A user's CSV or Parquet file of per-sample metadata, read with DuckDB and joined to the samples on an
/// <c>index</c> column (the sample's position) or an <c>id</c> column (the sample's id). Validated when opened, so
/// a bad file fails before any analysis work.
/// </summary>
public sealed class MetadataFile
{
    public string Path { get; }

    /// <summary>Join column: <c>index</c> or <c>id</c>.</summary>
    public string Key { get; }

    /// <summary>Columns other than the key, as named in the file.</summary>
    public IReadOnlyList<string> Columns { get; }

    public MetadataFile(string path)
    {
        if (!File.Exists(path)) throw new PerceptException($"metadata file not found: {path}");
        Path = System.IO.Path.GetFullPath(path);
        if (path.EndsWith(".csv", StringComparison.OrdinalIgnoreCase)) CheckRectangular(path);
        using var db = new DuckDBConnection("Data Source=:memory:");
        db.Open();
        try
        {
            var cols = new List<string>();
            using (var cmd = db.CreateCommand())
            {
                cmd.CommandText = $"DESCRIBE SELECT * FROM {Source}";
                using var r = cmd.ExecuteReader();
                while (r.Read()) cols.Add(r.GetString(0));
            }
            Key = cols.FirstOrDefault(c => c.Equals(SampleKeys.Index, StringComparison.OrdinalIgnoreCase))
                  ?? cols.FirstOrDefault(c => c.Equals(SampleKeys.Id, StringComparison.OrdinalIgnoreCase))
                  ?? throw new PerceptException($"metadata file {path} needs an '{SampleKeys.Index}' or '{SampleKeys.Id}' column to join on (it has: {string.Join(", ", cols)})");
            Columns = cols.Where(c => c != Key).ToArray();
            using var dup = db.CreateCommand();
            dup.CommandText = $"SELECT CAST(\"{Key}\" AS VARCHAR), count(*) FROM {Source} GROUP BY 1 HAVING count(*) > 1 LIMIT 1";
            using var d = dup.ExecuteReader();
            if (d.Read()) throw new PerceptException($"metadata file {path} has {d.GetInt64(1)} rows for {Key} '{d.GetValue(0)}'; each sample may appear once");
        }
        catch (DbException e) { throw new PerceptException($"cannot read metadata file {path}: {e.Message.Split('\n')[0]}"); }
    }

    string Source
    {
        get
        {
            string quoted = "'" + Path.Replace("'", "''") + "'";
            return Path.EndsWith(".parquet", StringComparison.OrdinalIgnoreCase) ? $"read_parquet({quoted})" : $"read_csv_auto({quoted})";
        }
    }

    /// <summary>Adds the file's columns to the samples table; a column named like one of <paramref name="existing"/> becomes <c>meta_NAME</c>.</summary>
    internal IReadOnlyList<string> JoinInto(DuckDBConnection db, IReadOnlyList<string> existing, Action<string>? warn)
    {
        var builtIn = new HashSet<string>(existing, StringComparer.OrdinalIgnoreCase);
        var names = Columns.Select(c => builtIn.Contains(c) ? "meta_" + c : c).ToArray();
        string select = string.Join(", ", Columns.Select((c, i) => $"m.\"{c.Replace("\"", "\"\"")}\" AS \"{names[i].Replace("\"", "\"\"")}\""));
        string on = Key.Equals(SampleKeys.Index, StringComparison.OrdinalIgnoreCase)
            ? $"s.\"{SampleKeys.Index}\" = TRY_CAST(m.\"{Key}\" AS BIGINT)"
            : $"s.\"{SampleKeys.Id}\" = CAST(m.\"{Key}\" AS VARCHAR)";
        try
        {
            Exec(db, $"CREATE TEMP TABLE user_meta AS SELECT * FROM {Source}");
            long unmatched = Scalar(db, $"SELECT count(*) FROM user_meta m WHERE NOT EXISTS (SELECT 1 FROM samples s WHERE {on})");
            if (unmatched > 0) warn?.Invoke($"{unmatched} metadata row(s) in {System.IO.Path.GetFileName(Path)} match no sample ({Key} not found)");
            Exec(db, $"CREATE TABLE samples_joined AS SELECT s.*{(select.Length > 0 ? ", " + select : "")} FROM samples s LEFT JOIN user_meta m ON {on} ORDER BY s.\"{SampleKeys.Index}\"");
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

    /// <summary>
    /// A CSV whose rows do not all have the header's number of cells is reported as such (DuckDB would otherwise read it
    /// as one column and report a missing 'index').
    /// </summary>
    static void CheckRectangular(string path)
    {
        int expected = -1, row = 0;
        foreach (var line in File.ReadLines(path))
        {
            if (line.Length == 0) continue;
            int cells = 1;
            bool quoted = false;
            foreach (char c in line)
            {
                if (c == '"') quoted = !quoted;
                else if (c == ',' && !quoted) cells++;
            }
            if (expected < 0) expected = cells;
            else if (cells != expected)
                throw new PerceptException($"metadata file {path}: row {row} has {cells} cells; the header has {expected}");
            row++;
        }
    }
}
