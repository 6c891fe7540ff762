using System.Data.Common;
using Apache.Arrow;
using Apache.Arrow.Ipc;
using DuckDB.NET.Data;

namespace Percept.Data;

/// <summary>
/// A columnar table read as Arrow record batches: a Parquet file or folder of Parquet shards (through DuckDB, which reads
/// row group by row group), or an Arrow IPC file or stream. A reader holds one record batch at a time, never the whole
/// table; each batch it yields is disposed when the next one is asked for.
/// </summary>
internal abstract class RecordBatchSource : IDisposable
{
    /// <summary>The table's columns.</summary>
    public abstract Schema Schema { get; }

    /// <summary>The file's key-value metadata (Parquet's, or the Arrow schema's): where Hugging Face keeps its features.</summary>
    public abstract IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Rows in the table.</summary>
    public abstract long Rows { get; }

    /// <summary>What the source is, for messages ("Parquet x.parquet").</summary>
    public abstract string Name { get; }

    /// <summary>The named columns' record batches, from row <paramref name="first"/> to the end, in table order.</summary>
    public abstract IEnumerable<RecordBatch> Read(IReadOnlyList<string> columns, long first, CancellationToken cancellationToken);

    public virtual void Dispose() { }

    /// <summary>Opens a Parquet file, a folder of Parquet files or an Arrow IPC file (by its extension or a folder's files).</summary>
    /// <exception cref="PerceptException">The file cannot be read as such.</exception>
    public static RecordBatchSource Open(string path) =>
        IsArrow(path) ? new ArrowIpcSource(path) : new ParquetSource(path);

    /// <summary>Whether <paramref name="path"/> names an Arrow IPC file (<c>.arrow</c>, <c>.feather</c>, <c>.ipc</c>, <c>.arrows</c>).</summary>
    public static bool IsArrow(string path) =>
        File.Exists(path) && Path.GetExtension(path).ToLowerInvariant() is ".arrow" or ".feather" or ".ipc" or ".arrows";

    /// <summary>Whether <paramref name="path"/> names a Parquet file, or a folder holding Parquet files (and no sub-folders of images).</summary>
    public static bool IsParquet(string path) =>
        File.Exists(path) ? Path.GetExtension(path).Equals(".parquet", StringComparison.OrdinalIgnoreCase)
        : Directory.Exists(path) && Directory.EnumerateFiles(path, "*.parquet").Any();
}

/// <summary>
/// A Parquet file, or the Parquet files of a folder in name order (a sharded dataset), read through DuckDB: its count
/// and key-value metadata from the footers, its rows streamed as Arrow record batches of DuckDB's vector size.
/// </summary>
internal sealed class ParquetSource : RecordBatchSource
{
    readonly string _files;
    readonly string _first;

    public override Schema Schema { get; }
    public override IReadOnlyDictionary<string, string> Metadata { get; }
    public override long Rows { get; }
    public override string Name { get; }

    public ParquetSource(string path)
    {
        var files = Directory.Exists(path)
            ? Directory.GetFiles(path, "*.parquet").Order(StringComparer.Ordinal).ToArray()
            : File.Exists(path) ? [Path.GetFullPath(path)] : throw new PerceptException($"file not found: {path}");
        if (files.Length == 0) throw new PerceptException($"no .parquet files in {path}");
        _first = files[0];
        _files = "[" + string.Join(", ", files.Select(Literal)) + "]";
        Name = files.Length == 1 ? $"Parquet {Path.GetFileName(files[0])}" : $"Parquet {path} ({files.Length} files)";
        using var db = Connect();
        try
        {
            Rows = Convert.ToInt64(Scalar(db, $"SELECT count(*) FROM read_parquet({_files})"));
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            using (var cmd = db.CreateCommand())
            {
                cmd.CommandText = $"SELECT decode(key), decode(value) FROM parquet_kv_metadata({Literal(_first)})";
                using var r = cmd.ExecuteReader();
                while (r.Read()) metadata.TryAdd(r.GetString(0), r.GetString(1));
            }
            Metadata = metadata;
            using var schema = db.CreateCommand();
            schema.CommandText = $"SELECT * FROM read_parquet({_files}) LIMIT 0";
            using var stream = schema.ExecuteArrowStream();
            Schema = stream.Schema;
        }
        catch (DbException e) { throw new PerceptException($"cannot read {path} as Parquet: {e.Message.Split('\n')[0]}"); }
    }

    static string Literal(string text) => "'" + text.Replace("'", "''") + "'";

    static DuckDBConnection Connect()
    {
        var db = new DuckDBConnection("Data Source=:memory:");
        db.Open();
        return db;
    }

    static object? Scalar(DuckDBConnection db, string sql)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        return cmd.ExecuteScalar();
    }

    public override IEnumerable<RecordBatch> Read(IReadOnlyList<string> columns, long first, CancellationToken cancellationToken)
    {
        using var db = Connect();
        using var cmd = db.CreateCommand();
        // Insertion order is kept (DuckDB's default), so rows come in file and row order.
        cmd.CommandText = $"SELECT {string.Join(", ", columns.Select(c => "\"" + c.Replace("\"", "\"\"") + "\""))} FROM read_parquet({_files})"
                          + (first > 0 ? $" OFFSET {first}" : "");
        cmd.UseStreamingMode = true;
        IArrowArrayStream stream;
        try { stream = cmd.ExecuteArrowStream(); }
        catch (DbException e) { throw new PerceptException($"cannot read {Name}: {e.Message.Split('\n')[0]}"); }
        using (stream)
        {
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                RecordBatch? batch;
                try { batch = stream.ReadNextRecordBatchAsync(cancellationToken).AsTask().GetAwaiter().GetResult(); }
                catch (DbException e) { throw new PerceptException($"cannot read {Name}: {e.Message.Split('\n')[0]}"); }
                if (batch == null) yield break;
                using (batch) yield return batch;
            }
        }
    }
}

/// <summary>
/// An Arrow IPC file (the random-access format, "ARROW1") or stream (as Hugging Face's <c>datasets</c> caches), read a
/// record batch at a time. Counting its rows reads it once when opened.
/// </summary>
internal sealed class ArrowIpcSource : RecordBatchSource
{
    readonly string _path;

    public override Schema Schema { get; }
    public override IReadOnlyDictionary<string, string> Metadata { get; }
    public override long Rows { get; }
    public override string Name { get; }

    public ArrowIpcSource(string path)
    {
        if (!File.Exists(path)) throw new PerceptException($"file not found: {path}");
        _path = path;
        Name = $"Arrow {Path.GetFileName(path)}";
        long rows = 0;
        Schema? schema = null;
        foreach (var batch in Batches(s => schema = s, CancellationToken.None)) rows += batch.Length;
        Schema = schema!;
        Rows = rows;
        Metadata = Schema.Metadata ?? new Dictionary<string, string>();
    }

    /// <summary>The file's record batches; <paramref name="onSchema"/> gets the schema first.</summary>
    IEnumerable<RecordBatch> Batches(Action<Schema>? onSchema, CancellationToken cancellationToken)
    {
        var file = File.OpenRead(_path);
        ArrowStreamReader reader;
        try
        {
            Span<byte> magic = stackalloc byte[6];
            bool isFile = file.Read(magic) == 6 && magic.SequenceEqual("ARROW1"u8);
            file.Position = 0;
            reader = isFile ? new ArrowFileReader(file) : new ArrowStreamReader(file);
            onSchema?.Invoke(reader.Schema ?? throw new InvalidDataException("no schema"));
        }
        catch (Exception e) when (IsUnreadable(e))
        {
            file.Dispose();
            throw new PerceptException($"{_path} is not a readable Arrow IPC file: {e.Message.Split('\n')[0]}");
        }
        using (file)
        using (reader)
        {
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                RecordBatch? batch;
                try { batch = reader.ReadNextRecordBatch(); }
                catch (Exception e) when (IsUnreadable(e))
                {
                    throw new PerceptException($"{_path} is not a readable Arrow IPC file: {e.Message.Split('\n')[0]}");
                }
                if (batch == null) yield break;
                using (batch) yield return batch;
            }
        }
    }

    /// <summary>What Apache.Arrow throws on a file that is not Arrow IPC, or is damaged or compressed.</summary>
    static bool IsUnreadable(Exception e) => e is InvalidDataException or IOException or ArgumentException or InvalidOperationException
        or IndexOutOfRangeException or OverflowException or NotSupportedException;

    public override IEnumerable<RecordBatch> Read(IReadOnlyList<string> columns, long first, CancellationToken cancellationToken)
    {
        long seen = 0;
        var indices = columns.Select(c => Schema.GetFieldIndex(c, StringComparer.Ordinal)).ToArray();
        foreach (var batch in Batches(null, cancellationToken))
        {
            long start = seen;
            seen += batch.Length;
            if (seen <= first) continue;
            var selected = new RecordBatch(new Schema(indices.Select(i => Schema.GetFieldByIndex(i)), null), indices.Select(i => batch.Column(i)), batch.Length);
            // A batch that starts before the first row asked for is sliced to it.
            yield return start >= first ? selected : selected.Slice((int)(first - start), (int)(seen - first));
        }
    }
}
