using System.Buffers.Binary;
using System.IO.Compression;

namespace Percept.Data;

/// <summary>
/// Images and labels in the IDX format of MNIST and Fashion-MNIST (plain or gzip-compressed), read as a stream. A file
/// whose length does not fit its header is refused when it is opened, except a gzip file whose trailer agrees with the
/// header but which holds more data (several members): that is found when the stream ends.
/// </summary>
public sealed class IdxDataset : IDataset
{
    readonly string _imagesPath;
    readonly int[]? _labels;
    readonly long _dataOffset;
    readonly bool _isFloat;

    public string Description { get; }
    public int Count { get; }
    public SampleFormat Format { get; }
    public bool HasLabels => _labels != null;
    public IReadOnlyList<string>? ClassNames { get; }
    public string Split { get; }

    /// <param name="imagesPath">IDX file of samples (<c>[N, H, W]</c> images, or <c>[N, F]</c> vectors).</param>
    /// <param name="labelsPath">Optional IDX file of <c>[N]</c> unsigned-byte labels.</param>
    /// <param name="classNames">Optional class names.</param>
    /// <param name="split">Split name; guessed from the file name (t10k/test → test, train → train) when null.</param>
    public IdxDataset(string imagesPath, string? labelsPath = null, IReadOnlyList<string>? classNames = null, string? split = null)
    {
        _imagesPath = imagesPath;
        var (type, dims, offset) = ReadHeader(imagesPath);
        if (type != 0x08 && type != 0x0D)
            throw new PerceptException($"unsupported IDX element type 0x{type:X2} in {imagesPath} (unsigned byte or float expected)");
        if (dims.Length < 2) throw new PerceptException($"IDX file {imagesPath} has {dims.Length} axis; samples need at least 2 ([N, ...])");
        _isFloat = type == 0x0D;
        _dataOffset = offset;
        Count = dims[0];
        int[] sample = dims[1..];
        long values = sample.Aggregate(1L, (a, b) => a * b);
        if (values > MaxSampleValues)
            throw new PerceptException($"IDX file {imagesPath} says each sample holds {string.Join(" × ", sample)} = {values:N0} values; Percept reads samples of at most {MaxSampleValues:N0} (a corrupt header?)");
        if (values == 0) throw new PerceptException($"IDX file {imagesPath} says each sample holds no values ({string.Join(" × ", sample)})");
        Format = sample.Length switch
        {
            1 => new SampleFormat(SampleKind.Table, sample, !_isFloat),
            2 => new SampleFormat(SampleKind.Image, [sample[0], sample[1], 1], !_isFloat),
            3 => new SampleFormat(SampleKind.Image, sample, !_isFloat),
            _ => new SampleFormat(SampleKind.Tensor, sample, !_isFloat),
        };
        long need = (long)Count * Format.Length * (_isFloat ? 4 : 1);
        long have = DataLength(imagesPath, offset, need);
        if (have < need)
            throw new PerceptException($"truncated IDX file {imagesPath}: header says {Count} samples of {Format.ShapeText} ({need} bytes), the file holds {have} bytes of data");
        if (have > need)
            throw new PerceptException($"IDX file {imagesPath} holds {have - need:N0} bytes after its {Count} samples of {Format.ShapeText}: the header does not describe the file");
        if (labelsPath != null) _labels = LabelFile.Read(labelsPath, Count, imagesPath);
        ClassNames = classNames;
        string name = System.IO.Path.GetFileName(imagesPath).ToLowerInvariant();
        Split = split ?? (name.Contains("t10k") || name.Contains("test") ? "test" : name.Contains("train") ? "train" : "all");
        Description = $"IDX {System.IO.Path.GetFileName(imagesPath)} ({Count} samples of {Format.ShapeText})";
    }

    /// <summary>An IDX label file's labels (one axis of unsigned bytes), <paramref name="count"/> of them.</summary>
    internal static int[] ReadLabels(string labelsPath, int count, string samplesPath)
    {
        var (ltype, ldims, loffset) = ReadHeader(labelsPath, labels: true);
        if (ltype != 0x08 || ldims.Length != 1)
            throw new PerceptException($"{labelsPath} is not an IDX label file (one axis of unsigned bytes expected)");
        if (ldims[0] != count)
            throw new PerceptException($"label count {ldims[0]} in {labelsPath} does not match sample count {count} in {samplesPath}");
        var bytes = new byte[count];
        using var ls = OpenData(labelsPath, loffset);
        int got = ls.ReadAtLeast(bytes, count, throwOnEndOfStream: false);
        if (got < count) throw new PerceptException($"truncated IDX file {labelsPath}: {count} labels expected, {got} found");
        return [.. bytes.Select(b => (int)b)];
    }

    /// <summary>The size a gzip file's trailer gives (its last member's data, modulo 2³²), or null for a file too short to hold one.</summary>
    static uint? GzipTrailerSize(string path)
    {
        using var f = File.OpenRead(path);
        if (f.Length < 18) return null;
        Span<byte> tail = stackalloc byte[4];
        f.Seek(-4, SeekOrigin.End);
        f.ReadExactly(tail);
        return BinaryPrimitives.ReadUInt32LittleEndian(tail);
    }

    static bool IsGzip(string path)
    {
        using var f = File.OpenRead(path);
        return f.ReadByte() == 0x1f && f.ReadByte() == 0x8b;
    }

    static Stream Open(string path)
    {
        if (!File.Exists(path)) throw new PerceptException($"file not found: {path}");
        Stream s = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        return IsGzip(path) ? new GZipStream(s, CompressionMode.Decompress) : s;
    }

    static Stream OpenData(string path, long offset)
    {
        var s = Open(path);
        Skip(s, offset);
        return s;
    }

    static void Skip(Stream s, long count)
    {
        Span<byte> buf = stackalloc byte[256];
        while (count > 0)
        {
            int n = s.Read(buf[..(int)Math.Min(count, buf.Length)]);
            if (n == 0) break;
            count -= n;
        }
    }

    /// <param name="labels">The file was given as labels: a file of another format is named as labels of the wrong kind.</param>
    static (int Type, int[] Dims, long Offset) ReadHeader(string path, bool labels = false)
    {
        try
        {
            using var s = Open(path);
            Span<byte> head = stackalloc byte[4];
            if (s.ReadAtLeast(head, 4, throwOnEndOfStream: false) < 4 || head[0] != 0 || head[1] != 0 || head[3] is 0 or > 8)
                throw new PerceptException(labels
                    ? $"{path} is neither an IDX label file nor a .npy vector of labels"
                    : $"not an IDX file: {path}");
            int ndim = head[3];
            var dims = new int[ndim];
            Span<byte> d = stackalloc byte[4];
            for (int i = 0; i < ndim; i++)
            {
                if (s.ReadAtLeast(d, 4, throwOnEndOfStream: false) < 4) throw new PerceptException($"truncated IDX header: {path}");
                dims[i] = BinaryPrimitives.ReadInt32BigEndian(d);
                if (dims[i] < 0) throw new PerceptException($"corrupt IDX header in {path}: negative dimension");
            }
            return (head[2], dims, 4 + 4 * ndim);
        }
        catch (InvalidDataException e) { throw new PerceptException($"corrupt gzip stream in {path}: {e.Message}"); }
    }

    /// <summary>Values one sample may hold (2²⁸: a 16384 × 16384 image); a header asking for more is corrupt or not for Percept.</summary>
    public const long MaxSampleValues = 1L << 28;

    /// <summary>
    /// Bytes of data after the header: the file's size; for gzip, <paramref name="need"/> when the file's last four bytes (a
    /// gzip member's size, modulo 2³²) say the header and exactly that, else the data decompressed, read up to one byte past
    /// <paramref name="need"/>. A cut file has lost its trailer; a file damaged inside fails while streaming, which leaves
    /// no run behind either; a file of several members (bgzip) is counted.
    /// </summary>
    static long DataLength(string path, long offset, long need)
    {
        if (!IsGzip(path)) return new FileInfo(path).Length - offset;
        if (GzipTrailerSize(path) == (uint)(offset + need)) return need;
        using var s = OpenData(path, offset);
        var buffer = new byte[1 << 16];
        long total = 0;
        try
        {
            for (int n; total <= need && (n = s.Read(buffer)) > 0;) total += n;
        }
        catch (InvalidDataException e) { throw new PerceptException($"corrupt gzip stream in {path}: {e.Message}"); }
        return total;
    }

    public IEnumerable<DataBatch> ReadBatches(int batchSize, CancellationToken cancellationToken = default)
    {
        int len = Format.Length;
        var batch = new DataBatch(batchSize, len);
        var raw = new byte[batchSize * len * (_isFloat ? 4 : 1)];
        using var s = OpenData(_imagesPath, _dataOffset);
        for (int start = 0; start < Count; start += batchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int count = Math.Min(batchSize, Count - start);
            int bytes = count * len * (_isFloat ? 4 : 1);
            try
            {
                if (s.ReadAtLeast(raw.AsSpan(0, bytes), bytes, throwOnEndOfStream: false) < bytes)
                    throw new PerceptException($"truncated IDX file {_imagesPath} at sample {start}");
            }
            catch (InvalidDataException e) { throw new PerceptException($"corrupt gzip stream in {_imagesPath}: {e.Message}"); }
            var values = batch.Values.AsSpan(0, count * len);
            if (_isFloat)
                for (int i = 0; i < values.Length; i++) values[i] = BinaryPrimitives.ReadSingleBigEndian(raw.AsSpan(4 * i));
            else
                System.Numerics.Tensors.TensorPrimitives.ConvertChecked<byte, float>(raw.AsSpan(0, values.Length), values);
            for (int i = 0; i < count; i++)
            {
                batch.Labels[i] = _labels != null ? _labels[start + i] : -1;
                batch.Ids[i] = (start + i).ToString(System.Globalization.CultureInfo.InvariantCulture);
            }
            batch.Count = count;
            yield return batch;
        }
        // A gzip file measured by its trailer (DataLength) is checked for data past the samples here, at its end.
        if (s is GZipStream)
        {
            int extra;
            try { extra = s.ReadByte(); }
            catch (InvalidDataException e) { throw new PerceptException($"corrupt gzip stream in {_imagesPath}: {e.Message}"); }
            if (extra >= 0)
                throw new PerceptException($"IDX file {_imagesPath} holds more bytes after its {Count} samples of {Format.ShapeText}: the header does not describe the file");
        }
    }

    public void Dispose() { }
}
