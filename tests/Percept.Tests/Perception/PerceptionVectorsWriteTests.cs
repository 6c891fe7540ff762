using Percept.Perception;
using Percept.Store;

namespace Percept.Tests.Perception;

/// <summary>
/// The vectors stage reads the pooled layers a chunk at a time, builds each chunk on every core and writes it while the
/// next is read and built: the vectors are those built one row at a time, whatever the threads, and a cancelled stage
/// stops without a task left running.
/// </summary>
public class PerceptionVectorsWriteTests
{
    static (FeatureStatistics[] Stats, float[][] Values) Layers(RunWriter writer, string[] names, int[] widths, int rows, int seed)
    {
        var rng = new Random(seed);
        var stats = new FeatureStatistics[names.Length];
        var values = new float[names.Length][];
        for (int l = 0; l < names.Length; l++)
        {
            values[l] = Enumerable.Range(0, rows * widths[l]).Select(_ => (float)(rng.NextDouble() * 3 - 1)).ToArray();
            // One constant feature: its standard deviation is 0 and the vectors leave it out.
            for (int r = 0; r < rows; r++) values[l][r * widths[l]] = 0.5f;
            stats[l] = new FeatureStatistics(widths[l]);
            stats[l].Add(values[l], rows);
            using var w = writer.Create(PerceptionFields.Layer.Member(names[l]), widths[l]);
            w.Append(values[l]);
        }
        return (stats, values);
    }

    [Theory]
    [InlineData(2 * 4096 + 123, 128, 2)]    // three chunks, the last one short; projected
    [InlineData(2 * 4096 + 123, 128, 1)]
    [InlineData(4096, 0, 2)]                // one whole chunk; not projected
    [InlineData(37, 128, 2)]                // less than a chunk
    public void The_vectors_are_those_built_one_row_at_a_time(int rows, int maxWidth, int threads)
    {
        using var dir = new TempDir();
        string[] names = ["a", "b"];
        int[] widths = [37, 300];
        using var writer = new RunWriter(dir["run"], overwrite: false, warn: null);
        var (stats, values) = Layers(writer, names, widths, rows, seed: rows + maxWidth);
        var fields = names.Select(n => PerceptionFields.Layer.Member(n)).ToArray();
        var builder = PerceptionVectors.Write(writer, names, fields, stats, rows, maxWidth, seed: 11, threads, null, CancellationToken.None);
        using var reader = writer.Open(PerceptionFields.Embedding);
        Assert.Equal(rows, reader.Rows);
        Assert.Equal(builder.Width, reader.Columns);
        var stored = reader.ReadAll();
        var one = new PerceptionVectorBuilder(stats.Select(s => s.Mean()).ToArray(), stats.Select(s => s.StandardDeviation()).ToArray(), maxWidth, 11);
        var v = new float[one.Width];
        foreach (int r in new[] { 0, 1, rows / 2, rows - 2, rows - 1 }.Where(r => r >= 0).Distinct())
        {
            one.Build(values.Select((x, l) => (ReadOnlyMemory<float>)x.AsMemory(r * widths[l], widths[l])).ToArray(), v);
            Assert.Equal(v, stored.AsSpan(r * one.Width, one.Width).ToArray());
        }
        // Every row was written once, in order: a shifted copy would fail the rows above; a row never built would be 0.
        Assert.All(Enumerable.Range(0, rows), r => Assert.Contains(stored.AsSpan(r * one.Width, one.Width).ToArray(), x => x != 0));
    }

    [Fact]
    public void A_cancelled_stage_stops_with_the_cancellation_and_leaves_the_layers_readable()
    {
        using var dir = new TempDir();
        string[] names = ["a"];
        int rows = 5 * 4096;
        using var writer = new RunWriter(dir["run"], overwrite: false, warn: null);
        var (stats, _) = Layers(writer, names, [1024], rows, seed: 3);
        using var cancel = new CancellationTokenSource();
        var progress = new Inline(p => { if (p.Done >= 4096) cancel.Cancel(); });
        Assert.ThrowsAny<OperationCanceledException>(() =>
            PerceptionVectors.Write(writer, names, [PerceptionFields.Layer.Member("a")], stats, rows, 0, 1, 2, progress, cancel.Token));
        using var reader = writer.Open(PerceptionFields.Layer.Member("a"));
        Assert.Equal(rows, reader.Rows);
        // The first chunk's write had started when the cancellation came: it finished before the vectors' file was closed.
        using var vectors = writer.Open(PerceptionFields.Embedding);
        Assert.Equal(4096, vectors.Rows);
    }

    /// <summary>Progress reported on the caller's thread, as it happens (<see cref="Progress{T}"/> posts it later).</summary>
    sealed class Inline(Action<AnalysisProgress> report) : IProgress<AnalysisProgress>
    {
        public void Report(AnalysisProgress value) => report(value);
    }
}
