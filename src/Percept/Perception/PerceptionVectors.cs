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
        try
        {
            for (int l = 0; l < layerCount; l++) readers[l] = output.Open(layerFields[l]);
            var widths = stats.Select(s => s.Features).ToArray();
            var blocks = widths.Select(w => new float[Chunk * w]).ToArray();
            var vectors = new float[Chunk * builder.Width];
            var parallel = new ParallelOptions { MaxDegreeOfParallelism = threads > 0 ? threads : Environment.ProcessorCount, CancellationToken = ct };
            const int part = SparseRandomProjection.BatchRows * 4;
            using var writer = output.Create(PerceptionFields.Embedding, builder.Width);
            for (int start = 0; start < rows; start += Chunk)
            {
                ct.ThrowIfCancellationRequested();
                int n = (int)Math.Min(Chunk, rows - start);
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
                progress?.Report(new AnalysisProgress("vectors", start + n, rows));
            }
        }
        finally { foreach (var r in readers) r?.Dispose(); }
        return builder;
    }
}
