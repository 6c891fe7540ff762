using Percept.Neighbors;

namespace Percept.Projection;

/// <summary>Builds a symmetric sparse graph from a directed k-NN graph with per-edge weights.</summary>
internal static class SparseSymmetric
{
    /// <summary>
    /// Each unordered pair {i, j} linked in either direction gets the weight <c>combine(w(i→j), w(j→i))</c>, with a missing
    /// direction counting as 0; the result lists every edge under both end points, in ascending order of neighbour.
    /// </summary>
    public static Umap.SparseGraph FromKnn(KnnGraph knn, float[] weights, Func<float, float, float> combine)
    {
        int n = knn.Count, k = knn.K;
        // Every directed edge as (min, max) key with its weight in the forward or backward slot; sort by key to merge.
        var keys = new long[n * k];
        var forward = new float[n * k];
        var backward = new float[n * k];
        int m = 0;
        for (int i = 0; i < n; i++)
            for (int t = 0; t < k; t++)
            {
                int j = knn.Indices[i * k + t];
                if (j < 0 || j == i) continue;
                float w = weights[i * k + t];
                keys[m] = i < j ? (long)i * n + j : (long)j * n + i;
                forward[m] = i < j ? w : 0; backward[m] = i < j ? 0 : w;
                m++;
            }
        var order = Enumerable.Range(0, m).ToArray();
        Array.Sort(keys[..m], order);
        var mergedKey = new List<long>(m);
        var mergedW = new List<float>(m);
        for (int a = 0; a < m;)
        {
            long key = keys[order[a]];
            float f = 0, b = 0;
            for (; a < m && keys[order[a]] == key; a++) { f = Math.Max(f, forward[order[a]]); b = Math.Max(b, backward[order[a]]); }
            mergedKey.Add(key); mergedW.Add(combine(f, b));
        }
        var counts = new int[n];
        foreach (var key in mergedKey) { counts[(int)(key / n)]++; counts[(int)(key % n)]++; }
        var rowStart = new int[n + 1];
        for (int i = 0; i < n; i++) rowStart[i + 1] = rowStart[i] + counts[i];
        var fill = (int[])rowStart.Clone();
        var cols = new int[rowStart[n]];
        var ws = new float[rowStart[n]];
        for (int e = 0; e < mergedKey.Count; e++)
        {
            int i = (int)(mergedKey[e] / n), j = (int)(mergedKey[e] % n);
            cols[fill[i]] = j; ws[fill[i]++] = mergedW[e];
            cols[fill[j]] = i; ws[fill[j]++] = mergedW[e];
        }
        return new Umap.SparseGraph(rowStart, cols, ws, n);
    }
}
