namespace Percept.Projection;

/// <summary>
/// t-SNE's repulsive forces by Barnes–Hut (van der Maaten, 2014): a quadtree over the current layout, stored in flat
/// arrays reused from one iteration to the next (leaves hold up to a few points); a cell is summarised by its centre of
/// mass when its width is below θ times its distance. O(N log N) a step, but far slower than interpolation on large N.
/// </summary>
internal sealed class QuadTree
{
    /// <summary>Writes Σⱼ qᵢⱼ² (yᵢ − yⱼ) to <paramref name="repulsion"/> and returns Z = Σ_{i≠j} qᵢⱼ, summed in a fixed order.</summary>
    public double Repulsion(float[] y, float[] repulsion, float theta, int threads)
    {
        Build(y);
        int n = _order.Length;
        const int chunk = 256;
        int chunks = (n + chunk - 1) / chunk;
        var zParts = new double[chunks];
        Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, threads) }, () => new int[4 * 64 + 8], (c, _, stack) =>
        {
            double z = 0;
            int i1 = Math.Min(n, (c + 1) * chunk);
            // Points in tree order: neighbours on the map walk the same cells, which stay in cache.
            for (int t = c * chunk; t < i1; t++)
            {
                int i = _order[t];
                Repulsion(i, theta * theta, stack, out double fx, out double fy, out double zi);
                repulsion[2 * i] = (float)fx; repulsion[2 * i + 1] = (float)fy;
                z += zi;
            }
            zParts[c] = z;
            return stack;
        }, _ => { });
        double zSum = 0;
        foreach (var z in zParts) zSum += z;
        return zSum;
    }

    const int LeafSize = 8;
    float[] _y = [];
    readonly int[] _order;
    readonly int[] _scratch;
    readonly List<Node> _nodes = new();

    /// <summary>The points in the order of the tree's leaves.</summary>
    public int[] Order => _order;

    struct Node
    {
        public float ComX, ComY, Width;
        public int Count, FirstChild, Start, End; // FirstChild < 0: leaf over _order[Start..End)
    }

    public QuadTree(int n)
    {
        _order = Enumerable.Range(0, n).ToArray();
        _scratch = new int[n];
    }

    /// <summary>Rebuilds the tree over layout <paramref name="y"/> (interleaved x, y).</summary>
    public void Build(float[] y)
    {
        _y = y;
        int n = _order.Length;
        _nodes.Clear();
        float minX = float.MaxValue, minY = float.MaxValue, maxX = float.MinValue, maxY = float.MinValue;
        for (int i = 0; i < n; i++)
        {
            minX = Math.Min(minX, y[2 * i]); maxX = Math.Max(maxX, y[2 * i]);
            minY = Math.Min(minY, y[2 * i + 1]); maxY = Math.Max(maxY, y[2 * i + 1]);
        }
        float half = Math.Max(maxX - minX, maxY - minY) / 2 * 1.0001f + 1e-12f;
        _nodes.Add(default);
        Build(0, 0, n, (minX + maxX) / 2, (minY + maxY) / 2, half, _scratch, 0);
    }

    void Build(int node, int start, int end, float cx, float cy, float half, int[] scratch, int depth)
    {
        var nd = new Node { Width = 2 * half, Count = end - start, Start = start, End = end, FirstChild = -1 };
        if (end - start <= LeafSize || depth >= 40)
        {
            double sx = 0, sy = 0;
            for (int t = start; t < end; t++) { sx += _y[2 * _order[t]]; sy += _y[2 * _order[t] + 1]; }
            nd.ComX = (float)(sx / Math.Max(1, end - start)); nd.ComY = (float)(sy / Math.Max(1, end - start));
            _nodes[node] = nd;
            return;
        }
        // Counting sort of the range into quadrants 0..3 (bit 0: right of cx, bit 1: above cy).
        Span<int> counts = stackalloc int[4];
        for (int t = start; t < end; t++) counts[Quadrant(_order[t], cx, cy)]++;
        Span<int> offsets = stackalloc int[5];
        offsets[0] = start;
        for (int q = 0; q < 4; q++) offsets[q + 1] = offsets[q] + counts[q];
        Span<int> fill = stackalloc int[4];
        for (int q = 0; q < 4; q++) fill[q] = offsets[q];
        for (int t = start; t < end; t++) { int pt = _order[t]; scratch[fill[Quadrant(pt, cx, cy)]++] = pt; }
        Array.Copy(scratch, start, _order, start, end - start);
        int first = _nodes.Count;
        for (int q = 0; q < 4; q++) _nodes.Add(default);
        nd.FirstChild = first;
        float h = half / 2;
        double mx = 0, my = 0;
        for (int q = 0; q < 4; q++)
        {
            Build(first + q, offsets[q], offsets[q + 1], cx + ((q & 1) != 0 ? h : -h), cy + ((q & 2) != 0 ? h : -h), h, scratch, depth + 1);
            var c = _nodes[first + q];
            mx += (double)c.ComX * c.Count; my += (double)c.ComY * c.Count;
        }
        nd.ComX = (float)(mx / nd.Count); nd.ComY = (float)(my / nd.Count);
        _nodes[node] = nd;
    }

    int Quadrant(int pt, float cx, float cy) => (_y[2 * pt] >= cx ? 1 : 0) | (_y[2 * pt + 1] >= cy ? 2 : 0);

    /// <summary>Σ_j q_ij² (y_i − y_j) and Σ_j q_ij over j ≠ i, with far cells summarised.</summary>
    public void Repulsion(int i, float theta2, int[] stack, out double fx, out double fy, out double z)
    {
        var nodes = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_nodes);
        float yx = _y[2 * i], yy = _y[2 * i + 1];
        fx = 0; fy = 0; z = 0;
        int top = 0;
        stack[top++] = 0;
        while (top > 0)
        {
            ref readonly var nd = ref nodes[stack[--top]];
            float dx = yx - nd.ComX, dy = yy - nd.ComY, d2 = dx * dx + dy * dy;
            if (nd.FirstChild >= 0 && nd.Width * nd.Width < theta2 * d2)
            {
                float q = 1f / (1f + d2), cq = nd.Count * q;
                z += cq; fx += cq * q * dx; fy += cq * q * dy;
            }
            else if (nd.FirstChild < 0)
            {
                for (int t = nd.Start; t < nd.End; t++)
                {
                    int j = _order[t];
                    if (j == i) continue;
                    float ex = yx - _y[2 * j], ey = yy - _y[2 * j + 1];
                    float q = 1f / (1f + ex * ex + ey * ey);
                    z += q; fx += q * q * ex; fy += q * q * ey;
                }
            }
            else
            {
                if (top + 4 > stack.Length) Array.Resize(ref stack, stack.Length * 2);
                for (int c = 0; c < 4; c++) if (nodes[nd.FirstChild + c].Count > 0) stack[top++] = nd.FirstChild + c;
            }
        }
    }
}
