using System.Globalization;
using Percept.Core;
using Percept.Neighbors;
using Percept.Perception;
using Percept.Store;

namespace Percept.Comparison;

/// <summary>
/// A region of A's perception space (where the model puts one class of A's samples) and how B fills it: the share of
/// A's measured samples in it against the share of B's measured samples whose nearest A sample lies in it, B's added
/// samples left out of both the count and the total.
/// </summary>
/// <param name="Name">The class.</param>
/// <param name="Ratio">ShareB / ShareA: 1 when B fills the region as A does, 0 when B leaves it empty.</param>
/// <param name="Unfilled">A's samples in the region with no B sample near them (density ratio below 1/8).</param>
/// <param name="Verdict">
/// <c>empty</c> (ratio below 0.1), <c>thinned</c> (below 0.5), <c>crowded</c> (above 2), each only when the two shares
/// differ by more than 4 standard errors (a pooled two-proportion test); else <c>filled</c>.
/// </param>
public sealed record DomainRegion(string Name, int CountA, int CountB, double ShareA, double ShareB, double Ratio, int Unfilled, string Verdict,
    IReadOnlyList<string> ExamplesA);

/// <summary>B's samples that no A sample resembles (density ratio above 8), grouped by the class B's model predicts (or its label).</summary>
public sealed record DomainAddition(string Class, int Count, double ShareOfB, IReadOnlyList<int> IndicesB, IReadOnlyList<string> ExamplesB);

/// <summary>
/// Two datasets seen by one model (docs/compare.md): B's perception vectors rebuilt in A's space (A's feature statistics),
/// as many samples of each (all of the smaller dataset, a seeded sample of the larger), the k-NN graph of both together,
/// and from it each sample's density ratio (its B neighbours over its A neighbours).
/// </summary>
/// <param name="Separability">
/// Balanced accuracy of telling A's samples from B's by their neighbours' datasets: 0.5 when B is drawn like A, 1 when
/// the two never meet.
/// </param>
/// <param name="UnfilledA">A's samples with no B sample near them; <paramref name="AddedB"/>, B's with no A sample near them (the measured shares times the datasets' sizes).</param>
/// <param name="Card">The gap in a sentence, as an insight card's title.</param>
/// <param name="MeasuredA">Samples of A measured (all, or a seeded sample as large as B's); <paramref name="MeasuredB"/>, of B. Region and added counts are over them.</param>
public sealed record DomainGap(int K, string Space, double Separability, int UnfilledA, int AddedB, IReadOnlyList<DomainRegion> Regions,
    IReadOnlyList<DomainAddition> Added, string Card, int MeasuredA, int MeasuredB);

/// <summary>Compares one model's perception of two datasets: which regions of A's space B fills, leaves empty or adds.</summary>
public static class DomainComparison
{
    /// <summary>Density ratios beyond these (8× fewer or more B neighbours than A neighbours) mark a sample as unfilled or added.</summary>
    public const double UnfilledRatio = 1 / 8.0, AddedRatio = 8;

    /// <summary>Most samples measured from each dataset (a seeded sample beyond it; fewer when the vectors are wide).</summary>
    public const int MaxPerSide = 50_000;

    const int ExamplesListed = 8, IndicesListed = 2000;

    /// <param name="k">Neighbours per sample in the graph of both datasets.</param>
    /// <exception cref="PerceptException">The runs were made by different models, or record different layers.</exception>
    public static DomainGap Compare(Run a, Run b, int k = 10, ulong seed = 1, CancellationToken ct = default)
    {
        if (k < 1) throw new PerceptException("k must be at least 1");
        var ma = a.Manifest; var mb = b.Manifest;
        if (ma.Model.Sha256 != mb.Model.Sha256)
            throw new PerceptException($"the runs were made by different models ({Path.GetFileName(ma.Model.Path)}, {Path.GetFileName(mb.Model.Path)}), so they are not two datasets seen by one model: " +
                $"runs of the same samples are matched by id ({Terms.Option("match")} samples)");
        var layers = ma.Perception.Layers;
        if (layers.Count == 0 || mb.Perception.Layers.Count != layers.Count || layers.Zip(mb.Perception.Layers).Any(p => p.First.Name != p.Second.Name || p.First.Width != p.Second.Width))
            throw new PerceptException("the runs record different layers: analyse both datasets with the same model and options");
        if ((ma.Text?.MaskedPooling ?? false) != (mb.Text?.MaskedPooling ?? false))
            throw new PerceptException("one run pooled its token layers over the tokens that are not padding and the other over every position (an older run): analyse both datasets with the same build of Percept");

        // B in A's space: B's pooled layers standardised with A's statistics, weighted and projected as A's vectors were.
        var stats = layers.Select(l => a.ReadFloat32(PerceptionFields.LayerStats.Member(l.Name))).ToArray();
        var builder = new PerceptionVectorBuilder(stats.Select(s => s[..(s.Length / 2)]).ToArray(), stats.Select(s => s[(s.Length / 2)..]).ToArray(),
            ma.Perception.MaxWidth, ma.Perception.Seed);
        using var readerA = a.Open(PerceptionFields.Embedding);
        if (readerA.Columns != builder.Width) throw new PerceptException($"run {a.Directory}: its vectors are {readerA.Columns} wide, its layers make {builder.Width}: analyse it again");
        int nA = a.Count, nB = b.Count, width = builder.Width;
        if (nA < 2 || nB < 2) throw new PerceptException("each dataset needs at least two samples");

        // As many samples from each side (all of the smaller, a seeded sample of the larger): a neighbour's dataset is then
        // as likely A as B where the two are drawn alike, whatever their sizes, and the ratios below mean the same for
        // every pair of datasets. At most MaxPerSide each, and at most 2^27 floats of vectors per side.
        int m = Math.Max(2, Math.Min(Math.Min(nA, nB), Math.Min(MaxPerSide, (1 << 27) / width)));
        int[] pickA = Pick(nA, m, seed), pickB = Pick(nB, m, seed + 1);
        var union = new Matrix(2 * m, width);
        new Projection.SelectedRows(readerA, pickA).Read(0, m, union.Data.AsSpan(0, m * width));
        Rebuild(b, layers, builder, pickB, union.Data.AsSpan(m * width, m * width), ct);
        // Rows with non-finite vectors are left out, as from a run's own graph.
        var finite = Projection.NeighborSpace.FiniteRows(union);
        var rows = finite.Length == union.Rows ? union : Matrix.From(new Projection.SelectedRows(union, finite));
        int measuredA = finite.Count(r => r < m), measuredB = finite.Length - measuredA;
        if (measuredA < 2 || measuredB < 2) throw new PerceptException("each dataset needs at least two samples with finite perception vectors");
        var (space, spaceName) = Projection.NeighborSpace.Of(rows, seed, 0, ct);
        ct.ThrowIfCancellationRequested();
        int kk = Math.Min(k, space.Rows - 1);
        var graph = NeighborGraph.Build(space, kk, Metric.Cosine, seed: seed, cancellationToken: ct);

        // Per measured sample: its neighbours from each side, the density ratio (B over A, each over its side's size,
        // half a neighbour added to each), and for a B sample its nearest A sample.
        int n = space.Rows;
        var ratio = new double[n];
        var nearestA = new int[n];
        double rightA = 0, rightB = 0;
        for (int i = 0; i < n; i++)
        {
            int fromA = 0, fromB = 0, firstA = -1;
            foreach (int j in graph.NeighborsOf(i))
            {
                if (j < 0) continue;
                if (finite[j] < m) { fromA++; if (firstA < 0) firstA = j; } else fromB++;
            }
            ratio[i] = (fromB + 0.5) / measuredB / ((fromA + 0.5) / measuredA);
            nearestA[i] = firstA;
            // The two-sample test: a sample's own dataset, guessed from its neighbours' (each side's count over its size;
            // the sides are as large, so an even split is a tie, which counts half).
            bool inA = finite[i] < m;
            double own = inA ? fromA / (double)measuredA : fromB / (double)measuredB, other = inA ? fromB / (double)measuredB : fromA / (double)measuredA;
            double right = own > other ? 1 : own == other ? 0.5 : 0;
            if (inA) rightA += right; else rightB += right;
        }
        double separability = (rightA / measuredA + rightB / measuredB) / 2;
        // Back to each run's own sample indices.
        int Original(int row) => finite[row] < m ? pickA[finite[row]] : pickB[finite[row] - m];
        bool IsA(int row) => finite[row] < m;

        var (regionOfA, regionNames) = Regions(a, ma);
        int unfilled = 0, addedCount = 0;
        for (int i = 0; i < n; i++)
            if (IsA(i) && ratio[i] < UnfilledRatio) unfilled++;
            else if (!IsA(i) && ratio[i] > AddedRatio) addedCount++;
        var regions = DescribeRegions(a, regionOfA, regionNames, n, IsA, Original, nearestA, ratio, measuredA, measuredB - addedCount);
        var added = DescribeAdditions(b, n, IsA, Original, ratio, measuredB);
        // Counts for the whole datasets: the measured shares times their sizes (exact when every sample was measured).
        int unfilledAll = (int)Math.Round(unfilled * (double)nA / measuredA), addedAll = (int)Math.Round(addedCount * (double)nB / measuredB);
        return new DomainGap(kk, spaceName, Math.Round(separability, 4), unfilledAll, addedAll, regions, added,
            CardTitle(separability, regions, added, addedAll, nB), measuredA, measuredB);
    }

    /// <summary><paramref name="m"/> of <paramref name="n"/> indices, in order: all of them, or a seeded sample.</summary>
    static int[] Pick(int n, int m, ulong seed)
    {
        if (m >= n) return Enumerable.Range(0, n).ToArray();
        var all = Enumerable.Range(0, n).ToArray();
        var rng = new SplitMix64(seed);
        for (int i = 0; i < m; i++) { int j = i + rng.NextInt(n - i); (all[i], all[j]) = (all[j], all[i]); }
        return all[..m].Order().ToArray();
    }

    /// <summary>The perception vectors of B's samples <paramref name="rows"/> in A's space, from B's pooled layers (only those rows read).</summary>
    static void Rebuild(Run b, IReadOnlyList<RunManifest.LayerEntry> layers, PerceptionVectorBuilder builder, int[] rows, Span<float> destination, CancellationToken ct)
    {
        var blocks = new float[layers.Count][];
        for (int l = 0; l < layers.Count; l++)
        {
            using var reader = b.Open(PerceptionFields.Layer.Member(layers[l].Name));
            blocks[l] = new float[rows.Length * layers[l].Width];
            new Projection.SelectedRows(reader, rows).Read(0, rows.Length, blocks[l]);
        }
        var vectors = new float[rows.Length * builder.Width];
        const int Chunk = 1024;
        Parallel.For(0, (rows.Length + Chunk - 1) / Chunk, new ParallelOptions { CancellationToken = ct }, () => new float[builder.ScratchLength], (c, _, scratch) =>
        {
            int first = c * Chunk, count = Math.Min(Chunk, rows.Length - first);
            builder.BuildRows(blocks, first, count, vectors.AsSpan(first * builder.Width, count * builder.Width), scratch);
            return scratch;
        }, _ => { });
        vectors.CopyTo(destination);
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

    static IReadOnlyList<DomainRegion> DescribeRegions(Run a, int[] regionOfA, string[] names, int n, Func<int, bool> isA, Func<int, int> original,
        int[] nearestA, double[] ratio, int measuredA, int fillingB)
    {
        int r = names.Length;
        var countA = new int[r]; var countB = new int[r]; var unfilled = new int[r];
        var examples = Enumerable.Range(0, r).Select(_ => new List<int>()).ToArray();
        for (int i = 0; i < n; i++)
        {
            if (isA(i))
            {
                int g = regionOfA[original(i)];
                countA[g]++;
                if (ratio[i] < UnfilledRatio) { unfilled[g]++; examples[g].Add(i); }
            }
            // B's samples count in the region of their nearest A sample, unless A has nothing like them (added, not filling).
            else if (ratio[i] <= AddedRatio && nearestA[i] >= 0) countB[regionOfA[original(nearestA[i])]]++;
        }
        string?[] ids;
        using (var samples = a.OpenSamples()) ids = samples.ReadText(SampleKeys.IdField.Name);
        var list = new List<DomainRegion>();
        for (int g = 0; g < r; g++)
        {
            if (countA[g] == 0) continue;
            double shareA = countA[g] / (double)measuredA, shareB = fillingB > 0 ? countB[g] / (double)fillingB : 0, q = shareB / shareA;
            // A verdict other than filled only when the two shares differ by more than 4 standard errors (two proportions, pooled).
            double pooled = (countA[g] + countB[g]) / (double)(measuredA + Math.Max(1, fillingB));
            double se = Math.Sqrt(Math.Max(1e-12, pooled * (1 - pooled) * (1.0 / measuredA + 1.0 / Math.Max(1, fillingB))));
            bool significant = Math.Abs(shareB - shareA) > 4 * se;
            string verdict = !significant ? "filled" : q < 0.1 ? "empty" : q < 0.5 ? "thinned" : q > 2 ? "crowded" : "filled";
            // Examples: the unfilled samples furthest from B first.
            var shown = examples[g].OrderBy(i => ratio[i]).ThenBy(original).Take(ExamplesListed).Select(i => ids[original(i)] ?? original(i).ToString(CultureInfo.InvariantCulture)).ToArray();
            list.Add(new DomainRegion(names[g], countA[g], countB[g], Math.Round(shareA, 4), Math.Round(shareB, 4), Math.Round(q, 3), unfilled[g], verdict, shown));
        }
        // The most changed regions first: by how far their ratio is from 1, on a log scale, weighted by their size.
        return list.OrderByDescending(x => Math.Abs(Math.Log((x.ShareB + 1e-3) / (x.ShareA + 1e-3))) * Math.Sqrt(x.ShareA + x.ShareB))
            .ThenBy(x => x.Name, StringComparer.Ordinal).ToArray();
    }

    static IReadOnlyList<DomainAddition> DescribeAdditions(Run b, int n, Func<int, bool> isA, Func<int, int> original, double[] ratio, int measuredB)
    {
        var mb = b.Manifest;
        using var samples = b.OpenSamples();
        var ids = samples.ReadText(SampleKeys.IdField.Name);
        int[]? classOf = samples.Has(PerceptionFields.Prediction.Name) ? samples.ReadInt32(PerceptionFields.Prediction) : null;
        if (classOf == null || classOf.All(c => c < 0))
            classOf = samples.Has(PerceptionFields.Label.Name) ? samples.ReadInt32(PerceptionFields.Label) : new int[b.Count];
        string ClassName(int c) => c < 0 ? "none" : mb.Classes is { } names && c < names.Count ? names[c] : c.ToString(CultureInfo.InvariantCulture);
        return Enumerable.Range(0, n).Where(i => !isA(i) && ratio[i] > AddedRatio).GroupBy(i => classOf[original(i)])
            .OrderByDescending(g => g.Count()).ThenBy(g => g.Key)
            .Select(g =>
            {
                var ordered = g.OrderByDescending(i => ratio[i]).ThenBy(original).ToArray();
                return new DomainAddition(ClassName(g.Key), ordered.Length, Math.Round(ordered.Length / (double)measuredB, 4),
                    ordered.Take(IndicesListed).Select(original).Order().ToArray(),
                    ordered.Take(ExamplesListed).Select(i => ids[original(i)] ?? original(i).ToString(CultureInfo.InvariantCulture)).ToArray());
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
