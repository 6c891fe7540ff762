using System.Runtime.Intrinsics;
using Percept.Core;
using Percept.Neighbors;

namespace Percept.Projection;

/// <summary>How faithfully a map keeps the neighbourhoods of the data it was made from.</summary>
/// <param name="Trustworthiness">Venna and Kaski's trustworthiness at k (1 = no false neighbours on the map), on a seeded sample.</param>
/// <param name="KnnPreservation">Mean fraction of each point's k nearest high-dimensional neighbours that are among its k nearest on the map (same sample).</param>
/// <param name="K">Neighbourhood size.</param>
/// <param name="SampleSize">Points the two figures were computed on.</param>
public sealed record MapQualityFigures(double Trustworthiness, double KnnPreservation, int K, int SampleSize);

/// <summary>Trustworthiness and k-NN preservation of a map, and per-point preservation for every point.</summary>
public static class MapQuality
{
    /// <summary>
    /// Computes the figures on a seeded sample of at most <paramref name="sampleSize"/> points: exact neighbours in
    /// both spaces within the sample, as scikit-learn's <c>trustworthiness</c> does on the points it is given.
    /// </summary>
    /// <param name="high">The data the map was made from: a matrix, or a run's field read row by row (only the sample is read).</param>
    public static MapQualityFigures Evaluate(IRowSource high, Matrix low, int k = 10, int sampleSize = 5000, ulong seed = 0,
        Metric metric = Metric.Euclidean, int threads = 0)
    {
        if (high.Rows != low.Rows) throw new ArgumentException("the map and the data have different numbers of points");
        int n = high.Rows;
        var rows = Sample(n, sampleSize, seed);
        int m = rows.Length;
        if (m < 3 * k + 2) throw new PerceptException($"map quality at k = {k} needs at least {3 * k + 2} points; there are {m}");
        var h = Distance.Prepare(Subset(high, rows), metric);
        var l = Subset(low, rows);
        var hn = ExactKnn.SquaredNorms(h);
        double penalty = 0;
        long kept = 0;
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = threads > 0 ? threads : Environment.ProcessorCount };
        var penalties = new double[m];
        var keeps = new int[m];
        // Per point: its k nearest on the map by a small insertion list, then the rank of each of them among all
        // high-dimensional distances by counting (ties broken by index, as a stable sort would), instead of sorting
        // both rows of m distances.
        var all = Enumerable.Range(0, m).ToArray();
        Parallel.For(0, m, parallel, () => (new float[m], new float[k], new int[k]), (i, _, s) =>
        {
            var (dist, nearD, nearJ) = s;
            var li = l.Row(i);
            int found = 0;
            for (int j = 0; j < m; j++)
            {
                if (j == i) continue;
                float d = Distance.Squared(li, l.Row(j));
                if (found == k && d >= nearD[k - 1]) continue;
                int at = found < k ? found++ : k - 1;
                while (at > 0 && nearD[at - 1] > d) { nearD[at] = nearD[at - 1]; nearJ[at] = nearJ[at - 1]; at--; }
                nearD[at] = d; nearJ[at] = j;
            }
            Distance.SquaredToMany(h, hn, i, all, dist);
            dist[i] = float.NegativeInfinity;   // the point itself has rank 0
            double pen = 0;
            int keep = 0;
            for (int t = 0; t < k; t++)
            {
                int j = nearJ[t];
                int rank = RankOf(dist, j);
                if (rank > k) pen += rank - k; else keep++;
            }
            penalties[i] = pen;
            keeps[i] = keep;
            return s;
        }, _ => { });
        foreach (var pen in penalties) penalty += pen;
        foreach (var keep in keeps) kept += keep;
        double trust = 1 - 2.0 / (m * k * (2.0 * m - 3 * k - 1)) * penalty;
        return new MapQualityFigures(trust, (double)kept / ((long)m * k), k, m);
    }

    /// <summary>
    /// For every point, the fraction of its <c>k</c> high-dimensional neighbours (from <paramref name="highGraph"/>)
    /// that are among its k nearest on the map (found by NN-descent on the map).
    /// </summary>
    public static float[] PerPointPreservation(KnnGraph highGraph, Matrix low, int k = 10, ulong seed = 0, int threads = 0)
    {
        k = Math.Min(k, highGraph.K);
        // A map of up to three coordinates: its exact neighbours from a k-d tree; wider, NN-descent's.
        var lowGraph = low.Columns <= LowDimensionalKnn.MaxDimensions
            ? LowDimensionalKnn.Search(low, k, threads, seed)
            : NNDescent.Build(low, k, Metric.Euclidean, new NNDescentOptions { Seed = seed, Threads = threads });
        var result = new float[low.Rows];
        Parallel.For(0, low.Rows, new ParallelOptions { MaxDegreeOfParallelism = threads > 0 ? threads : Environment.ProcessorCount }, i =>
        {
            var hi = highGraph.NeighborsOf(i)[..k];
            int hits = 0;
            foreach (var j in lowGraph.NeighborsOf(i)) if (hi.Contains(j)) hits++;
            result[i] = (float)hits / k;
        });
        return result;
    }

    /// <summary>The position of entry j in a stable ascending sort of <paramref name="dist"/>: the entries below it, and the equal ones before it.</summary>
    internal static int RankOf(ReadOnlySpan<float> dist, int j)
    {
        float dj = dist[j];
        int rank = 0, r = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var v = Vector256.Create(dj);
            var below = Vector256<int>.Zero;
            for (; r + 8 <= dist.Length; r += 8) below -= Vector256.LessThan(Vector256.Create(dist.Slice(r, 8)), v).AsInt32();
            rank = Vector256.Sum(below);
        }
        for (; r < dist.Length; r++) if (dist[r] < dj) rank++;
        for (int t = 0; t < j; t++) if (dist[t] == dj) rank++;
        return rank;
    }

    internal static int[] Sample(int n, int size, ulong seed)
    {
        if (n <= size) return Enumerable.Range(0, n).ToArray();
        var rng = new SplitMix64(seed + 0x5A3);
        var perm = Enumerable.Range(0, n).ToArray();
        for (int i = 0; i < size; i++)
        {
            int j = i + (int)(rng.Next() % (ulong)(n - i));
            (perm[i], perm[j]) = (perm[j], perm[i]);
        }
        var s = perm[..size];
        Array.Sort(s);
        return s;
    }

    internal static Matrix Subset(IRowSource m, int[] rows)
    {
        var r = new Matrix(rows.Length, m.Columns);
        for (int i = 0; i < rows.Length; i++) m.Read(rows[i], 1, r.Row(i));
        return r;
    }
}
