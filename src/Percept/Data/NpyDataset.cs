using System.Globalization;
using Percept.IO;

namespace Percept.Data;

/// <summary>
/// Samples stored as a NumPy array (first axis = samples), with optional integer labels in a second <c>.npy</c>.
/// <c>[N, H, W]</c> and <c>[N, H, W, C]</c> (C ≤ 4) arrays are images; <c>[N, F]</c> is a table; other shapes pass through.
/// </summary>
public sealed class NpyDataset : IDataset, ISeekableDataset
{
    readonly string _path;
    readonly NpyHeader _header;
    readonly int[]? _labels;

    public string Description { get; }
    public int Count { get; }
    public SampleFormat Format { get; }
    public bool HasLabels => _labels != null;
    public IReadOnlyList<string>? ClassNames { get; }
    public string Split { get; }

    public NpyDataset(string path, string? labelsPath = null, IReadOnlyList<string>? classNames = null, string? split = null)
    {
        _path = path;
        _header = Npy.ReadHeader(path);
        if (_header.Shape.Length < 2)
            throw new PerceptException($"{path} has shape {_header.ShapeText}; samples need at least 2 axes ([N, ...])");
        Count = checked((int)_header.Shape[0]);
        int[] sample = _header.Shape.Skip(1).Select(d => checked((int)d)).ToArray();
        bool bytes = _header.Type is NpyType.UInt8;
        Format = sample.Length switch
        {
            1 => new SampleFormat(SampleKind.Table, sample, bytes),
            2 => new SampleFormat(SampleKind.Image, [sample[0], sample[1], 1], bytes),
            3 when sample[2] <= 4 => new SampleFormat(SampleKind.Image, sample, bytes),
            _ => new SampleFormat(SampleKind.Tensor, sample, bytes),
        };
        if (labelsPath != null) _labels = LabelFile.Read(labelsPath, Count, path);
        ClassNames = classNames;
        Split = split ?? "all";
        Description = $"NumPy {System.IO.Path.GetFileName(path)} ({Count} samples of {Format.ShapeText})";
    }

    public IEnumerable<DataBatch> ReadBatches(int batchSize, CancellationToken cancellationToken = default) => ReadBatches(batchSize, 0, Count, cancellationToken);

    /// <inheritdoc/>
    public IEnumerable<DataBatch> ReadBatches(int batchSize, int first, int items, CancellationToken cancellationToken = default)
    {
        int end = Math.Min(Count, first + items);
        var batch = new DataBatch(batchSize, Format.Length);
        using var reader = new NpyRowReader(_path);
        for (int start = first; start < end; start += batchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int count = Math.Min(batchSize, end - start);
            reader.ReadRowsAsFloat(start, count, batch.Values);
            for (int i = 0; i < count; i++)
            {
                batch.Labels[i] = _labels?[start + i] ?? -1;
                batch.Ids[i] = (start + i).ToString(CultureInfo.InvariantCulture);
            }
            batch.Count = count;
            yield return batch;
        }
    }

    public void Dispose() { }
}
