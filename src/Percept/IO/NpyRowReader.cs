using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Percept.IO;

/// <summary>
/// Random access to the rows of an <c>.npy</c> file, converting elements to float32 or int64 on the way.
/// Reads through a buffered file stream so that a dataset larger than memory can be streamed in batches.
/// </summary>
internal sealed class NpyRowReader : IDisposable
{
    readonly FileStream _stream;

    public NpyHeader Header { get; }
    public string Path { get; }

    public NpyRowReader(string path) : this(path, Npy.ReadHeader(path)) { }

    internal NpyRowReader(string path, NpyHeader header)
    {
        Path = path;
        Header = header;
        _stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
    }

    /// <summary>Number of rows (first axis).</summary>
    public long Rows => Header.Shape.Length == 0 ? 1 : Header.Shape[0];

    /// <summary>Reads <paramref name="count"/> rows starting at <paramref name="start"/> into <paramref name="destination"/>.</summary>
    public void ReadRowsAsFloat(long start, int count, Span<float> destination)
    {
        long n = count * Header.RowLength;
        if (destination.Length < n) throw new ArgumentException("destination too small");
        var dest = destination[..(int)n];
        if (Header.Type == NpyType.Float32) { ReadRaw(start, MemoryMarshal.AsBytes(dest)); return; }
        byte[] raw = ArrayPool<byte>.Shared.Rent(checked((int)(n * Header.ItemSize)));
        try
        {
            var src = raw.AsSpan(0, (int)(n * Header.ItemSize));
            ReadRaw(start, src);
            switch (Header.Type)
            {
                case NpyType.UInt8: case NpyType.Bool: for (int i = 0; i < dest.Length; i++) dest[i] = src[i]; break;
                case NpyType.Int8: for (int i = 0; i < dest.Length; i++) dest[i] = (sbyte)src[i]; break;
                case NpyType.Float64: { var s = MemoryMarshal.Cast<byte, double>(src); for (int i = 0; i < dest.Length; i++) dest[i] = (float)s[i]; break; }
                case NpyType.Int16: { var s = MemoryMarshal.Cast<byte, short>(src); for (int i = 0; i < dest.Length; i++) dest[i] = s[i]; break; }
                case NpyType.UInt16: { var s = MemoryMarshal.Cast<byte, ushort>(src); for (int i = 0; i < dest.Length; i++) dest[i] = s[i]; break; }
                case NpyType.Int32: { var s = MemoryMarshal.Cast<byte, int>(src); for (int i = 0; i < dest.Length; i++) dest[i] = s[i]; break; }
                case NpyType.UInt32: { var s = MemoryMarshal.Cast<byte, uint>(src); for (int i = 0; i < dest.Length; i++) dest[i] = s[i]; break; }
                case NpyType.Int64: { var s = MemoryMarshal.Cast<byte, long>(src); for (int i = 0; i < dest.Length; i++) dest[i] = s[i]; break; }
            }
        }
        finally { ArrayPool<byte>.Shared.Return(raw); }
    }

    /// <summary>Reads integer rows as int64 (floating-point files are rejected by the caller).</summary>
    public void ReadRowsAsInt64(long start, int count, Span<long> destination)
    {
        long n = count * Header.RowLength;
        var dest = destination[..(int)n];
        if (Header.Type == NpyType.Int64) { ReadRaw(start, MemoryMarshal.AsBytes(dest)); return; }
        var tmp = new byte[n * Header.ItemSize];
        ReadRaw(start, tmp);
        for (int i = 0; i < dest.Length; i++)
        {
            var s = tmp.AsSpan(i * Header.ItemSize);
            dest[i] = Header.Type switch
            {
                NpyType.UInt8 or NpyType.Bool => s[0],
                NpyType.Int8 => (sbyte)s[0],
                NpyType.Int16 => BinaryPrimitives.ReadInt16LittleEndian(s),
                NpyType.UInt16 => BinaryPrimitives.ReadUInt16LittleEndian(s),
                NpyType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(s),
                NpyType.UInt32 => BinaryPrimitives.ReadUInt32LittleEndian(s),
                _ => throw new InvalidOperationException(),
            };
        }
    }

    void ReadRaw(long startRow, Span<byte> destination)
    {
        _stream.Position = Header.DataOffset + startRow * Header.RowLength * Header.ItemSize;
        int got = _stream.ReadAtLeast(destination, destination.Length, throwOnEndOfStream: false);
        if (got < destination.Length) throw new PerceptException($"truncated .npy file: {Path}");
    }

    public void Dispose() => _stream.Dispose();
}
