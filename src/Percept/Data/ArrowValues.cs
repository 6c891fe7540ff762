using System.Globalization;
using Apache.Arrow;
using Apache.Arrow.Types;

namespace Percept.Data;

/// <summary>Reading one row's value from an Arrow column of any of the types tables use, without knowing the type in advance.</summary>
internal static class ArrowValues
{
    /// <summary>Whether a column of <paramref name="type"/> holds one number, truth value, text or date a row (a field of the samples table).</summary>
    public static bool IsScalar(IArrowType type) => type switch
    {
        DictionaryType d => IsScalar(d.ValueType),
        _ => type.TypeId is ArrowTypeId.Boolean or ArrowTypeId.Int8 or ArrowTypeId.Int16 or ArrowTypeId.Int32 or ArrowTypeId.Int64
            or ArrowTypeId.UInt8 or ArrowTypeId.UInt16 or ArrowTypeId.UInt32 or ArrowTypeId.UInt64 or ArrowTypeId.HalfFloat or ArrowTypeId.Float
            or ArrowTypeId.Double or ArrowTypeId.String or ArrowTypeId.LargeString or ArrowTypeId.StringView or ArrowTypeId.Date32
            or ArrowTypeId.Date64 or ArrowTypeId.Timestamp or ArrowTypeId.Decimal128,
    };

    /// <summary>Whether a column of <paramref name="type"/> holds whole numbers.</summary>
    public static bool IsInteger(IArrowType type) => type.TypeId is ArrowTypeId.Int8 or ArrowTypeId.Int16 or ArrowTypeId.Int32 or ArrowTypeId.Int64
        or ArrowTypeId.UInt8 or ArrowTypeId.UInt16 or ArrowTypeId.UInt32 or ArrowTypeId.UInt64;

    /// <summary>Whether a column of <paramref name="type"/> holds text (or a dictionary of text).</summary>
    public static bool IsText(IArrowType type) => type is DictionaryType d ? IsText(d.ValueType)
        : type.TypeId is ArrowTypeId.String or ArrowTypeId.LargeString or ArrowTypeId.StringView;

    /// <summary>Whether a column of <paramref name="type"/> holds encoded bytes.</summary>
    public static bool IsBinary(IArrowType type) => type.TypeId is ArrowTypeId.Binary or ArrowTypeId.LargeBinary or ArrowTypeId.BinaryView;

    /// <summary>A whole number at row <paramref name="i"/>, or null.</summary>
    public static long? Integer(IArrowArray array, int i)
    {
        if (array.IsNull(i)) return null;
        return array switch
        {
            Int8Array a => a.GetValue(i), Int16Array a => a.GetValue(i), Int32Array a => a.GetValue(i), Int64Array a => a.GetValue(i),
            UInt8Array a => a.GetValue(i), UInt16Array a => a.GetValue(i), UInt32Array a => a.GetValue(i), UInt64Array a => (long?)a.GetValue(i),
            DictionaryArray d => Integer(d.Dictionary, (int)Integer(d.Indices, i)!.Value),
            _ => throw new ArgumentException($"not an integer column: {array.Data.DataType.Name}", nameof(array)),
        };
    }

    /// <summary>The value at row <paramref name="i"/> as text (numbers invariant and round-tripping, dates ISO 8601), or null.</summary>
    public static string? Text(IArrowArray array, int i)
    {
        if (array.IsNull(i)) return null;
        var c = CultureInfo.InvariantCulture;
        return array switch
        {
            StringArray a => a.GetString(i),
            LargeStringArray a => a.GetString(i),
            StringViewArray a => a.GetString(i),
            BooleanArray a => a.GetValue(i) == true ? "true" : "false",
            FloatArray a => a.GetValue(i)!.Value.ToString(c),
            DoubleArray a => a.GetValue(i)!.Value.ToString(c),
            HalfFloatArray a => ((float)a.GetValue(i)!.Value).ToString(c),
            Decimal128Array a => a.GetValue(i)?.ToString(c),
            Date32Array a => a.GetDateOnly(i)?.ToString("yyyy-MM-dd", c),
            Date64Array a => a.GetDateOnly(i)?.ToString("yyyy-MM-dd", c),
            TimestampArray a => a.GetTimestamp(i)?.ToString("o", c),
            DictionaryArray d => Text(d.Dictionary, (int)Integer(d.Indices, i)!.Value),
            _ when IsInteger(array.Data.DataType) => Integer(array, i)!.Value.ToString(c),
            _ => throw new ArgumentException($"not a scalar column: {array.Data.DataType.Name}", nameof(array)),
        };
    }

    /// <summary>The encoded bytes at row <paramref name="i"/> (empty for none): of a binary column, or of the <c>bytes</c> field of a struct column (Hugging Face's images).</summary>
    public static ReadOnlySpan<byte> Bytes(IArrowArray array, int i)
    {
        if (array.IsNull(i)) return default;
        return array switch
        {
            BinaryArray a => a.GetBytes(i),
            LargeBinaryArray a => a.GetBytes(i),
            BinaryViewArray a => a.GetBytes(i),
            StructArray s => Bytes(s.Fields[BytesField((StructType)s.Data.DataType)], i + s.Offset),
            _ => throw new ArgumentException($"not a binary column: {array.Data.DataType.Name}", nameof(array)),
        };
    }

    /// <summary>The index of a struct's <c>bytes</c> field of encoded bytes, or −1.</summary>
    public static int BytesField(StructType type) =>
        type.Fields.Select((f, k) => (f, k)).FirstOrDefault(p => p.f.Name == "bytes" && IsBinary(p.f.DataType), (null!, -1)).Item2;

    /// <summary>The shape of the nested lists of numbers at row <paramref name="i"/> (outer axis first), or null when the column is not lists of numbers.</summary>
    public static int[]? ListShape(IArrowArray array, int i)
    {
        var shape = new List<int>();
        while (true)
        {
            switch (array)
            {
                case ListArray l: shape.Add(l.ValueOffsets[i + 1] - l.ValueOffsets[i]); i = l.ValueOffsets[i]; array = l.Values; break;
                case LargeListArray l: shape.Add(checked((int)(l.ValueOffsets[i + 1] - l.ValueOffsets[i]))); i = checked((int)l.ValueOffsets[i]); array = l.Values; break;
                case FixedSizeListArray l:
                    int size = ((FixedSizeListType)l.Data.DataType).ListSize;
                    shape.Add(size); array = l.Values; i = (l.Offset + i) * size; break;
                default:
                    return shape.Count > 0 && IsNumber(array.Data.DataType) ? [.. shape] : null;
            }
        }
    }

    static bool IsNumber(IArrowType type) => IsInteger(type) || type.TypeId is ArrowTypeId.Float or ArrowTypeId.Double or ArrowTypeId.HalfFloat;

    /// <summary>Whether a column of <paramref name="type"/> holds (nested) lists of numbers: a tensor a row.</summary>
    public static bool IsNumberList(IArrowType type) => type switch
    {
        ListType l => IsNumberList(l.ValueDataType) || IsNumber(l.ValueDataType),
        LargeListType l => IsNumberList(l.ValueDataType) || IsNumber(l.ValueDataType),
        FixedSizeListType l => IsNumberList(l.ValueDataType) || IsNumber(l.ValueDataType),
        _ => false,
    };

    /// <summary>
    /// Copies the numbers of the (nested) lists at row <paramref name="i"/> into <paramref name="destination"/>, row-major;
    /// returns how many there were (the copy stops at the destination's length).
    /// </summary>
    public static int Flatten(IArrowArray array, int i, Span<float> destination)
    {
        // Descend to the leaf values: row i's lists cover the leaf range [start, end).
        int start = i, end = i + 1;
        while (true)
        {
            switch (array)
            {
                case ListArray l: (start, end) = (l.ValueOffsets[start], l.ValueOffsets[end]); array = l.Values; continue;
                case LargeListArray l: (start, end) = (checked((int)l.ValueOffsets[start]), checked((int)l.ValueOffsets[end])); array = l.Values; continue;
                case FixedSizeListArray l:
                    int size = ((FixedSizeListType)l.Data.DataType).ListSize;
                    (start, end) = ((l.Offset + start) * size, (l.Offset + end) * size); array = l.Values; continue;
            }
            break;
        }
        int n = Math.Min(end - start, destination.Length);
        switch (array)
        {
            case FloatArray a: a.Values.Slice(start, n).CopyTo(destination); break;
            case UInt8Array a: System.Numerics.Tensors.TensorPrimitives.ConvertChecked<byte, float>(a.Values.Slice(start, n), destination); break;
            case DoubleArray a: System.Numerics.Tensors.TensorPrimitives.ConvertTruncating<double, float>(a.Values.Slice(start, n), destination); break;
            default:
                for (int k = 0; k < n; k++) destination[k] = (float)(array.IsNull(start + k) ? float.NaN : Number(array, start + k));
                break;
        }
        return end - start;
    }

    static double Number(IArrowArray array, int i) => array switch
    {
        HalfFloatArray a => (double)a.GetValue(i)!.Value,
        FloatArray a => a.GetValue(i)!.Value,
        DoubleArray a => a.GetValue(i)!.Value,
        _ => Integer(array, i)!.Value,
    };
}
