namespace Percept.Data;

/// <summary>How a dataset stores one sample.</summary>
public enum SampleKind
{
    /// <summary>An image, delivered channels-last as <c>[height, width, channels]</c>.</summary>
    Image,
    /// <summary>An array of any shape (from <c>.npy</c>), delivered in its stored order.</summary>
    Tensor,
    /// <summary>A row of numeric features (from CSV), delivered as <c>[features]</c>.</summary>
    Table,
}

/// <summary>The shape and encoding of one raw sample, before preprocessing.</summary>
/// <param name="Kind">What the sample is.</param>
/// <param name="Shape">Shape of one sample; for images <c>[height, width, channels]</c>.</param>
/// <param name="IsBytes">Values are 0–255 integers (scaled by 1/255 by default).</param>
public sealed record SampleFormat(SampleKind Kind, int[] Shape, bool IsBytes)
{
    /// <summary>Values per sample.</summary>
    public int Length => Shape.Aggregate(1, (a, b) => checked(a * b));

    public string ShapeText => string.Join("x", Shape);
}

/// <summary>
/// A batch of raw samples in dataset order. The dataset owns the arrays and may reuse them for the next batch,
/// so a consumer copies what it keeps before asking for the next one.
/// </summary>
public sealed class DataBatch
{
    public DataBatch(int capacity, int sampleLength)
    {
        Values = new float[capacity * sampleLength];
        Labels = new int[capacity];
        Ids = new string[capacity];
    }

    /// <summary>Samples in this batch.</summary>
    public int Count { get; set; }

    /// <summary><c>Count × SampleFormat.Length</c> raw values (row-major, samples first).</summary>
    public float[] Values { get; }

    /// <summary>Label of each sample, or -1 where there is none.</summary>
    public int[] Labels { get; }

    /// <summary>Stable id of each sample (its index, or its path relative to an image folder).</summary>
    public string[] Ids { get; }
}

/// <summary>
/// A dataset that Percept streams in batches; nothing is decoded all at once.
/// Implementations validate their files when opened, so a corrupt dataset fails before any work starts.
/// </summary>
public interface IDataset : IDisposable
{
    /// <summary>One line describing the source, for run metadata and messages.</summary>
    string Description { get; }

    /// <summary>Number of samples the dataset will deliver (image folders may deliver fewer when files fail to decode).</summary>
    int Count { get; }

    SampleFormat Format { get; }

    /// <summary>Whether samples carry labels.</summary>
    bool HasLabels { get; }

    /// <summary>Names of the classes, index = label, when the source names them.</summary>
    IReadOnlyList<string>? ClassNames { get; }

    /// <summary>The split the samples come from (train, test, or the name the user gave).</summary>
    string Split { get; }

    /// <summary>Streams all samples in order. Each yielded batch is valid until the next one is requested.</summary>
    IEnumerable<DataBatch> ReadBatches(int batchSize, CancellationToken cancellationToken = default);
}

/// <summary>A dataset that skips samples it cannot decode (with a warning each), unless told to be strict.</summary>
public interface ISkippingDataset
{
    /// <summary>Samples skipped so far because they failed to decode.</summary>
    int Skipped { get; }
}

/// <summary>
/// A dataset whose samples carry fields besides their values and label — a manifest's or a Parquet table's other
/// columns — which become columns of the run's samples table, joined on the sample's id.
/// </summary>
public interface IDatasetFields
{
    /// <summary>The fields' names, in order.</summary>
    IReadOnlyList<string> FieldNames { get; }

    /// <summary>
    /// Each sample's id and field values (as text; null where there is none), in dataset order, for every sample the
    /// dataset names (skipped ones included: their ids match no row of a run).
    /// </summary>
    IEnumerable<(string Id, string?[] Values)> ReadFields(CancellationToken cancellationToken = default);
}

/// <summary>Helpers over any <see cref="IDataset"/>.</summary>
public static class DatasetExtensions
{
    /// <summary>
    /// Raw values, label and id of the sample at <paramref name="index"/>: read directly from a seekable dataset that
    /// skips nothing, else streamed up to it (a dataset that may skip items numbers its samples as it delivers them).
    /// </summary>
    /// <exception cref="PerceptException">The index is outside the dataset.</exception>
    public static (float[] Raw, int Label, string Id) ReadSample(this IDataset dataset, int index, CancellationToken cancellationToken = default)
    {
        if (index < 0 || index >= dataset.Count)
            throw new PerceptException($"sample {index} is out of range: the dataset has {dataset.Count} samples (0 to {dataset.Count - 1})");
        int seen = 0, len = dataset.Format.Length;
        if (dataset is ISeekableDataset seekable && dataset is not ISkippingDataset)
        {
            foreach (var b in seekable.ReadBatches(1, index, 1, cancellationToken))
                if (b.Count > 0) return (b.Values.AsSpan(0, len).ToArray(), b.Labels[0], b.Ids[0]);
            throw new PerceptException($"sample {index} could not be read");
        }
        foreach (var b in dataset.ReadBatches(512, cancellationToken))
        {
            if (index < seen + b.Count)
            {
                int i = index - seen;
                return (b.Values.AsSpan(i * len, len).ToArray(), b.Labels[i], b.Ids[i]);
            }
            seen += b.Count;
        }
        throw new PerceptException($"sample {index} could not be read (the dataset delivered {seen})");
    }
}
