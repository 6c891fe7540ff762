using System.Numerics.Tensors;

namespace Percept.Neighbors;

/// <summary>
/// Random projection trees (as used by pynndescent to seed NN-descent and to start searches): each node splits its
/// points by the hyperplane halfway between two random points of the node, until a leaf holds at most
/// <c>leafSize</c> points. Points in the same leaf are likely neighbours.
/// </summary>
internal sealed class RandomProjectionTree
{
    readonly Matrix _data;
    readonly List<(float[] Normal, float Offset, int Left, int Right)> _nodes = []; // Left/Right < 0: ~leaf index
    readonly List<int[]> _leaves = [];

    public IReadOnlyList<int[]> Leaves => _leaves;

    public RandomProjectionTree(Matrix data, int leafSize, ulong seed)
    {
        _data = data;
        var rng = new SplitMix64(seed);
        var all = Enumerable.Range(0, data.Rows).ToArray();
        Build(all, leafSize, ref rng, depth: 0);
    }

    int Build(int[] points, int leafSize, ref SplitMix64 rng, int depth)
    {
        if (points.Length <= leafSize || depth > 200) { _leaves.Add(points); return ~(_leaves.Count - 1); }
        int a = points[(int)(rng.Next() % (ulong)points.Length)];
        int b = points[(int)(rng.Next() % (ulong)points.Length)];
        for (int tries = 0; tries < 8 && a == b; tries++) b = points[(int)(rng.Next() % (ulong)points.Length)];
        var pa = _data.Row(a); var pb = _data.Row(b);
        var normal = new float[_data.Columns];
        TensorPrimitives.Subtract(pa, pb, normal);
        // Hyperplane through the midpoint: normal·x = normal·(pa + pb)/2.
        float offset = 0.5f * (TensorPrimitives.Dot(normal, pa) + TensorPrimitives.Dot(normal, pb));
        var side = new bool[points.Length];
        int left = 0;
        for (int i = 0; i < points.Length; i++)
        {
            float m = TensorPrimitives.Dot(normal, _data.Row(points[i])) - offset;
            side[i] = m == 0 ? (rng.Next() & 1) == 0 : m < 0;
            if (side[i]) left++;
        }
        if (left == 0 || left == points.Length)
        {
            // Degenerate split (duplicates): halve at random.
            left = 0;
            for (int i = 0; i < points.Length; i++) { side[i] = (rng.Next() & 1) == 0; if (side[i]) left++; }
            if (left == 0 || left == points.Length) { _leaves.Add(points); return ~(_leaves.Count - 1); }
        }
        var lp = new int[left]; var rp = new int[points.Length - left];
        for (int i = 0, l = 0, r = 0; i < points.Length; i++) if (side[i]) lp[l++] = points[i]; else rp[r++] = points[i];
        int node = _nodes.Count;
        _nodes.Add((normal, offset, 0, 0));
        int li = Build(lp, leafSize, ref rng, depth + 1);
        int ri = Build(rp, leafSize, ref rng, depth + 1);
        _nodes[node] = (normal, offset, li, ri);
        return node;
    }

    /// <summary>The leaf a new point falls into.</summary>
    public int[] Leaf(ReadOnlySpan<float> point)
    {
        if (_nodes.Count == 0) return _leaves[0];
        int n = 0;
        while (true)
        {
            var (normal, offset, l, r) = _nodes[n];
            int next = TensorPrimitives.Dot(normal, point) - offset < 0 ? l : r;
            if (next < 0) return _leaves[~next];
            n = next;
        }
    }
}
