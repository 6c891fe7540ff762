using Percept.Neighbors;

namespace Percept.Projection;

/// <summary>Builds a symmetric sparse graph from a directed k-NN graph with per-edge weights.</summary>
internal static class SparseSymmetric
{
    /// <summary>
    /// Each unordered pair {i, j} linked in either direction gets the weight <c>combine(w(i→j), w(j→i))</c> for i &lt; j,
    /// with a missing direction counting as 0; the result lists every edge under both end points, in ascending order of
    /// neighbour. Built row by row from the k-NN lists and their reverse (who lists each point), so it needs about two
    /// k-NN graphs of memory besides the result, where sorting every directed edge by pair needed five.
    /// </summary>
    public static Umap.SparseGraph FromKnn(KnnGraph knn, float[] weights, Func<float, float, float> combine)
    {
        int n = knn.Count, k = knn.K;
        // Reverse lists: for each j, the points i that list j, filled in increasing i (so each list is sorted).
        var revStart = new int[n + 1];
        for (int e = 0; e < n * k; e++)
        {
            int j = knn.Indices[e];
            if (j >= 0 && j != e / k) revStart[j + 1]++;
        }
        for (int i = 0; i < n; i++) revStart[i + 1] += revStart[i];
        var revFrom = new int[revStart[n]];
        var revWeight = new float[revStart[n]];
        var fill = revStart[..n];
        for (int i = 0; i < n; i++)
            for (int t = 0; t < k; t++)
            {
                int j = knn.Indices[i * k + t];
                if (j < 0 || j == i) continue;
                revFrom[fill[j]] = i; revWeight[fill[j]++] = weights[i * k + t];
            }

        // Each row is the merge of its own list (sorted here) and its reverse list; counted first, then written.
        var rowStart = new int[n + 1];
        Parallel.For(0, n, () => (new int[k], new float[k]), (i, _, buffer) =>
        {
            rowStart[i + 1] = MergeRow(i, knn, weights, revFrom, revWeight, revStart, buffer.Item1, buffer.Item2, combine, null, null, 0);
            return buffer;
        }, _ => { });
        for (int i = 0; i < n; i++) rowStart[i + 1] += rowStart[i];
        var cols = new int[rowStart[n]];
        var ws = new float[rowStart[n]];
        Parallel.For(0, n, () => (new int[k], new float[k]), (i, _, buffer) =>
        {
            MergeRow(i, knn, weights, revFrom, revWeight, revStart, buffer.Item1, buffer.Item2, combine, cols, ws, rowStart[i]);
            return buffer;
        }, _ => { });
        return new Umap.SparseGraph(rowStart, cols, ws, n);
    }

    /// <summary>Row i's neighbours in ascending order with their combined weights (written from <paramref name="at"/> when <paramref name="cols"/> is given); returns their count.</summary>
    static int MergeRow(int i, KnnGraph knn, float[] weights, int[] revFrom, float[] revWeight, int[] revStart,
        int[] outJ, float[] outW, Func<float, float, float> combine, int[]? cols, float[]? ws, int at)
    {
        int k = knn.K, m = 0;
        for (int t = 0; t < k; t++)
        {
            int j = knn.Indices[i * k + t];
            if (j < 0 || j == i) continue;
            outJ[m] = j; outW[m++] = weights[i * k + t];
        }
        Array.Sort(outJ, outW, 0, m);
        int a = 0, b = revStart[i], bEnd = revStart[i + 1], count = 0;
        while (a < m || b < bEnd)
        {
            int j = a < m && (b >= bEnd || outJ[a] <= revFrom[b]) ? outJ[a] : revFrom[b];
            // The weight of i→j and of j→i (0 when absent; the largest if listed twice).
            float forward = 0, backward = 0;
            for (; a < m && outJ[a] == j; a++) forward = Math.Max(forward, outW[a]);
            for (; b < bEnd && revFrom[b] == j; b++) backward = Math.Max(backward, revWeight[b]);
            if (cols != null) { cols[at + count] = j; ws![at + count] = i < j ? combine(forward, backward) : combine(backward, forward); }
            count++;
        }
        return count;
    }
}
