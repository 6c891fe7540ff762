using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Percept.IO;

/// <summary>Element types Percept reads from and writes to NumPy <c>.npy</c> files.</summary>
public enum NpyType { Float32, Float64, UInt8, Int8, Int16, UInt16, Int32, UInt32, Int64, Bool }

/// <summary>The header of a NumPy <c>.npy</c> file: element type, shape and where the data starts.</summary>
public sealed record NpyHeader(NpyType Type, long[] Shape, long DataOffset)
{
    /// <summary>Bytes per element.</summary>
    public int ItemSize => Npy.ItemSize(Type);

    /// <summary>Number of elements (product of the shape; 1 for a scalar).</summary>
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);

    /// <summary>Elements per row (product of all axes but the first).</summary>
    public long RowLength => Shape.Length == 0 ? 1 : Shape.Skip(1).Aggregate(1L, (a, b) => a * b);

    public string ShapeText => "(" + string.Join(", ", Shape) + ")";
}

/// <summary>
/// Reads and writes NumPy <c>.npy</c> files (format versions 1–3, little-endian, C order).
/// Percept stores every large matrix of a run this way so that NumPy, and Percept itself, can memory-map it.
/// </summary>
public static partial class Npy
{
    static ReadOnlySpan<byte> Magic => [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>Header length written by <see cref="NpyWriter"/>: fixed so the shape can be rewritten in place.</summary>
    internal const int WriterHeaderLength = 128;

    public static int ItemSize(NpyType t) => t switch
    {
        NpyType.Float64 or NpyType.Int64 => 8,
        NpyType.Float32 or NpyType.Int32 or NpyType.UInt32 => 4,
        NpyType.Int16 or NpyType.UInt16 => 2,
        _ => 1,
    };

    internal static string Descr(NpyType t) => t switch
    {
        NpyType.Float32 => "<f4", NpyType.Float64 => "<f8", NpyType.UInt8 => "|u1", NpyType.Int8 => "|i1",
        NpyType.Int16 => "<i2", NpyType.UInt16 => "<u2", NpyType.Int32 => "<i4", NpyType.UInt32 => "<u4",
        NpyType.Int64 => "<i8", NpyType.Bool => "|b1", _ => throw new ArgumentOutOfRangeException(nameof(t)),
    };

    static NpyType? ParseDescr(string d) => d switch
    {
        "<f4" => NpyType.Float32, "<f8" => NpyType.Float64, "|u1" or "<u1" => NpyType.UInt8, "|i1" or "<i1" => NpyType.Int8,
        "<i2" => NpyType.Int16, "<u2" => NpyType.UInt16, "<i4" => NpyType.Int32, "<u4" => NpyType.UInt32,
        "<i8" => NpyType.Int64, "|b1" => NpyType.Bool, _ => null,
    };

    [GeneratedRegex(@"'descr'\s*:\s*'([^']*)'")] private static partial Regex DescrRegex();
    [GeneratedRegex(@"'fortran_order'\s*:\s*(True|False)")] private static partial Regex FortranRegex();
    [GeneratedRegex(@"'shape'\s*:\s*\(([^)]*)\)")] private static partial Regex ShapeRegex();

    /// <summary>Reads and validates the header of <paramref name="path"/>, including that the file holds all its data.</summary>
    /// <exception cref="PerceptException">The file is missing, not an .npy file, of an unsupported type, or truncated.</exception>
    public static NpyHeader ReadHeader(string path)
    {
        if (!File.Exists(path)) throw new PerceptException($"file not found: {path}");
        using var stream = File.OpenRead(path);
        var header = ReadHeader(stream, path);
        long expected = header.DataOffset + header.ElementCount * header.ItemSize;
        if (stream.Length < expected)
            throw new PerceptException($"truncated .npy file {path}: shape {header.ShapeText} needs {expected} bytes, the file has {stream.Length}");
        return header;
    }

    static NpyHeader ReadHeader(Stream stream, string path)
    {
        Span<byte> pre = stackalloc byte[12];
        int got = stream.ReadAtLeast(pre, 10, throwOnEndOfStream: false);
        if (got < 10 || !pre[..6].SequenceEqual(Magic))
            throw new PerceptException($"not a NumPy .npy file: {path}");
        int major = pre[6];
        int headerLength, prefix;
        if (major == 1) { headerLength = BinaryPrimitives.ReadUInt16LittleEndian(pre[8..]); prefix = 10; }
        else if (major is 2 or 3)
        {
            if (got < 12) throw new PerceptException($"truncated .npy header: {path}");
            headerLength = checked((int)BinaryPrimitives.ReadUInt32LittleEndian(pre[8..])); prefix = 12;
        }
        else throw new PerceptException($"unsupported .npy format version {major} in {path}");
        if (headerLength <= 0 || headerLength > 1 << 20) throw new PerceptException($"corrupt .npy header in {path}");
        stream.Position = prefix;
        var text = new byte[headerLength];
        if (stream.ReadAtLeast(text, headerLength, throwOnEndOfStream: false) < headerLength)
            throw new PerceptException($"truncated .npy header: {path}");
        string dict = Encoding.Latin1.GetString(text);
        var descr = DescrRegex().Match(dict);
        var fortran = FortranRegex().Match(dict);
        var shape = ShapeRegex().Match(dict);
        if (!descr.Success || !fortran.Success || !shape.Success) throw new PerceptException($"corrupt .npy header in {path}");
        var type = ParseDescr(descr.Groups[1].Value)
            ?? throw new PerceptException($"unsupported .npy element type '{descr.Groups[1].Value}' in {path} (use float32, float64, integers or bool, little-endian)");
        if (fortran.Groups[1].Value == "True")
            throw new PerceptException($"{path} is stored in Fortran order; save it with numpy.ascontiguousarray first");
        var dims = new List<long>();
        foreach (var part in shape.Groups[1].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!long.TryParse(part.TrimEnd('L'), NumberStyles.None, CultureInfo.InvariantCulture, out long d))
                throw new PerceptException($"corrupt .npy shape in {path}");
            dims.Add(d);
        }
        return new NpyHeader(type, [.. dims], prefix + headerLength);
    }

    /// <summary>Reads a whole array as float32, converting from any supported element type.</summary>
    public static float[] ReadFloat32(string path, out long[] shape)
    {
        var h = ReadHeader(path);
        shape = h.Shape;
        var result = new float[checked((int)h.ElementCount)];
        using var reader = new NpyRowReader(path, h);
        reader.ReadRowsAsFloat(0, h.Shape.Length == 0 ? 1 : (int)h.Shape[0], result);
        return result;
    }

    /// <summary>Reads a whole integer or boolean vector as int64.</summary>
    public static long[] ReadInt64(string path, out long[] shape)
    {
        var h = ReadHeader(path);
        shape = h.Shape;
        if (h.Type is NpyType.Float32 or NpyType.Float64)
            throw new PerceptException($"{path} holds {Descr(h.Type)} values; integers were expected");
        var result = new long[checked((int)h.ElementCount)];
        using var reader = new NpyRowReader(path, h);
        reader.ReadRowsAsInt64(0, h.Shape.Length == 0 ? 1 : (int)h.Shape[0], result);
        return result;
    }

    /// <summary>Writes a float32 array with the given shape.</summary>
    public static void Write(string path, ReadOnlySpan<float> data, params long[] shape)
    {
        using var w = new NpyWriter(path, NpyType.Float32, shape.Skip(1).ToArray());
        w.WriteRows(data);
    }

    /// <summary>Writes an int64 array with the given shape.</summary>
    public static void Write(string path, ReadOnlySpan<long> data, params long[] shape)
    {
        using var w = new NpyWriter(path, NpyType.Int64, shape.Skip(1).ToArray());
        w.WriteRows(System.Runtime.InteropServices.MemoryMarshal.AsBytes(data));
    }

    internal static byte[] BuildHeader(NpyType type, long[] shape)
    {
        string shapeText = shape.Length == 1 ? $"({shape[0]},)" : "(" + string.Join(", ", shape) + ")";
        string dict = $"{{'descr': '{Descr(type)}', 'fortran_order': False, 'shape': {shapeText}, }}";
        int total = WriterHeaderLength;
        while (10 + dict.Length + 1 > total) total += 64;
        var bytes = new byte[total];
        Magic.CopyTo(bytes);
        bytes[6] = 1; bytes[7] = 0;
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(8), (ushort)(total - 10));
        Encoding.Latin1.GetBytes(dict, bytes.AsSpan(10));
        bytes.AsSpan(10 + dict.Length, total - 10 - dict.Length - 1).Fill((byte)' ');
        bytes[^1] = (byte)'\n';
        return bytes;
    }
}
