using Percept.Core;
using Percept.Neighbors;
using Percept.Perception;
using Percept.Store;

namespace Percept.Projection;

/// <summary>How well one layer's pooled activations separate the classes: the label agreement of each sample's nearest neighbours.</summary>
/// <param name="Layer">The layer's name, or <see cref="LayerMaps.Perception"/> for the perception vectors (all layers together).</param>
/// <param name="Samples">Labelled samples measured (a seeded sample of at most <see cref="LayerMaps.SeparationSample"/>).</param>
/// <param name="Agreement">The mean share of a sample's k nearest neighbours (cosine, standardised activations) that carry its label.</param>
/// <param name="Chance">The agreement neighbours drawn at random would reach: the sum over classes of their share squared.</param>
public sealed record LayerSeparation(string Layer, int Width, int Samples, int K, double Agreement, double Chance);

/// <summary>Where a layer map's making is: reading, neighbours, layout, aligning.</summary>
public sealed record LayerMapProgress(string Stage, double Fraction);

/// <summary>
/// The map of one perception layer and where in the network the classes come apart. A run keeps every recorded layer's
/// activations pooled over space (<c>layer:NAME</c>) and their statistics; a layer's map is made from them with the
/// run's own engine (standardised with the run's statistics, reduced to 50 principal components when wider, the
/// neighbour graph by the one rule, UMAP), and turned onto the run's map so that the same regions face the same way.
/// </summary>
public static class LayerMaps
{
    /// <summary>The name standing for the perception vectors themselves in <see cref="Separation"/>.</summary>
    public const string Perception = "perception vectors";

    /// <summary>Samples measured for the separation (a seeded sample beyond it), and neighbours per sample.</summary>
    public const int SeparationSample = 20_000, SeparationK = 10;

    /// <summary>The run's recorded layer named <paramref name="layer"/> (its name, node or tensor).</summary>
    /// <exception cref="PerceptException">The run records no such layer.</exception>
    public static RunManifest.LayerEntry Find(Run run, string layer) =>
        run.Manifest.Perception.Layers.FirstOrDefault(l => l.Name == layer || l.Node == layer || l.Tensor == layer)
        ?? throw new PerceptException($"the run records no layer '{layer}' (layers: {string.Join(", ", run.Manifest.Perception.Layers.Select(l => l.Name))})");

    /// <summary>
    /// One layer's pooled activations, each feature standardised with the run's statistics (constant features zero):
    /// the block that layer adds to the perception vectors, before its weight. Only <paramref name="rows"/> (in that
    /// order) when given, read without the rest.
    /// </summary>
    public static Matrix Activations(Run run, RunManifest.LayerEntry layer, int[]? rows = null)
    {
        var stats = run.ReadFloat32(PerceptionFields.LayerStats.Member(layer.Name));
        int w = layer.Width;
        Matrix x;
        using (var reader = run.Open(PerceptionFields.Layer.Member(layer.Name)))
            x = rows == null ? reader.ReadMatrix() : Matrix.From(new SelectedRows(reader, rows));
        var scale = new float[w];
        for (int j = 0; j < w; j++) scale[j] = stats[w + j] > PerceptionVectorBuilder.ConstantFeatureStd ? 1 / stats[w + j] : 0;
        var mean = stats.AsSpan(0, w).ToArray();
        Parallel.For(0, x.Rows, i =>
        {
            var row = x.Row(i);
            for (int j = 0; j < w; j++) row[j] = (row[j] - mean[j]) * scale[j];
        });
        return x;
    }

    /// <summary>
    /// The 2-D UMAP of one layer's standardised activations, rotated, reflected and scaled onto the run's map over the
    /// samples finite in both (when the run has a 2-D map). Samples with non-finite activations are NaN.
    /// </summary>
    public static Matrix Map(Run run, string layer, IProgress<LayerMapProgress>? progress = null, int threads = 0, CancellationToken ct = default)
    {
        var entry = Find(run, layer);
        progress?.Report(new("reading", 0.02));
        var x = Activations(run, entry);
        var (space, _) = NeighborSpace.Of(x, run.Manifest.Perception.Seed, threads, ct);
        var finite = NeighborSpace.FiniteRows(space);
        if (finite.Length < 3) throw new PerceptException($"layer '{entry.Name}' has fewer than 3 samples with finite activations: no map");
        var rows = finite.Length == space.Rows ? space : Matrix.From(new SelectedRows(space, finite));
        progress?.Report(new("neighbours", 0.1));
        var options = new MapOptions { Method = MapMethod.Umap, Dimensions = 2, Metric = Metric.Cosine, Seed = run.Manifest.Map?.Seed ?? 0, Threads = threads };
        var graph = NeighborGraph.Build(rows, Math.Min(options.Neighbors, rows.Rows - 1), Metric.Cosine, threads: threads, cancellationToken: ct);
        progress?.Report(new("layout", 0.35));
        var coordinates = Maps.Make(rows, options, graph, ct).Coordinates;
        progress?.Report(new("aligning", 0.95));
        var map = new Matrix(space.Rows, 2);
        map.Data.AsSpan().Fill(float.NaN);
        for (int r = 0; r < finite.Length; r++) coordinates.Row(r).CopyTo(map.Row(finite[r]));
        // Turned onto the run's map over the samples finite in both.
        if (run.Manifest.Map is { Dimensions: 2 }) map = Procrustes.AlignOnShared(map, run.ReadMatrix(MapFields.Map), Enumerable.Range(0, map.Rows).ToArray());
        progress?.Report(new("done", 1));
        return map;
    }

    /// <summary>
    /// For every recorded layer, in network order, and for the perception vectors: the label agreement of each labelled
    /// sample's <paramref name="k"/> nearest neighbours among a seeded sample of at most <paramref name="sample"/>
    /// labelled samples (cosine, standardised activations, 50 principal components when wider). Empty when the run has
    /// no labels.
    /// </summary>
    public static IReadOnlyList<LayerSeparation> Separation(Run run, int k = SeparationK, int sample = SeparationSample, ulong seed = 1,
        int threads = 0, CancellationToken ct = default)
    {
        int[] labels;
        using (var samples = run.OpenSamples())
            labels = samples.Has(PerceptionFields.Label.Name) ? samples.ReadInt32(PerceptionFields.Label) : [];
        var labelled = Enumerable.Range(0, labels.Length).Where(i => labels[i] >= 0).ToArray();
        if (labelled.Length < k + 2) return [];
        if (labelled.Length > sample)
        {
            // A seeded partial shuffle: the first `sample` of a Fisher–Yates pass, kept in dataset order.
            var rng = new SplitMix64(seed);
            for (int i = 0; i < sample; i++) { int j = i + rng.NextInt(labelled.Length - i); (labelled[i], labelled[j]) = (labelled[j], labelled[i]); }
            labelled = labelled[..sample].Order().ToArray();
        }
        var y = labelled.Select(i => labels[i]).ToArray();
        double chance = y.GroupBy(c => c).Sum(g => Math.Pow(g.Count() / (double)y.Length, 2));
        var list = new List<LayerSeparation>();
        foreach (var layer in run.Manifest.Perception.Layers)
        {
            ct.ThrowIfCancellationRequested();
            var x = Activations(run, layer, labelled);
            list.Add(new LayerSeparation(layer.Name, layer.Width, y.Length, k, Math.Round(Agreement(x, y, k, seed, threads, ct), 4), Math.Round(chance, 4)));
        }
        Matrix vectors;
        using (var reader = run.Open(PerceptionFields.Embedding)) vectors = Matrix.From(new SelectedRows(reader, labelled));
        list.Add(new LayerSeparation(Perception, vectors.Columns, y.Length, k, Math.Round(Agreement(vectors, y, k, seed, threads, ct), 4), Math.Round(chance, 4)));
        return list;
    }

    /// <summary>The mean share of each row's k nearest rows (cosine; in 50 principal components when wider) that carry its label.</summary>
    internal static double Agreement(Matrix x, int[] labels, int k, ulong seed, int threads, CancellationToken ct)
    {
        var (space, _) = NeighborSpace.Of(x, seed, threads, ct);
        var graph = NeighborGraph.Build(space, Math.Min(k, space.Rows - 1), Metric.Cosine, seed: seed, threads: threads, cancellationToken: ct);
        double sum = 0; int counted = 0;
        for (int i = 0; i < graph.Count; i++)
        {
            int same = 0, n = 0;
            foreach (int j in graph.NeighborsOf(i)) { if (j < 0) continue; n++; if (labels[j] == labels[i]) same++; }
            if (n > 0) { sum += same / (double)n; counted++; }
        }
        return counted > 0 ? sum / counted : double.NaN;
    }
}
