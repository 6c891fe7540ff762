using System.Collections.Concurrent;
using System.Numerics.Tensors;

namespace Percept.Data;

/// <summary>A preprocessed batch ready for the model; its buffers go back to a small pool after <see cref="Release"/>.</summary>
internal sealed class PreparedBatch
{
    readonly ConcurrentBag<PreparedBatch> _pool;

    internal PreparedBatch(int capacity, int inputLength, ConcurrentBag<PreparedBatch> pool)
    {
        _pool = pool;
        Input = new float[capacity * inputLength];
        Labels = new int[capacity];
        Ids = new string[capacity];
        MeanIntensity = new float[capacity];
    }

    /// <summary>The preprocessed inputs, <see cref="Count"/> samples in the model's layout.</summary>
    public float[] Input { get; }
    /// <summary>Each sample's label, or −1.</summary>
    public int[] Labels { get; }
    public string[] Ids { get; }
    /// <summary>Each image's mean pixel intensity in [0, 1] (when <see cref="HasIntensity"/>).</summary>
    public float[] MeanIntensity { get; }
    public bool HasIntensity { get; internal set; }
    public int Count { get; internal set; }

    /// <summary>Gives the buffers back for the next batch; the batch must not be used after.</summary>
    public void Release() => _pool.Add(this);
}

/// <summary>Reads and preprocesses the next batches on a background thread while the model runs the current one.</summary>
internal static class BatchPrefetcher
{
    /// <summary>The dataset's batches, preprocessed, at most two ahead of the consumer.</summary>
    /// <exception cref="PerceptException">A sample that cannot be read (rethrown on the consumer's thread).</exception>
    public static IEnumerable<PreparedBatch> Read(IDataset dataset, Preprocessor pre, int batchSize, CancellationToken ct)
    {
        var pool = new ConcurrentBag<PreparedBatch>();
        using var queue = new BlockingCollection<PreparedBatch>(boundedCapacity: 2);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        Exception? failure = null;
        int rawLength = dataset.Format.Length;
        bool isImage = dataset.Format.Kind == SampleKind.Image;
        float intensityScale = dataset.Format.IsBytes ? 1f / 255f : 1f;
        // The producer stops through `stop` (linked to ct), so it is started without a token of its own.
        var producer = Task.Run(() =>
        {
            try
            {
                foreach (var raw in dataset.ReadBatches(batchSize, stop.Token))
                {
                    if (!pool.TryTake(out var b)) b = new PreparedBatch(batchSize, pre.InputLength, pool);
                    b.Count = raw.Count;
                    pre.Apply(raw.Values, rawLength, raw.Count, b.Input);
                    Array.Copy(raw.Labels, b.Labels, raw.Count);
                    Array.Copy(raw.Ids, b.Ids, raw.Count);
                    b.HasIntensity = isImage;
                    if (isImage)
                        for (int i = 0; i < raw.Count; i++)
                            b.MeanIntensity[i] = TensorPrimitives.Sum(raw.Values.AsSpan(i * rawLength, rawLength)) / rawLength * intensityScale;
                    queue.Add(b, stop.Token);
                }
            }
            catch (OperationCanceledException) { }
            catch (Exception e) { failure = e; }
            finally { queue.CompleteAdding(); }
        }, CancellationToken.None);
        try
        {
            foreach (var b in queue.GetConsumingEnumerable(ct)) yield return b;
            producer.Wait(CancellationToken.None);
            if (failure != null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        }
        finally
        {
            stop.Cancel();
            try { producer.Wait(CancellationToken.None); } catch (AggregateException) { }
        }
    }
}
