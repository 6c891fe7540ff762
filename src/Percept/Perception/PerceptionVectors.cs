using Percept.IO;

namespace Percept.Perception;

/// <summary>
/// The second pass of an analysis: standardise each layer's pooled features with the dataset's statistics, weight each
/// layer so that it counts equally, concatenate, and (when wider than the limit) project with a seeded sparse random
/// projection, into one perception vector per sample (<see cref="PerceptionVectorBuilder"/>).
/// </summary>
internal static class PerceptionVectors
{
    /// <summary>
    /// Writes each layer's statistics (<c>NAME.stats.npy</c>: means, then standard deviations) and the perception vectors
    /// (<c>embedding.npy</c>), reading the pooled layers back in chunks.
    /// </summary>
    /// <returns>The builder that made them: widths and layer weights.</returns>
    public static PerceptionVectorBuilder Write(IPerceptionOutput output, PerceptionPass state, int maxWidth, ulong seed,
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
            Npy.Write(output.PathOf(state.LayerFiles[l] + ".stats.npy"), both, 2, means[l].Length);
        }
        var builder = new PerceptionVectorBuilder(means, stds, maxWidth, seed);
        var readers = state.LayerFiles.Select(f => new NpyRowReader(output.PathOf(f + ".npy"))).ToArray();
        try
        {
            const int chunk = 1024;
            var buffers = state.Stats.Select(s => new float[chunk * s.Features]).ToArray();
            var blocks = new ReadOnlyMemory<float>[layerCount];
            var vector = new float[builder.Width];
            using var writer = new NpyWriter(output.PathOf("embedding.npy"), NpyType.Float32, [builder.Width]);
            for (long start = 0; start < state.Rows; start += chunk)
            {
                ct.ThrowIfCancellationRequested();
                int n = (int)Math.Min(chunk, state.Rows - start);
                for (int l = 0; l < layerCount; l++) readers[l].ReadRowsAsFloat(start, n, buffers[l]);
                for (int r = 0; r < n; r++)
                {
                    for (int l = 0; l < layerCount; l++) blocks[l] = buffers[l].AsMemory(r * state.Stats[l].Features, state.Stats[l].Features);
                    builder.Build(blocks, vector);
                    writer.WriteRows(vector);
                }
                progress?.Report(new AnalysisProgress("vectors", start + n, state.Rows));
            }
        }
        finally { foreach (var r in readers) r.Dispose(); }
        return builder;
    }
}
