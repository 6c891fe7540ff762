namespace Percept.Neighbors;

/// <summary>
/// Exact k nearest neighbours (Euclidean) of every point of a map of one to three dimensions, by a k-d tree: the
/// points are split at the median of their bounding box's widest axis down to leaves of a few points, and each query
/// visits the boxes nearest first and stops at a box farther than its k-th neighbour. Linearithmic, exact, and
/// deterministic (ties go to the smaller index), where NN-descent on two coordinates is approximate and slower. A map with
/// hundreds of points at one spot goes to NN-descent instead.
/// </summary>
public static class LowDimensionalKnn
{
    /// <summary>The widest maps the tree takes; wider data go to <see cref="NNDescent"/>.</summary>
    public const int MaxDimensions = 3;
    const int Leaf = 12;
    /// <summary>The largest leaf of points that cannot be split (all at one spot) the tree searches; beyond it, NN-descent.</summary>
    const int MaxLeaf = 256;

    /// <summary>Each point's <paramref name="k"/> nearest other points, closest first, with Euclidean distances.</summary>
    /// <exception cref="PerceptException">More than <see cref="MaxDimensions"/> columns, or fewer than k + 1 points.</exception>
    /// <param name="seed">For NN-descent, when the map goes to it.</param>
    public static KnnGraph Search(Matrix points, int k, int threads = 0, ulong seed = 0)
    {
        int n = points.Rows, d = points.Columns;
        if (d < 1 || d > MaxDimensions) throw new PerceptException($"the k-d tree takes maps of 1 to {MaxDimensions} dimensions, not {d}");
        if (k < 1 || k >= n) throw new PerceptException($"k = {k} needs at least {k + 1} points; there are {n}");
        var tree = new Tree(points);
        // Many points at one spot (a collapsed map) make a leaf no box can prune: the tree would
        // compare them all with each other. NN-descent takes such maps.
        if (tree.LargestLeaf > MaxLeaf) return NNDescent.Build(points, k, Metric.Euclidean, new NNDescentOptions { Seed = seed, Threads = threads });
        var indices = new int[n * k];
        var distances = new float[n * k];
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = threads > 0 ? threads : Environment.ProcessorCount };
        const int Block = 1024;
        // Queries in the tree's order: consecutive queries are near each other and walk the same boxes.
        Parallel.For(0, (n + Block - 1) / Block, parallel, () => new Query(k), (b, _, q) =>
        {
            for (int r = b * Block, end = Math.Min(n, r + Block); r < end; r++)
            {
                int i = tree.Order[r];
                q.Run(tree, r, indices.AsSpan(i * k, k), distances.AsSpan(i * k, k));
            }
            return q;
        }, _ => { });
        return new KnnGraph(indices, distances, n, k);
    }

    /// <summary>The tree: the points reordered so that every node is a contiguous range, and each node's bounding box.</summary>
    sealed class Tree
    {
        public readonly int D;
        public readonly int[] Order;          // tree position → point index
        public readonly float[] Coordinates;  // tree position × D, the points in tree order
        public readonly (int Start, int End, int Left, int Right)[] Nodes;
        public readonly float[] Boxes;          // node × 2D: min then max per axis
        public int LargestLeaf { get; private set; }
        readonly List<(int Start, int End, int Left, int Right)> _nodes = [];
        readonly List<float> _boxes = [];

        public Tree(Matrix points)
        {
            D = points.Columns;
            int n = points.Rows;
            Order = Enumerable.Range(0, n).ToArray();
            var keys = new float[n];
            Build(points, 0, n, keys);
            Nodes = [.. _nodes];
            Boxes = [.. _boxes];
            Coordinates = new float[n * D];
            for (int r = 0; r < n; r++) points.Row(Order[r]).CopyTo(Coordinates.AsSpan(r * D, D));
        }

        int Build(Matrix points, int start, int end, float[] keys)
        {
            int node = _nodes.Count;
            _nodes.Add((start, end, -1, -1));
            Span<float> lo = stackalloc float[MaxDimensions], hi = stackalloc float[MaxDimensions];
            lo.Fill(float.PositiveInfinity);
            hi.Fill(float.NegativeInfinity);
            for (int r = start; r < end; r++)
            {
                var p = points.Row(Order[r]);
                for (int a = 0; a < D; a++) { lo[a] = Math.Min(lo[a], p[a]); hi[a] = Math.Max(hi[a], p[a]); }
            }
            for (int a = 0; a < D; a++) _boxes.Add(lo[a]);
            for (int a = 0; a < D; a++) _boxes.Add(hi[a]);
            if (end - start <= Leaf) { LargestLeaf = Math.Max(LargestLeaf, end - start); return node; }
            int axis = 0;
            for (int a = 1; a < D; a++) if (hi[a] - lo[a] > hi[axis] - lo[axis]) axis = a;
            if (!(hi[axis] > lo[axis])) { LargestLeaf = Math.Max(LargestLeaf, end - start); return node; } // all at one spot (or not finite)
            // Sort the range by the axis and cut it in two. (The neighbours found do not depend on how ties were cut: every box
            // that could hold a point as near as the k-th is visited, and ties between points go to the smaller index.)
            for (int r = start; r < end; r++) keys[r] = points.Row(Order[r])[axis];
            Array.Sort(keys, Order, start, end - start);
            int mid = start + (end - start) / 2;
            int left = Build(points, start, mid, keys);
            int right = Build(points, mid, end, keys);
            _nodes[node] = (start, end, left, right);
            return node;
        }
    }

    /// <summary>One thread's search state: a max-heap of the best k so far and a stack of boxes to visit.</summary>
    sealed class Query(int k)
    {
        readonly float[] _heapD = new float[k];
        readonly int[] _heapI = new int[k];
        readonly Stack<(int Node, float Distance)> _stack = new();
        int _count;

        /// <param name="position">The query point's place in the tree's order.</param>
        public void Run(Tree tree, int position, Span<int> indices, Span<float> distances)
        {
            int d = tree.D, self = tree.Order[position];
            Span<float> p = stackalloc float[MaxDimensions];
            tree.Coordinates.AsSpan(position * d, d).CopyTo(p);
            _count = 0;
            _stack.Clear();
            _stack.Push((0, 0f));
            while (_stack.Count > 0)
            {
                var (node, boxDistance) = _stack.Pop();
                if (_count == k && boxDistance > _heapD[0]) continue;
                var (start, end, left, right) = tree.Nodes[node];
                if (left < 0)
                {
                    for (int r = start; r < end; r++)
                    {
                        int j = tree.Order[r];
                        if (j == self) continue;
                        float s = 0;
                        for (int a = 0; a < d; a++) { float t = tree.Coordinates[r * d + a] - p[a]; s += t * t; }
                        Offer(s, j);
                    }
                    continue;
                }
                float dl = BoxDistance(tree, left, p), dr = BoxDistance(tree, right, p);
                // The nearer box is popped first.
                if (dl <= dr) { _stack.Push((right, dr)); _stack.Push((left, dl)); }
                else { _stack.Push((left, dl)); _stack.Push((right, dr)); }
            }
            // Closest first (ties: smaller index).
            for (int t = _count - 1; t >= 0; t--)
            {
                distances[t] = MathF.Sqrt(_heapD[0]);
                indices[t] = _heapI[0];
                Pop();
            }
        }

        /// <summary>The squared distance from <paramref name="p"/> to a node's box (0 inside it).</summary>
        static float BoxDistance(Tree tree, int node, ReadOnlySpan<float> p)
        {
            int d = tree.D, b = node * 2 * d;
            float s = 0;
            for (int a = 0; a < d; a++)
            {
                float lo = tree.Boxes[b + a], hi = tree.Boxes[b + d + a];
                float t = p[a] < lo ? lo - p[a] : p[a] > hi ? p[a] - hi : 0;
                s += t * t;
            }
            return s;
        }

        /// <summary>Whether (s, j) sorts after (t, i): farther, or as far with a larger index.</summary>
        static bool After(float s, int j, float t, int i) => NeighborHeap.After(s, j, t, i);

        void Offer(float s, int j)
        {
            if (_count < k)
            {
                // Sift up.
                int c = _count++;
                while (c > 0)
                {
                    int parent = (c - 1) / 2;
                    if (!After(s, j, _heapD[parent], _heapI[parent])) break;
                    _heapD[c] = _heapD[parent]; _heapI[c] = _heapI[parent];
                    c = parent;
                }
                _heapD[c] = s; _heapI[c] = j;
                return;
            }
            if (!After(_heapD[0], _heapI[0], s, j)) return; // not nearer than the farthest kept
            SiftDown(s, j);
        }

        void Pop()
        {
            _count--;
            if (_count > 0) SiftDown(_heapD[_count], _heapI[_count]);
        }

        void SiftDown(float s, int j) => NeighborHeap.SiftDownOrdered(_heapD.AsSpan(0, _count), _heapI.AsSpan(0, _count), s, j);
    }
}
