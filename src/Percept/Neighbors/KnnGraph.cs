namespace Percept.Neighbors;

/// <summary>
/// The k nearest neighbours of each of <see cref="Count"/> points: row i of <see cref="Indices"/> and
/// <see cref="Distances"/> lists point i's neighbours, nearest first (a point is not its own neighbour).
/// </summary>
public sealed class KnnGraph(int[] indices, float[] distances, int count, int k)
{
    public int[] Indices { get; } = indices;
    public float[] Distances { get; } = distances;
    public int Count { get; } = count;
    public int K { get; } = k;

    public ReadOnlySpan<int> NeighborsOf(int i) => Indices.AsSpan(i * K, K);
    public ReadOnlySpan<float> DistancesOf(int i) => Distances.AsSpan(i * K, K);

    /// <summary>The graph with only each point's first <paramref name="k"/> neighbours (this graph when it has no more).</summary>
    public KnnGraph First(int k)
    {
        if (k >= K) return this;
        var indices = new int[Count * k];
        var distances = new float[Count * k];
        for (int i = 0; i < Count; i++)
        {
            NeighborsOf(i)[..k].CopyTo(indices.AsSpan(i * k, k));
            DistancesOf(i)[..k].CopyTo(distances.AsSpan(i * k, k));
        }
        return new KnnGraph(indices, distances, Count, k);
    }

    /// <summary>Fraction of the true neighbours (<paramref name="exact"/>) that this graph found, over the rows given.</summary>
    public double Recall(KnnGraph exact, IReadOnlyList<int>? rows = null, int? k = null)
    {
        int kk = Math.Min(k ?? K, Math.Min(K, exact.K));
        long hits = 0, total = 0;
        var set = new HashSet<int>();
        foreach (int i in rows ?? Enumerable.Range(0, Count).ToArray())
        {
            set.Clear();
            var e = exact.NeighborsOf(i)[..kk];
            foreach (var x in e) set.Add(x);
            foreach (var x in NeighborsOf(i)[..kk]) if (set.Contains(x)) hits++;
            total += kk;
        }
        return total == 0 ? 1 : (double)hits / total;
    }
}

/// <summary>A fixed-size max-heap of (distance, index) pairs: the current k best candidates of one point.</summary>
internal static class NeighborHeap
{
    /// <summary>Pushes (d, j) into the heap stored in dist/idx if it is closer than the worst and not present. Returns true if it was added.</summary>
    public static bool Push(Span<float> dist, Span<int> idx, float d, int j, bool checkDuplicate)
    {
        if (d >= dist[0]) return false;
        if (checkDuplicate)
            for (int t = 0; t < idx.Length; t++) if (idx[t] == j) return false;
        // Replace the root (the worst) and sift down.
        int n = dist.Length, i = 0;
        while (true)
        {
            int l = 2 * i + 1, r = l + 1, c;
            if (l >= n) break;
            c = r < n && dist[r] > dist[l] ? r : l;
            if (dist[c] <= d) break;
            dist[i] = dist[c]; idx[i] = idx[c];
            i = c;
        }
        dist[i] = d; idx[i] = j;
        return true;
    }

    /// <summary>
    /// Pushes (d, j) if it comes before the heap's last in the order of distance, then index, and returns true if it
    /// was added: the heap keeps the k first of everything offered in that order, whatever the order of the offers
    /// (ties included). Empty slots are (+∞, −1).
    /// </summary>
    public static bool PushOrdered(Span<float> dist, Span<int> idx, float d, int j)
    {
        if (!(d < dist[0] || (d == dist[0] && j < idx[0]))) return false;
        SiftDownOrdered(dist, idx, d, j);
        return true;
    }

    /// <summary>Puts (d, j) at the root of the max-heap in dist/idx (ordered by distance, then index) and sifts it down.</summary>
    public static void SiftDownOrdered(Span<float> dist, Span<int> idx, float d, int j)
    {
        int n = dist.Length, i = 0;
        while (true)
        {
            int l = 2 * i + 1, r = l + 1;
            if (l >= n) break;
            int c = r < n && After(dist[r], idx[r], dist[l], idx[l]) ? r : l;
            if (!After(dist[c], idx[c], d, j)) break;
            dist[i] = dist[c]; idx[i] = idx[c];
            i = c;
        }
        dist[i] = d; idx[i] = j;
    }

    /// <summary>Whether (da, ia) comes after (db, ib) in the order of distance, then index.</summary>
    internal static bool After(float da, int ia, float db, int ib) => da > db || (da == db && ia > ib);

    /// <summary>Sorts a heap's contents ascending by distance (heap order is destroyed).</summary>
    public static void Sort(Span<float> dist, Span<int> idx)
    {
        // Insertion sort: k is small.
        for (int a = 1; a < dist.Length; a++)
        {
            float d = dist[a]; int j = idx[a]; int b = a - 1;
            while (b >= 0 && (dist[b] > d || (dist[b] == d && idx[b] > j))) { dist[b + 1] = dist[b]; idx[b + 1] = idx[b]; b--; }
            dist[b + 1] = d; idx[b + 1] = j;
        }
    }
}
