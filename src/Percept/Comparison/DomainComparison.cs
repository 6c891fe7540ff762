using System.Globalization;
using Percept.Core;
using Percept.Neighbors;
using Percept.Perception;
using Percept.Projection;
using Percept.Store;

namespace Percept.Comparison;

/// <summary>
/// A region of A's perception space (where the model puts one class of A's samples) and how B fills it: the share of
/// A's samples in it against the share of B's samples whose nearest A sample lies in it (B's added samples left out).
/// </summary>
/// <param name="Name">The class.</param>
/// <param name="Ratio">ShareB / ShareA: 1 when B fills the region as A does, 0 when B leaves it empty.</param>
/// <param name="Unfilled">A's samples in the region with no B sample near them (density ratio below 1/8).</param>
/// <param name="Verdict">
/// <c>empty</c> (ratio below 0.1), <c>thinned</c> (below 0.5), <c>crowded</c> (above 2), each only when B's count is
/// more than 4 standard deviations from A's share; else <c>filled</c>.
/// </param>
public sealed record DomainRegion(string Name, int CountA, int CountB, double ShareA, double ShareB, double Ratio, int Unfilled, string Verdict,
    IReadOnlyList<string> ExamplesA);

/// <summary>B's samples that no A sample resembles (density ratio above 8), grouped by the class B's model predicts (or its label).</summary>
public sealed record DomainAddition(string Class, int Count, double ShareOfB, IReadOnlyList<int> IndicesB, IReadOnlyList<string> ExamplesB);

/// <summary>
/// Two datasets seen by one model (docs/compare.md): B's perception vectors rebuilt in A's space (A's feature statistics),
/// the k-NN graph of both together, and from it each sample's density ratio (its B neighbours over its A neighbours, each
/// over its dataset's size).
/// </summary>
/// <param name="Separability">
/// Balanced accuracy of telling A's samples from B's by their neighbours' datasets: 0.5 when B is drawn like A, 1 when
/// the two never meet.
/// </param>
/// <param name="UnfilledA">A's samples with no B sample near them; <paramref name="AddedB"/>, B's with no A sample near them.</param>
/// <param name="Card">The gap in a sentence, as an insight card's title.</param>
public sealed record DomainGap(int K, string Space, double Separability, int UnfilledA, int AddedB, IReadOnlyList<DomainRegion> Regions,
    IReadOnlyList<DomainAddition> Added, string Card);

/// <summary>Compares one model's perception of two datasets: which regions of A's space B fills, leaves empty or adds.</summary>
public static class DomainComparison
{
    /// <summary>Density ratios beyond these (8× fewer or more B neighbours than A's share predicts) mark a sample as unfilled or added.</summary>
    public const double UnfilledRatio = 1 / 8.0, AddedRatio = 8;

    const int ExamplesListed = 8, IndicesListed = 2000, ReducedDimensions = 50;

    /// <exception cref="PerceptException">The runs were made by different models, or record different layers.</exception>
    public static DomainGap Compare(Run a, Run b, int k = 15, ulong seed = 1, CancellationToken ct = default)
    {
        if (k < 1) throw new PerceptException("k must be at least 1");
        var ma = a.Manifest; var mb = b.Manifest;
        if (ma.Model.Sha256 != mb.Model.Sha256)
            throw new PerceptException($"the runs share no samples and were made by different models ({Path.GetFileName(ma.Model.Path)}, {Path.GetFileName(mb.Model.Path)}): " +
                "a comparison of two datasets needs one model; a comparison of two models needs the same samples");
        var layers = ma.Perception.Layers;
        if (layers.Count == 0 || mb.Perception.Layers.Count != layers.Count || layers.Zip(mb.Perception.Layers).Any(p => p.First.Name != p.Second.Name || p.First.Width != p.Second.Width))
            throw new PerceptException("the runs record different layers: analyse both datasets with the same model and options");

        // B in A's space: B's pooled layers standardised with A's statistics, weighted and projected as A's vectors were.
        var means = layers.Select(l => a.ReadFloat32(PerceptionFields.LayerStats.Member(l.Name))).ToArray();
        var builder = new PerceptionVectorBuilder(means.Select(s => s[..(s.Length / 2)]).ToArray(), means.Select(s => s[(s.Length / 2)..]).ToArray(),
            ma.Perception.MaxWidth, ma.Perception.Seed);
        var vectorsA = a.ReadMatrix(PerceptionFields.Embedding);
        if (vectorsA.Columns != builder.Width) throw new PerceptException($"run {a.Directory}: its vectors are {vectorsA.Columns} wide, its layers make {builder.Width}: analyse it again");
        var vectorsB = Rebuild(b, layers, builder, ct);
        int nA = vectorsA.Rows, nB = vectorsB.Rows, n = nA + nB;
        if (nA < 2 || nB < 2) throw new PerceptException("each dataset needs at least two samples");

        var union = new Matrix(n, builder.Width);
        vectorsA.Data.AsSpan().CopyTo(union.Data);
        vectorsB.Data.AsSpan().CopyTo(union.Data.AsSpan(vectorsA.Data.Length));
        string space = "embedding";
        if (union.Columns > ReducedDimensions * 2)
        {
            // The graph in A's first principal components, as a run's graph is measured for wide vectors.
            var pca = Pca.Fit(vectorsA, ReducedDimensions, seed, cancellationToken: ct);
            union = pca.Transform(union, cancellationToken: ct);
            space = $"pca-{union.Columns} of A";
        }
        ct.ThrowIfCancellationRequested();
        int kk = Math.Min(k, n - 1);
        var graph = NeighborGraph.Build(union, kk, Metric.Cosine, seed: seed, cancellationToken: ct);

        // Density ratio of each sample: (B neighbours / nB) / (A neighbours / nA), half a neighbour added to each side.
        var ratio = new double[n];
        var nearestA = new int[nB];
        double rightA = 0, rightB = 0;
        for (int i = 0; i < n; i++)
        {
            int fromA = 0, fromB = 0, firstA = -1;
            foreach (int j in graph.NeighborsOf(i))
            {
                if (j < 0) continue;
                if (j < nA) { fromA++; if (firstA < 0) firstA = j; } else fromB++;
            }
            ratio[i] = (fromB + 0.5) / nB / ((fromA + 0.5) / nA);
            // The two-sample test: a sample's own dataset, guessed from its neighbours' (each side over the samples it
            // could have offered, the sample itself left out); a tie counts half.
            double own = i < nA ? fromA / (nA - 1.0) : fromB / (nB - 1.0), other = i < nA ? fromB / (double)nB : fromA / (double)nA;
            double right = own > other ? 1 : own == other ? 0.5 : 0;
            if (i < nA) rightA += right;
            else { rightB += right; nearestA[i - nA] = firstA; }
        }
        // B samples whose neighbours are all B's still need a region: the nearest A sample by brute force over A.
        FillNearest(vectorsA, vectorsB, nearestA, ct);
        double separability = (rightA / nA + rightB / nB) / 2;

        var (regionOfA, regionNames) = Regions(a, ma);
        var regions = DescribeRegions(a, regionOfA, regionNames, nearestA, ratio, nA, nB);
        var added = DescribeAdditions(b, ratio, nA, nB);
        int unfilled = 0, addedCount = 0;
        for (int i = 0; i < nA; i++) if (ratio[i] < UnfilledRatio) unfilled++;
        for (int i = nA; i < n; i++) if (ratio[i] > AddedRatio) addedCount++;
        return new DomainGap(kk, space, Math.Round(separability, 4), unfilled, addedCount, regions, added,
            CardTitle(separability, regions, added, addedCount, nB));
    }

    static Matrix Rebuild(Run b, IReadOnlyList<RunManifest.LayerEntry> layers, PerceptionVectorBuilder builder, CancellationToken ct)
    {
        var blocks = layers.Select(l => b.ReadFloat32(PerceptionFields.Layer.Member(l.Name))).ToArray();
        int rows = blocks[0].Length / layers[0].Width;
        var vectors = new Matrix(rows, builder.Width);
        const int Chunk = 1024;
        Parallel.For(0, (rows + Chunk - 1) / Chunk, new ParallelOptions { CancellationToken = ct }, () => new float[builder.ScratchLength], (c, _, scratch) =>
        {
            int first = c * Chunk, count = Math.Min(Chunk, rows - first);
            builder.BuildRows(blocks, first, count, vectors.Data.AsSpan(first * builder.Width, count * builder.Width), scratch);
            return scratch;
        }, _ => { });
        return vectors;
    }

    /// <summary>For each B sample still without one, its nearest A sample by cosine (brute force; only samples far from every A sample need it).</summary>
    static void FillNearest(Matrix a, Matrix b, int[] nearestA, CancellationToken ct)
    {
        var missing = Enumerable.Range(0, nearestA.Length).Where(i => nearestA[i] < 0).ToArray();
        if (missing.Length == 0) return;
        var normA = new float[a.Rows];
        for (int i = 0; i < a.Rows; i++) normA[i] = MathF.Sqrt(System.Numerics.Tensors.TensorPrimitives.Dot(a.Row(i), a.Row(i)));
        Parallel.ForEach(missing, new ParallelOptions { CancellationToken = ct }, i =>
        {
            var x = b.Row(i);
            float nx = MathF.Sqrt(System.Numerics.Tensors.TensorPrimitives.Dot(x, x));
            double best = double.NegativeInfinity; int arg = -1;
            for (int j = 0; j < a.Rows; j++)
            {
                double c = System.Numerics.Tensors.TensorPrimitives.Dot(a.Row(j), x) / ((double)normA[j] * nx + 1e-30);
                if (c > best) { best = c; arg = j; }
            }
            nearestA[i] = arg;
        });
    }

    /// <summary>
    /// A's regions: where the model puts each class, by A's labels (else its predictions). Finer regions (A's clusters)
    /// are too small to say "empty" of with confidence; the unfilled samples of a class show the pockets within it.
    /// </summary>
    static (int[] Region, string[] Names) Regions(Run a, RunManifest m)
    {
        using var samples = a.OpenSamples();
        int[]? classOf = samples.Has(PerceptionFields.Label.Name) ? samples.ReadInt32(PerceptionFields.Label) : null;
        if (classOf == null || classOf.All(c => c < 0))
            classOf = samples.Has(PerceptionFields.Prediction.Name) ? samples.ReadInt32(PerceptionFields.Prediction) : new int[a.Count];
        string ClassName(int c) => m.Classes is { } names && c < names.Count ? names[c] : c.ToString(CultureInfo.InvariantCulture);
        int classes = Math.Max(m.NumClasses, classOf.DefaultIfEmpty(-1).Max() + 1);
        var classNames = Enumerable.Range(0, classes).Select(ClassName).Append("unlabelled").ToArray();
        return (classOf.Select(c => c < 0 ? classes : c).ToArray(), classNames);
    }

    static IReadOnlyList<DomainRegion> DescribeRegions(Run a, int[] regionOfA, string[] names, int[] nearestA, double[] ratio, int nA, int nB)
    {
        int r = names.Length;
        var countA = new int[r]; var countB = new int[r]; var unfilled = new int[r];
        var examples = Enumerable.Range(0, r).Select(_ => new List<int>()).ToArray();
        for (int i = 0; i < nA; i++)
        {
            countA[regionOfA[i]]++;
            if (ratio[i] < UnfilledRatio) { unfilled[regionOfA[i]]++; examples[regionOfA[i]].Add(i); }
        }
        // B's samples count in the region of their nearest A sample, unless A has nothing like them (they are added, not filling).
        for (int j = 0; j < nearestA.Length; j++) if (nearestA[j] >= 0 && ratio[nA + j] <= AddedRatio) countB[regionOfA[nearestA[j]]]++;
        string?[] ids;
        using (var samples = a.OpenSamples()) ids = samples.ReadText(SampleKeys.IdField.Name);
        var list = new List<DomainRegion>();
        for (int g = 0; g < r; g++)
        {
            if (countA[g] == 0) continue;
            double shareA = countA[g] / (double)nA, shareB = countB[g] / (double)nB, q = shareB / shareA;
            // A verdict other than filled only when B's count is far (4 standard deviations) from what A's share predicts.
            double expected = shareA * nB, sd = Math.Sqrt(Math.Max(1, expected * (1 - shareA)));
            bool significant = Math.Abs(countB[g] - expected) > 4 * sd;
            string verdict = !significant ? "filled" : q < 0.1 ? "empty" : q < 0.5 ? "thinned" : q > 2 ? "crowded" : "filled";
            // Examples: the unfilled samples furthest from B first.
            var shown = examples[g].OrderBy(i => ratio[i]).ThenBy(i => i).Take(ExamplesListed).Select(i => ids[i] ?? i.ToString(CultureInfo.InvariantCulture)).ToArray();
            list.Add(new DomainRegion(names[g], countA[g], countB[g], Math.Round(shareA, 4), Math.Round(shareB, 4), Math.Round(q, 3), unfilled[g], verdict, shown));
        }
        // The most changed regions first: by how far their ratio is from 1, on a log scale, weighted by their size.
        return list.OrderByDescending(x => Math.Abs(Math.Log((x.ShareB + 1e-3) / (x.ShareA + 1e-3))) * Math.Sqrt(x.ShareA + x.ShareB))
            .ThenBy(x => x.Name, StringComparer.Ordinal).ToArray();
    }

    static IReadOnlyList<DomainAddition> DescribeAdditions(Run b, double[] ratio, int nA, int nB)
    {
        var mb = b.Manifest;
        using var samples = b.OpenSamples();
        var ids = samples.ReadText(SampleKeys.IdField.Name);
        int[]? classOf = samples.Has(PerceptionFields.Prediction.Name) ? samples.ReadInt32(PerceptionFields.Prediction) : null;
        if (classOf == null || classOf.All(c => c < 0))
            classOf = samples.Has(PerceptionFields.Label.Name) ? samples.ReadInt32(PerceptionFields.Label) : new int[nB];
        string ClassName(int c) => c < 0 ? "none" : mb.Classes is { } names && c < names.Count ? names[c] : c.ToString(CultureInfo.InvariantCulture);
        return Enumerable.Range(0, nB).Where(j => ratio[nA + j] > AddedRatio).GroupBy(j => classOf[j])
            .OrderByDescending(g => g.Count()).ThenBy(g => g.Key)
            .Select(g =>
            {
                var ordered = g.OrderByDescending(j => ratio[nA + j]).ThenBy(j => j).ToArray();
                return new DomainAddition(ClassName(g.Key), ordered.Length, Math.Round(ordered.Length / (double)nB, 4),
                    ordered.Take(IndicesListed).Order().ToArray(), ordered.Take(ExamplesListed).Select(j => ids[j] ?? j.ToString(CultureInfo.InvariantCulture)).ToArray());
            }).ToArray();
    }

    static string CardTitle(double separability, IReadOnlyList<DomainRegion> regions, IReadOnlyList<DomainAddition> added, int addedCount, int nB)
    {
        var empty = regions.Where(r => r.Verdict is "empty" or "thinned").Take(3).ToArray();
        var parts = new List<string>();
        if (empty.Length > 0)
            parts.Add("B leaves " + string.Join("; ", empty.Select(r => $"{r.Name} {(r.Verdict == "empty" ? "empty" : "thinned")} ({100 * r.ShareA:F1}% of A, {100 * r.ShareB:F1}% of B)")));
        if (addedCount > 0 && addedCount >= 0.005 * nB)
            parts.Add($"B adds {addedCount:N0} samples ({100.0 * addedCount / nB:F1}%) unlike any of A, mostly predicted " +
                string.Join(", ", added.Take(3).Select(x => $"{x.Class} ({x.Count:N0})")));
        if (parts.Count == 0) return $"no domain gap: B fills A's regions as A does (separability {separability:F2}, 0.5 = none)";
        return $"domain gap (separability {separability:F2}, 0.5 = none): " + string.Join("; ", parts);
    }
}
