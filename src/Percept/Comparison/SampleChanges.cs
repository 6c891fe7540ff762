using Percept.Core;
using Percept.Neighbors;
using Percept.Perception;
using Percept.Projection;
using Percept.Store;

namespace Percept.Comparison;

/// <summary>
/// Per sample of run A, what became of it in run B (same samples, matched by id): B's index of it, the share of its k
/// nearest neighbours in A that stay among its k nearest in B, and its change: fixed, broken, moved, unchanged, or only
/// in A. With B's map aligned to A's on the shared samples, this is what a side-by-side view of two runs draws.
/// </summary>
/// <param name="ToB">B's index of each of A's samples (−1: not in B).</param>
/// <param name="Overlap">The share of its neighbours kept (NaN: not in B, or no neighbours).</param>
/// <param name="Change">Index into <see cref="SampleChanges.Categories"/>.</param>
/// <param name="AlignedMapB">B's map, B's rows, rotated, scaled and moved onto A's over the shared samples (null when a run has no 2-D map).</param>
public sealed record SampleChangeSet(int[] ToB, float[] Overlap, int[] Change, Matrix? AlignedMapB);

/// <summary>Computes <see cref="SampleChangeSet"/>.</summary>
public static class SampleChanges
{
    /// <summary>The change categories, in code order.</summary>
    public static readonly IReadOnlyList<string> Categories = ["fixed", "broken", "moved", "unchanged", "only in A"];

    public const int Fixed = 0, Broken = 1, Moved = 2, Unchanged = 3, OnlyInA = 4;

    /// <summary>Below this share of its neighbours kept, a sample whose prediction did not turn right or wrong has moved.</summary>
    public const float MovedBelow = 0.2f;

    /// <param name="k">Neighbours per sample (at most the runs' graphs' k).</param>
    public static SampleChangeSet Compute(Run a, Run b, int k = 10, CancellationToken ct = default)
    {
        var (idsA, labels, predA, _) = RunComparison.Read(a);
        var (idsB, _, predB, _) = RunComparison.Read(b);
        var indexB = new Dictionary<string, int>(idsB.Length, StringComparer.Ordinal);
        for (int j = 0; j < idsB.Length; j++) indexB.TryAdd(idsB[j] ?? "", j);
        var toB = new int[idsA.Length];
        for (int i = 0; i < idsA.Length; i++) toB[i] = indexB.TryGetValue(idsA[i] ?? "", out int j) ? j : -1;
        if (!toB.Any(j => j >= 0) || RunComparison.Decide(a, b, idsA, idsB) == SampleMatching.Datasets)
            throw new PerceptException($"the runs hold two datasets (no shared sample id, or positions in different data files), not the same samples: " +
                $"a side-by-side view needs the same samples; {Terms.Command("compare")} reports the domain gap between two datasets");
        ct.ThrowIfCancellationRequested();

        var overlap = new float[idsA.Length];
        Array.Fill(overlap, float.NaN);
        if (a.Manifest.Neighbors != null && b.Manifest.Neighbors != null)
        {
            var graphA = RunGraph.Read(a).Graph; var graphB = RunGraph.Read(b).Graph;
            int kk = Math.Min(k, Math.Min(graphA.K, graphB.K));
            var ga = graphA.First(kk); var gb = graphB.First(kk);
            Parallel.For(0, idsA.Length, new ParallelOptions { CancellationToken = ct }, () => new HashSet<int>(), (i, _, kept) =>
            {
                int j = toB[i];
                if (j < 0) return kept;
                kept.Clear();
                foreach (int x in gb.NeighborsOf(j)) if (x >= 0) kept.Add(x);
                int same = 0, counted = 0;
                foreach (int x in ga.NeighborsOf(i))
                {
                    if (x < 0 || toB[x] < 0) continue;
                    counted++;
                    if (kept.Contains(toB[x])) same++;
                }
                if (counted > 0) overlap[i] = same / (float)counted;
                return kept;
            }, _ => { });
        }

        var change = new int[idsA.Length];
        for (int i = 0; i < idsA.Length; i++)
        {
            int j = toB[i];
            if (j < 0) { change[i] = OnlyInA; continue; }
            bool labelled = labels[i] >= 0 && predA[i] >= 0 && predB[j] >= 0;
            bool rightA = labelled && predA[i] == labels[i], rightB = labelled && predB[j] == labels[i];
            change[i] = labelled && !rightA && rightB ? Fixed
                : labelled && rightA && !rightB ? Broken
                : overlap[i] < MovedBelow || (predA[i] >= 0 && predB[j] >= 0 && predA[i] != predB[j]) ? Moved
                : Unchanged;
        }
        return new SampleChangeSet(toB, overlap, change, AlignMap(a, b, toB));
    }

    /// <summary>B's map moved onto A's over the shared samples with finite coordinates in both (rotation, reflection, uniform scale, translation).</summary>
    static Matrix? AlignMap(Run a, Run b, int[] toB)
    {
        if (a.Manifest.Map is not { Dimensions: 2 } || b.Manifest.Map is not { Dimensions: 2 }) return null;
        var fromB = new int[b.Count];
        Array.Fill(fromB, -1);
        for (int i = 0; i < toB.Length; i++) if (toB[i] >= 0) fromB[toB[i]] = i;
        return Procrustes.AlignOnShared(b.ReadMatrix(MapFields.Map), a.ReadMatrix(MapFields.Map), fromB);
    }
}
