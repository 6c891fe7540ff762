using System.Buffers;
using System.Numerics.Tensors;
using Percept.Core;

namespace Percept.Neighbors;

/// <summary>
/// Random projection trees (as used by pynndescent to seed NN-descent and to start searches): each node splits its
/// points by the hyperplane halfway between two random points of the node, until a leaf holds at most
/// <c>leafSize</c> points. Points in the same leaf are likely neighbours.
/// </summary>
internal sealed class RandomProjectionTree
{
    readonly TreeSpace _space;
    readonly Matrix _data;
    readonly List<(float[] Normal, float Offset, int Left, int Right)> _nodes = []; // Left/Right < 0: ~leaf index
    readonly List<int[]> _leaves = [];

    public IReadOnlyList<int[]> Leaves => _leaves;

    /// <summary>The space the tree splits (shared by the trees of one forest): queries are reduced to it once.</summary>
    public TreeSpace Space => _space;

    public RandomProjectionTree(TreeSpace space, int leafSize, ulong seed)
    {
        _space = space;
        _data = space.Data;
        var rng = new SplitMix64(seed);
        var all = Enumerable.Range(0, _data.Rows).ToArray();
        var side = new bool[all.Length];
        Build(all, 0, all.Length, leafSize, side, ref rng, depth: 0);
    }

    /// <summary>Splits points[from..to) in place (the left side first) and returns the node, or ~leaf.</summary>
    int Build(int[] order, int from, int to, int leafSize, bool[] side, ref SplitMix64 rng, int depth)
    {
        int count = to - from;
        var points = order.AsSpan(from, count);
        if (count <= leafSize || depth > 200) return Leaf(points);
        int a = points[(int)(rng.Next() % (ulong)count)];
        int b = points[(int)(rng.Next() % (ulong)count)];
        for (int tries = 0; tries < 8 && a == b; tries++) b = points[(int)(rng.Next() % (ulong)count)];
        var pa = _data.Row(a); var pb = _data.Row(b);
        var normal = new float[_data.Columns];
        TensorPrimitives.Subtract(pa, pb, normal);
        // Hyperplane through the midpoint: normal·x = normal·(pa + pb)/2.
        float offset = 0.5f * (TensorPrimitives.Dot(normal, pa) + TensorPrimitives.Dot(normal, pb));
        var sides = side.AsSpan(0, count);
        int left = 0;
        for (int i = 0; i < count; i++)
        {
            float m = TensorPrimitives.Dot(normal, _data.Row(points[i])) - offset;
            sides[i] = m == 0 ? (rng.Next() & 1) == 0 : m < 0;
            if (sides[i]) left++;
        }
        if (left == 0 || left == count)
        {
            // Degenerate split (duplicates): halve at random.
            left = 0;
            for (int i = 0; i < count; i++) { sides[i] = (rng.Next() & 1) == 0; if (sides[i]) left++; }
            if (left == 0 || left == count) return Leaf(points);
        }
        // Stable partition: the left points keep their order at the front, the right ones after them.
        var right = ArrayPool<int>.Shared.Rent(count - left);
        for (int i = 0, l = 0, r = 0; i < count; i++) if (sides[i]) points[l++] = points[i]; else right[r++] = points[i];
        right.AsSpan(0, count - left).CopyTo(points[left..]);
        ArrayPool<int>.Shared.Return(right);
        int node = _nodes.Count;
        _nodes.Add((normal, offset, 0, 0));
        int li = Build(order, from, from + left, leafSize, side, ref rng, depth + 1);
        int ri = Build(order, from + left, to, leafSize, side, ref rng, depth + 1);
        _nodes[node] = (normal, offset, li, ri);
        return node;
    }

    int Leaf(ReadOnlySpan<int> points)
    {
        _leaves.Add(points.ToArray());
        return ~(_leaves.Count - 1);
    }

    /// <summary>The leaf a new point falls into; the point given in the tree's <see cref="Space"/> (see <see cref="TreeSpace.Reduce"/>).</summary>
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

/// <summary>
/// The space random projection trees split: the data themselves when they are narrow, otherwise a seeded Gaussian
/// projection of them to <see cref="Dimensions"/> coordinates. A tree only needs hyperplanes that cut the data into
/// nearby groups, and by Johnson–Lindenstrauss the projection keeps distances well enough for that, while every level of
/// every tree then reads a few dozen floats per point instead of a whole wide row (at 784-d this took the forest from
/// about 2 s to under 0.5 s on 70,000 points). NN-descent itself always measures the full data.
/// </summary>
internal sealed class TreeSpace
{
    /// <summary>Coordinates of the projected space; data no wider than twice this are split as they are.</summary>
    public const int Dimensions = 32;

    readonly float[]? _basis;   // Dimensions x columns, or null when the data are used as they are

    public Matrix Data { get; }

    TreeSpace(Matrix data, float[]? basis) { Data = data; _basis = basis; }

    public static TreeSpace Create(Matrix data, ulong seed, ParallelOptions parallel)
    {
        int d = data.Columns;
        if (d <= 2 * Dimensions) return new TreeSpace(data, null);
        var rng = new SplitMix64(seed);
        var basis = new float[Dimensions * d];
        for (int i = 0; i < basis.Length; i++) basis[i] = (float)rng.NextGaussian();
        var reduced = new Matrix(data.Rows, Dimensions);
        var space = new TreeSpace(reduced, basis);
        Parallel.For(0, (data.Rows + 255) / 256, parallel, b =>
        {
            for (int i = b * 256, end = Math.Min(data.Rows, i + 256); i < end; i++) space.Project(data.Row(i), reduced.Row(i));
        });
        return space;
    }

    /// <summary>A point in the trees' space (the point itself when the data are not projected).</summary>
    public ReadOnlySpan<float> Reduce(ReadOnlySpan<float> point)
    {
        if (_basis is null) return point;
        var r = new float[Dimensions];
        Project(point, r);
        return r;
    }

    void Project(ReadOnlySpan<float> row, Span<float> to)
    {
        int d = row.Length;
        var b = _basis.AsSpan();
        for (int j = 0; j < Dimensions; j += 4)
            Kernels.Dot4(row, b.Slice(j * d, d), b.Slice((j + 1) * d, d), b.Slice((j + 2) * d, d), b.Slice((j + 3) * d, d),
                out to[j], out to[j + 1], out to[j + 2], out to[j + 3]);
    }
}
