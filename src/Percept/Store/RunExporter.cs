using System.Globalization;
using DuckDB.NET.Data;
using Percept.IO;

namespace Percept.Store;

/// <summary>
/// Writes one field of a run to <c>.npy</c>, <c>.csv</c> or <c>.parquet</c>, rows in dataset order (all, or a range):
/// the contract that users and tests rely on. Matrix fields export as they are stored (float32 or int32); columns of the
/// samples table as float32 (NaN for none) or, when they hold whole numbers or true/false, as int64 (−1 for none);
/// <c>metadata</c> is the whole samples table (CSV or Parquet). Fields larger than memory are copied block by block.
/// </summary>
public static class RunExporter
{
    /// <summary>The name that exports the whole samples table.</summary>
    public const string Table = "metadata";

    /// <summary>Writes <paramref name="field"/> of <paramref name="run"/> to <paramref name="outPath"/> (format from the extension).</summary>
    /// <param name="rows">Rows to export, a range of sample indices (all when null).</param>
    /// <exception cref="PerceptException">An unknown field, a range outside the run, a format that does not fit the field.</exception>
    /// <returns>The rows written.</returns>
    public static int Export(Run run, string field, string outPath, Range? rows = null)
    {
        string ext = Path.GetExtension(outPath).ToLowerInvariant();
        if (ext is not (".npy" or ".csv" or ".parquet"))
            throw new PerceptException($"{outPath}: use a .npy, .csv or .parquet file name");
        var (start, count) = Rows(rows, run.Count);
        string full = Path.GetFullPath(outPath);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        string tmp = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Environment.ProcessId}.tmp{ext}");
        try
        {
            int written = WriteTo(run, field, ext, tmp, start, count);
            File.Move(tmp, full, overwrite: true);
            return written;
        }
        finally { if (File.Exists(tmp)) File.Delete(tmp); }
    }

    /// <summary>The offset and length of <paramref name="rows"/> among <paramref name="count"/> samples.</summary>
    /// <exception cref="PerceptException">A range that is not inside the samples (or that ends before it starts).</exception>
    static (int Start, int Count) Rows(Range? rows, int count)
    {
        if (rows is not { } r) return (0, count);
        int start = r.Start.IsFromEnd ? count - r.Start.Value : r.Start.Value, end = r.End.IsFromEnd ? count - r.End.Value : r.End.Value;
        if (start < 0 || end > count || start > end)
            throw new PerceptException($"rows {start}:{end} are not inside the run's {count} samples (0:{count})");
        return (start, end - start);
    }

    /// <summary>
    /// The matrix field named <paramref name="name"/>: a field of the run, or <c>layer:NAME</c> with the layer's name, node or
    /// tensor; null when the run has no such matrix field.
    /// </summary>
    public static FieldEntry? FindMatrix(Run run, string name)
    {
        if (run.Find(name) is { Layout: FieldLayout.Matrix } entry) return entry;
        if (name.IndexOf(':', StringComparison.Ordinal) is int colon and > 0)
        {
            string member = name[(colon + 1)..];
            string family = name[..colon];
            var layers = run.Manifest.Perception.Layers;
            if (layers.Count > 0 && family == layers[0].Field[..layers[0].Field.IndexOf(':', StringComparison.Ordinal)])
            {
                var layer = layers.FirstOrDefault(l => l.Name == member || l.Node == member || l.Tensor == member)
                    ?? throw new PerceptException($"run has no layer '{member}' (layers: {string.Join(", ", layers.Select(l => l.Name))})");
                return run.Find(layer.Field);
            }
        }
        return null;
    }

    /// <summary>Every name <see cref="Export"/> takes for this run.</summary>
    public static IReadOnlyList<string> Names(Run run)
    {
        using var table = run.OpenSamples();
        return [.. run.Fields.Where(f => f.Layout == FieldLayout.Matrix).Select(f => f.Name), .. table.Columns.Select(c => c.Name), Table];
    }

    static int WriteTo(Run run, string field, string ext, string path, int start, int count)
    {
        if (FindMatrix(run, field) is { } entry)
        {
            using var reader = run.Open(entry);
            // A run-wide field (a layer's statistics) has its own rows, not one per sample.
            if (!entry.PerSample)
            {
                if (count != run.Count) throw new PerceptException($"'{field}' is not one row per sample; export it whole (without a row range)");
                (start, count) = (0, reader.Rows);
            }
            if (ext == ".npy") CopyMatrix(reader, path, start, count);
            else if (ext == ".csv") WriteMatrixCsv(reader, path, start, count);
            else WriteMatrixParquet(reader, path, start, count);
            return count;
        }
        using var table = run.OpenSamples();
        if (field == Table)
        {
            if (ext == ".npy") throw new PerceptException($"{Table} is a table; export it to .csv or .parquet");
            table.Export(path, ext == ".parquet", null, start, count);
            return count;
        }
        var column = table.Columns.FirstOrDefault(c => c.Name == field)
            ?? throw new PerceptException($"unknown field '{field}'; this run's fields: {string.Join(", ", Names(run))}");
        if (ext != ".npy") { table.Export(path, ext == ".parquet", [field], start, count); return count; }
        if (column.Type is FieldType.Int32 or FieldType.Int64 or FieldType.Bool)
        {
            var values = table.ReadInt32(field, -1);
            Npy.Write(path, values.AsSpan(start, count).ToArray().Select(v => (long)v).ToArray(), count);
        }
        else if (column.Type == FieldType.Text) throw new PerceptException($"'{field}' holds text; export it to .csv or .parquet");
        else Npy.Write(path, table.ReadFloat32(field).AsSpan(start, count), count);
        return count;
    }

    /// <summary>Rows copied at a time: enough to stream, little enough to hold (a block of 4,096-wide rows is 64 MB).</summary>
    const int Block = 4096;

    static void CopyMatrix(FieldReader reader, string path, int start, int count)
    {
        bool scalar = reader.Entry.Kind is FieldKind.Number or FieldKind.Count or FieldKind.Category;
        bool ints = reader.Entry.Type == FieldType.Int32;
        using var writer = new NpyWriter(path, ints ? NpyType.Int32 : NpyType.Float32, scalar ? [] : [reader.Columns]);
        var floats = ints ? [] : new float[Block * reader.Columns];
        var integers = ints ? new int[Block * reader.Columns] : [];
        for (int done = 0; done < count; done += Block)
        {
            int n = Math.Min(Block, count - done);
            if (ints)
            {
                reader.Read(start + done, n, integers);
                writer.WriteRows(System.Runtime.InteropServices.MemoryMarshal.AsBytes(integers.AsSpan(0, n * reader.Columns)));
            }
            else
            {
                reader.Read(start + done, n, floats);
                writer.WriteRows(floats.AsSpan(0, n * reader.Columns));
            }
        }
    }

    static float[] ReadBlock(FieldReader reader, int start, int n)
    {
        var values = new float[n * reader.Columns];
        if (reader.Entry.Type == FieldType.Int32)
        {
            var ints = new int[values.Length];
            reader.Read(start, n, ints);
            for (int i = 0; i < ints.Length; i++) values[i] = ints[i];
        }
        else reader.Read(start, n, values);
        return values;
    }

    static void WriteMatrixCsv(FieldReader reader, string path, int start, int count)
    {
        int cols = reader.Columns;
        using var w = new StreamWriter(path);
        w.WriteLine("index," + string.Join(",", Enumerable.Range(0, cols).Select(j => "f" + j)));
        var line = new System.Text.StringBuilder();
        for (int done = 0; done < count; done += Block)
        {
            int n = Math.Min(Block, count - done);
            var data = ReadBlock(reader, start + done, n);
            for (int r = 0; r < n; r++)
            {
                line.Clear().Append(start + done + r);
                for (int j = 0; j < cols; j++) line.Append(',').Append(data[r * cols + j].ToString("R", CultureInfo.InvariantCulture));
                w.WriteLine(line);
            }
        }
    }

    static void WriteMatrixParquet(FieldReader reader, string path, int start, int count)
    {
        int cols = reader.Columns;
        using var db = new DuckDBConnection("Data Source=:memory:");
        db.Open();
        using (var cmd = db.CreateCommand())
        {
            cmd.CommandText = "CREATE TABLE m (\"index\" BIGINT, " + string.Join(", ", Enumerable.Range(0, cols).Select(j => $"f{j} FLOAT")) + ")";
            cmd.ExecuteNonQuery();
        }
        using (var app = db.CreateAppender("m"))
            for (int done = 0; done < count; done += Block)
            {
                int n = Math.Min(Block, count - done);
                var data = ReadBlock(reader, start + done, n);
                for (int r = 0; r < n; r++)
                {
                    var row = app.CreateRow().AppendValue((long)(start + done + r));
                    for (int j = 0; j < cols; j++) row = row.AppendValue(data[r * cols + j]);
                    row.EndRow();
                }
            }
        using var copy = db.CreateCommand();
        copy.CommandText = $"COPY m TO '{path.Replace("'", "''")}' (FORMAT parquet)";
        copy.ExecuteNonQuery();
    }
}
