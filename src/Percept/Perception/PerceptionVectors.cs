using Percept.Store;

namespace Percept.Perception;

/// <summary>
/// The second pass of an analysis: standardise each layer's pooled features with the dataset's statistics, weight each
/// layer so that it counts equally, concatenate, and (when wider than the limit) project with a seeded sparse random
/// projection, into one perception vector per sample (<see cref="PerceptionVectorBuilder"/>).
/// </summary>
internal static class PerceptionVectors
{
    /// <summary>Samples read, built and written at a time: the building is spread over threads, the reading and writing are sequential.</summary>
    const int Chunk = 4096;

    /// <summary>
    /// Writes each layer's statistics (<see cref="PerceptionFields.LayerStats"/>: means, then standard deviations) and the
    /// perception vectors (<see cref="PerceptionFields.Embedding"/>), reading the pooled layers back in chunks.
    /// </summary>
    /// <returns>The builder that made them: widths and layer weights.</returns>
    /// <param name="layerNames">The perceived layers, in order.</param>
    /// <param name="layerFields">Each layer's pooled activations in <paramref name="output"/>.</param>
    /// <param name="stats">Each layer's feature statistics over every sample.</param>
    /// <param name="rows">Samples.</param>
    public static PerceptionVectorBuilder Write(IRunOutput output, IReadOnlyList<string> layerNames, Field[] layerFields, FeatureStatistics[] stats, long rows,
        int maxWidth, ulong seed, int threads, IProgress<AnalysisProgress>? progress, CancellationToken ct)
    {
        int layerCount = layerNames.Count;
        var means = stats.Select(s => s.Mean()).ToArray();
        var stds = stats.Select(s => s.StandardDeviation()).ToArray();
        for (int l = 0; l < layerCount; l++)
        {
            var both = new float[2 * means[l].Length];
            means[l].CopyTo(both, 0);
            stds[l].CopyTo(both, means[l].Length);
            output.Write(PerceptionFields.LayerStats.Member(layerNames[l]), both, means[l].Length);
        }
        var builder = new PerceptionVectorBuilder(means, stds, maxWidth, seed);
        var readers = new FieldReader?[layerFields.Length];
        Task? reading = null, writing = null;
        // Disposed after the finally below has waited for the tasks: a write still running must not find it closed.
        using var writer = output.Create(PerceptionFields.Embedding, builder.Width);
        try
        {
            for (int l = 0; l < layerCount; l++) readers[l] = output.Open(layerFields[l]);
            var widths = stats.Select(s => s.Features).ToArray();
            // Two of each buffer: while one chunk's vectors are built on every core, the next chunk's layers are read and the
            // previous chunk's vectors written (a wide run moves gigabytes here, and the disk, not the arithmetic, sets the pace).
            var blocks = new[] { widths.Select(w => new float[Chunk * w]).ToArray(), widths.Select(w => new float[Chunk * w]).ToArray() };
            var vectors = new[] { new float[Chunk * builder.Width], new float[Chunk * builder.Width] };
            var parallel = new ParallelOptions { MaxDegreeOfParallelism = threads > 0 ? threads : Environment.ProcessorCount, CancellationToken = ct };
            const int part = SparseRandomProjection.BatchRows * 4;
            int chunks = (int)((rows + Chunk - 1) / Chunk);
            int Rows(int c) => (int)Math.Min(Chunk, rows - (long)c * Chunk);
            void Read(int c)
            {
                for (int l = 0; l < layerCount; l++) readers[l]!.Read(c * Chunk, Rows(c), blocks[c % 2][l]);
            }
            if (chunks > 0) Read(0);
            for (int c = 0; c < chunks; c++)
            {
                ct.ThrowIfCancellationRequested();
                int n = Rows(c), next = c + 1;
                var layersOf = blocks[c % 2];
                var built = vectors[c % 2];
                // The next chunk goes into the other blocks, which the previous chunk's build has finished with.
                reading = next < chunks ? Task.Run(() => Read(next), CancellationToken.None) : null;
                // Parts of a chunk on several threads; each vector depends on its own sample only, so the result does not
                // depend on the number of threads. These vectors' buffer was last written out two chunks ago (awaited below).
                Parallel.For(0, (n + part - 1) / part, parallel, () => new float[builder.ScratchLength], (p, _, scratch) =>
                {
                    int first = p * part, count = Math.Min(part, n - first);
                    builder.BuildRows(layersOf, first, count, built.AsSpan(first * builder.Width, count * builder.Width), scratch);
                    return scratch;
                }, _ => { });
                Finish(ref writing);
                writing = Task.Run(() => writer.Append(built.AsSpan(0, n * builder.Width)), CancellationToken.None);
                Finish(ref reading);
                progress?.Report(new AnalysisProgress("vectors", (long)c * Chunk + n, rows));
            }
            Finish(ref writing);
        }
        finally
        {
            // A failure leaves no task touching a reader, the writer or a buffer once this returns.
            foreach (var t in new[] { reading, writing }) try { t?.Wait(CancellationToken.None); } catch (AggregateException) { }
            foreach (var r in readers) r?.Dispose();
        }
        return builder;
    }

    /// <summary>Waits for <paramref name="task"/> (and forgets it), rethrowing its failure as it was thrown.</summary>
    static void Finish(ref Task? task)
    {
        var t = task;
        task = null;
        if (t == null) return;
        try { t.Wait(CancellationToken.None); }
        catch (AggregateException e) when (e.InnerExceptions.Count == 1)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerException!);
        }
    }
}
