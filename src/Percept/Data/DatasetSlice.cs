namespace Percept.Data;

/// <summary>
/// The samples [<paramref name="start"/>, start + <paramref name="count"/>) of a dataset, in order (a shard's slice). The
/// start is a multiple of the batch size the slice is read with, so that its batches are the whole dataset's.
/// </summary>
public sealed class DatasetSlice(IDataset inner, int start, int count) : IDataset
{
    public string Description => $"{inner.Description}, samples {start:N0} to {start + count - 1:N0}";
    public int Count => count;
    public SampleFormat Format => inner.Format;
    public bool HasLabels => inner.HasLabels;
    public IReadOnlyList<string>? ClassNames => inner.ClassNames;
    public string Split => inner.Split;

    public IEnumerable<DataBatch> ReadBatches(int batchSize, CancellationToken cancellationToken = default)
    {
        if (start % batchSize != 0) throw new ArgumentException($"a slice from {start} is read in batches of {batchSize}", nameof(batchSize));
        // A seekable dataset reads the slice's own items (an image folder may deliver fewer, skipping undecodable files);
        // the others are read from the start, and deliver every item.
        var batches = inner is ISeekableDataset seekable ? seekable.ReadBatches(batchSize, start, count, cancellationToken) : Skip(batchSize, cancellationToken);
        int delivered = 0;
        foreach (var batch in batches)
        {
            if (delivered >= count) yield break;
            if (delivered + batch.Count > count) batch.Count = count - delivered;
            delivered += batch.Count;
            yield return batch;
        }
    }

    /// <summary>The inner dataset's batches from the slice's start, reading (and dropping) those before it.</summary>
    IEnumerable<DataBatch> Skip(int batchSize, CancellationToken cancellationToken)
    {
        int seen = 0;
        foreach (var batch in inner.ReadBatches(batchSize, cancellationToken))
        {
            seen += batch.Count;
            if (seen <= start) continue;
            yield return batch;
        }
    }

    public void Dispose() { }
}

/// <summary>
/// A dataset that may skip items (undecodable images), known to have skipped none — the run it was analysed into says so
/// — so that its sample <c>i</c> is its item <c>i</c>, read directly by <see cref="DatasetExtensions.ReadSample"/>.
/// </summary>
public sealed class CompleteDataset : IDataset, ISeekableDataset
{
    readonly IDataset _inner;
    readonly ISeekableDataset _seekable;

    /// <param name="inner">A seekable dataset; this one owns it.</param>
    public CompleteDataset(IDataset inner)
    {
        _inner = inner;
        _seekable = inner as ISeekableDataset ?? throw new ArgumentException("a seekable dataset", nameof(inner));
    }

    /// <summary>The dataset read (for what it offers besides samples: its fields).</summary>
    public IDataset Inner => _inner;

    public string Description => _inner.Description;
    public int Count => _inner.Count;
    public SampleFormat Format => _inner.Format;
    public bool HasLabels => _inner.HasLabels;
    public IReadOnlyList<string>? ClassNames => _inner.ClassNames;
    public string Split => _inner.Split;
    public IEnumerable<DataBatch> ReadBatches(int batchSize, CancellationToken cancellationToken = default) => _inner.ReadBatches(batchSize, cancellationToken);

    /// <inheritdoc/>
    public IEnumerable<DataBatch> ReadBatches(int batchSize, int first, int items, CancellationToken cancellationToken = default) =>
        _seekable.ReadBatches(batchSize, first, items, cancellationToken);

    public void Dispose() => _inner.Dispose();
}

/// <summary>A dataset that can start reading at any sample without reading those before it.</summary>
public interface ISeekableDataset
{
    /// <summary>Streams the items [<paramref name="first"/>, first + <paramref name="items"/>) in batches (an item that cannot be read may be skipped).</summary>
    IEnumerable<DataBatch> ReadBatches(int batchSize, int first, int items, CancellationToken cancellationToken = default);
}
