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
    public static PerceptionVectorBuilder Write(IRunOutput output, PerceptionPass state, int maxWidth, ulong seed, int threads,
        IProgress<AnalysisProgress>? progress, CancellationToken ct)
    {
        int layerCount = state.Layers.Count;
        var means = state.Stats.Select(s => s.Mean()).ToArray();
        var stds = state.Stats.Select(s => s.StandardDeviation()).ToArray();
        for (int l = 0; l < layerCount; l++)
        {
            var both = new float[2 * means[l].Length];
            means[l].CopyTo(both, 0);
            stds[l].CopyTo(both, means[l].Length);
            output.Write(PerceptionFields.LayerStats.Member(state.Layers[l].Name), both, means[l].Length);
        }
        var builder = new PerceptionVectorBuilder(means, stds, maxWidth, seed);
        var readers = new FieldReader?[state.LayerFields.Length];
        try
        {
            for (int l = 0; l < layerCount; l++) readers[l] = output.Open(state.LayerFields[l]);
            var widths = state.Stats.Select(s => s.Features).ToArray();
            var blocks = widths.Select(w => new float[Chunk * w]).ToArray();
            var vectors = new float[Chunk * builder.Width];
            var parallel = new ParallelOptions { MaxDegreeOfParallelism = threads > 0 ? threads : Environment.ProcessorCount, CancellationToken = ct };
            const int part = SparseRandomProjection.BatchRows * 4;
            using var writer = output.Create(PerceptionFields.Embedding, builder.Width);
            for (int start = 0; start < state.Rows; start += Chunk)
            {
                ct.ThrowIfCancellationRequested();
                int n = (int)Math.Min(Chunk, state.Rows - start);
                for (int l = 0; l < layerCount; l++) readers[l]!.Read(start, n, blocks[l]);
                // Parts of a chunk on several threads; each vector depends on its own sample only, so the result does not
                // depend on the number of threads.
                Parallel.For(0, (n + part - 1) / part, parallel, () => new float[builder.ScratchLength], (p, _, scratch) =>
                {
                    int first = p * part, count = Math.Min(part, n - first);
                    builder.BuildRows(blocks, first, count, vectors.AsSpan(first * builder.Width, count * builder.Width), scratch);
                    return scratch;
                }, _ => { });
                writer.Append(vectors.AsSpan(0, n * builder.Width));
                progress?.Report(new AnalysisProgress("vectors", start + n, state.Rows));
            }
        }
        finally { foreach (var r in readers) r?.Dispose(); }
        return builder;
    }
}
