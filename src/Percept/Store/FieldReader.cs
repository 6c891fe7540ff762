using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Percept.IO;

namespace Percept.Store;

/// <summary>
/// Reads a matrix field of a run by row range, whatever its size: rows are copied from the file straight into the
/// caller's span (positioned reads, safe from many threads at once), so a field larger than memory — or than the
/// 2³¹ values one .NET array holds — streams, and only what is read counts against the process's memory. (A memory
/// map would do the same, but every page it touched would count in the process's resident memory until unmapped.)
/// Disposing the reader closes the file; a span filled before stays the caller's.
/// </summary>
public sealed class FieldReader : IRowSource, IDisposable
{
    readonly SafeFileHandle _file;
    readonly long _dataOffset;
    readonly int _itemSize;

    internal FieldReader(FieldEntry entry, string path)
    {
        Entry = entry;
        var header = Npy.ReadHeader(path);
        var expected = entry.Type switch
        {
            FieldType.Float32 => NpyType.Float32,
            FieldType.Int32 => NpyType.Int32,
            _ => throw new PerceptException($"field '{entry.Name}' is not a matrix of numbers"),
        };
        if (header.Type != expected || header.Shape.Length is 0 or > 2)
            throw new PerceptException($"field '{entry.Name}' of this run is damaged: its file holds {header.Type} {header.ShapeText}");
        long rows = header.Shape[0], width = header.Shape.Length > 1 ? header.Shape[1] : 1;
        if (rows != entry.Rows || width != Math.Max(1, entry.Width))
            throw new PerceptException($"field '{entry.Name}' of this run is damaged: {rows} × {width} values where the manifest records {entry.Rows} × {Math.Max(1, entry.Width)}");
        Rows = checked((int)rows);
        Columns = (int)width;
        _dataOffset = header.DataOffset;
        _itemSize = header.ItemSize;
        _file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.RandomAccess);
    }

    /// <summary>The field as the manifest records it.</summary>
    public FieldEntry Entry { get; }
    public int Rows { get; }
    /// <summary>Values per row.</summary>
    public int Columns { get; }
    /// <summary>Values in the field; may exceed what one array holds.</summary>
    public long Elements => (long)Rows * Columns;

    /// <inheritdoc/>
    public void Read(int start, int count, Span<float> destination)
    {
        if (Entry.Type != FieldType.Float32) throw new InvalidOperationException($"field '{Entry.Name}' holds {Entry.Type}, not float32");
        destination = destination[..checked(count * Columns)];
        // In pieces of at most 2^28 values: a span's bytes must stay countable in an int.
        for (int done = 0, rows = PieceRows; done < count; done += rows)
        {
            int n = Math.Min(rows, count - done);
            ReadRaw(start + done, n, MemoryMarshal.AsBytes(destination.Slice(done * Columns, n * Columns)));
        }
    }

    /// <summary>Rows read in one piece: at most 2^28 values.</summary>
    int PieceRows => Math.Max(1, (1 << 28) / Columns);

    /// <summary>Copies <paramref name="count"/> rows of an int32 field from <paramref name="start"/>.</summary>
    public void Read(int start, int count, Span<int> destination)
    {
        if (Entry.Type != FieldType.Int32) throw new InvalidOperationException($"field '{Entry.Name}' holds {Entry.Type}, not int32");
        destination = destination[..checked(count * Columns)];
        for (int done = 0, rows = PieceRows; done < count; done += rows)
        {
            int n = Math.Min(rows, count - done);
            ReadRaw(start + done, n, MemoryMarshal.AsBytes(destination.Slice(done * Columns, n * Columns)));
        }
    }

    /// <summary>Copies row <paramref name="row"/> of a float32 field.</summary>
    public void ReadRow(int row, Span<float> destination) => Read(row, 1, destination);

    /// <summary>The whole field in memory (float32), for fields that fit one array.</summary>
    /// <exception cref="PerceptException">The field holds more values than one array can (read it by row range).</exception>
    public float[] ReadAll()
    {
        var values = new float[CheckedLength()];
        Read(0, Rows, values);
        return values;
    }

    /// <summary>The whole int32 field in memory.</summary>
    public int[] ReadAllInt32()
    {
        var values = new int[CheckedLength()];
        Read(0, Rows, values);
        return values;
    }

    /// <summary>The whole float32 field as a matrix.</summary>
    public Matrix ReadMatrix() => new(ReadAll(), Rows, Columns);

    int CheckedLength() => Elements <= Array.MaxLength ? (int)Elements
        : throw new PerceptException($"field '{Entry.Name}' holds {Elements:N0} values, more than one array holds; read it by row range");

    void ReadRaw(int start, int count, Span<byte> destination)
    {
        if (start < 0 || count < 0 || (long)start + count > Rows)
            throw new ArgumentOutOfRangeException(nameof(start), $"rows {start}..{(long)start + count} are outside field '{Entry.Name}' (0..{Rows})");
        long offset = _dataOffset + (long)start * Columns * _itemSize;
        while (!destination.IsEmpty)
        {
            int got = RandomAccess.Read(_file, destination, offset);
            if (got <= 0) throw new PerceptException($"field '{Entry.Name}' of this run is truncated");
            destination = destination[got..];
            offset += got;
        }
    }

    public void Dispose() => _file.Dispose();
}

/// <summary>
/// Appends rows to a matrix field of the run being written. The field is recorded in the run when the writer is
/// disposed, with the rows written; the writer owns its file until then.
/// </summary>
public sealed class FieldWriter : IDisposable
{
    readonly NpyWriter _npy;
    readonly Action<FieldWriter> _closed;
    bool _disposed;

    internal FieldWriter(Field field, int width, string path, Action<FieldWriter> closed)
    {
        if (field.Layout != FieldLayout.Matrix || field.Type is not (FieldType.Float32 or FieldType.Int32))
            throw new ArgumentException($"field '{field.Name}' is not a float32 or int32 matrix", nameof(field));
        if (width < 1) throw new ArgumentOutOfRangeException(nameof(width), $"field '{field.Name}' needs a width of at least 1");
        Field = field;
        Width = width;
        _closed = closed;
        // A number per sample is a vector (N,), as NumPy users expect; anything wider a matrix (N, width).
        bool scalar = field.Kind is FieldKind.Number or FieldKind.Count or FieldKind.Category;
        if (scalar && width != 1) throw new ArgumentException($"field '{field.Name}' holds one value per row, not {width}", nameof(width));
        _npy = new NpyWriter(path, field.Type == FieldType.Float32 ? NpyType.Float32 : NpyType.Int32, scalar ? [] : [width]);
    }

    public Field Field { get; }
    /// <summary>Values per row.</summary>
    public int Width { get; }
    /// <summary>Rows written so far.</summary>
    public long Rows => _npy.Rows;

    /// <summary>Appends whole rows of a float32 field.</summary>
    public void Append(ReadOnlySpan<float> rows)
    {
        if (Field.Type != FieldType.Float32) throw new InvalidOperationException($"field '{Field.Name}' holds {Field.Type}, not float32");
        Check(rows.Length);
        // In pieces of at most 2^28 values: a span's bytes must stay countable in an int.
        for (int done = 0; done < rows.Length; done += Piece) _npy.WriteRows(MemoryMarshal.AsBytes(rows.Slice(done, Math.Min(Piece, rows.Length - done))));
    }

    /// <summary>Values written in one piece: whole rows, at most about 2^28 values.</summary>
    int Piece => Math.Max(1, (1 << 28) / Width) * Width;

    /// <summary>Appends whole rows of an int32 field.</summary>
    public void Append(ReadOnlySpan<int> rows)
    {
        if (Field.Type != FieldType.Int32) throw new InvalidOperationException($"field '{Field.Name}' holds {Field.Type}, not int32");
        Check(rows.Length);
        for (int done = 0; done < rows.Length; done += Piece) _npy.WriteRows(MemoryMarshal.AsBytes(rows.Slice(done, Math.Min(Piece, rows.Length - done))));
    }

    void Check(int values)
    {
        if (values % Width != 0) throw new ArgumentException($"{values} values are not whole rows of field '{Field.Name}' ({Width} per row)");
    }

    /// <summary>Finishes the file and records the field in the run being written.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _npy.Dispose();
        _closed(this);
    }
}
