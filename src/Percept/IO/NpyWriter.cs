using System.Runtime.InteropServices;

namespace Percept.IO;

/// <summary>
/// Streams rows into an <c>.npy</c> file whose row count is known only at the end: the header is written with a fixed
/// length and rewritten with the final shape by <see cref="Dispose"/>. Disposing the writer owns and closes the file.
/// </summary>
public sealed class NpyWriter : IDisposable
{
    readonly FileStream _stream;
    readonly NpyType _type;
    readonly long[] _rowShape;
    readonly long _rowBytes;
    long _rows;
    bool _disposed;

    /// <param name="path">File to create (overwritten if present).</param>
    /// <param name="type">Element type.</param>
    /// <param name="rowShape">Shape of one row (empty for a vector).</param>
    public NpyWriter(string path, NpyType type, long[] rowShape)
    {
        _type = type;
        _rowShape = rowShape;
        _rowBytes = Npy.ItemSize(type) * rowShape.Aggregate(1L, (a, b) => a * b);
        _stream = new FileStream(path, FileMode.Create, FileAccess.ReadWrite, FileShare.Read, 1 << 16);
        _stream.Write(Npy.BuildHeader(type, [0, .. rowShape]));
    }

    /// <summary>Rows written so far.</summary>
    public long Rows => _rows;

    /// <summary>Appends whole rows given as float32 values (the writer must be float32).</summary>
    public void WriteRows(ReadOnlySpan<float> values)
    {
        if (_type != NpyType.Float32) throw new InvalidOperationException("writer is not float32");
        WriteRows(MemoryMarshal.AsBytes(values));
    }

    /// <summary>Appends whole rows given as raw little-endian bytes of the writer's element type.</summary>
    public void WriteRows(ReadOnlySpan<byte> bytes)
    {
        if (_rowBytes == 0 || bytes.Length % _rowBytes != 0)
            throw new ArgumentException($"{bytes.Length} bytes is not a whole number of {_rowBytes}-byte rows");
        _stream.Write(bytes);
        _rows += bytes.Length / _rowBytes;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        try
        {
            _stream.Position = 0;
            _stream.Write(Npy.BuildHeader(_type, [_rows, .. _rowShape]));
            _stream.Flush();
        }
        finally { _stream.Dispose(); }
    }
}
