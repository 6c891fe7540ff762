using Onnx;

namespace Percept.Attribution;

/// <summary>Operators that move values without changing them: reshapes, transposes, concatenation, padding, slicing. Each rule writes the gradient of a node's inputs from the gradient of its output.</summary>
partial class GradientBuilder
{
    static void RegisterShape(Dictionary<string, Rule> rules)
    {
        foreach (var op in new[] { "Flatten", "Reshape", "Squeeze", "Unsqueeze" }) rules[op] = (b, n, dy) => b.Flatten(n, dy);
        rules["Transpose"] = (b, n, dy) => b.Transpose(n, dy);
        rules["Concat"] = (b, n, dy) => b.Concat(n, dy);
        rules["Pad"] = (b, n, dy) => b.Pad(n, dy);
        rules["Slice"] = (b, n, dy) => b.Slice(n, dy);
        rules["Expand"] = (b, n, dy) => b.Expand(n, dy);
        rules["Tile"] = (b, n, dy) => b.Tile(n, dy);
        rules["Split"] = (b, n, dy) => b.Split(n, dy);
        rules["Gather"] = (b, n, dy) => b.Gather(n, dy);
    }

    /// <summary>Flatten, Reshape, Squeeze and Unsqueeze: the gradient reshaped back to the input's shape.</summary>
    void Flatten(NodeProto n, string dy)
    {
        string x = n.Input[0];
        Accumulate(x, Emit("Reshape", [dy, GradShape(x)]));
    }

    /// <summary>Transpose: the gradient transposed by the inverse permutation.</summary>
    void Transpose(NodeProto n, string dy)
    {
        string x = n.Input[0];
        var perm = AttrInts(n, "perm", Enumerable.Range(0, _shapes[x].Length).Reverse().Select(i => (long)i).ToArray());
        var inverse = new long[perm.Length];
        for (int i = 0; i < perm.Length; i++) inverse[perm[i]] = i;
        Accumulate(x, Emit("Transpose", [dy], [Ints("perm", inverse)]));
    }

    /// <summary>Concat: each input gets its slice of the gradient.</summary>
    void Concat(NodeProto n, string dy)
    {
        string y = n.Output[0];
        long axis = AttrInt(n, "axis", 0);
        if (axis < 0) axis += _shapes[y].Length;
        if (axis == 0) throw Unsupported(n, "concatenation along the batch axis");
        long offset = 0;
        for (int i = 0; i < n.Input.Count; i++)
        {
            long size = _shapes[n.Input[i]][axis];
            if (Needs(n, i))
                Accumulate(n.Input[i], Emit("Slice", [dy, ConstLong([offset], 1), ConstLong([offset + size], 1), ConstLong([axis], 1)]));
            offset += size;
        }
    }

    /// <summary>Pad (constant mode): the gradient sliced back to the unpadded region.</summary>
    void Pad(NodeProto n, string dy)
    {
        string x = n.Input[0];
        string mode = Attr(n, "mode") is { } m ? m.S.ToStringUtf8() : "constant";
        if (mode != "constant") throw Unsupported(n, $"mode '{mode}'");
        var pads = Opset >= 11 ? ConstantLongs(n.Input[1]) : AttrInts(n, "pads", []);
        if (Opset >= 18 && n.Input.Count > 3 && n.Input[3].Length > 0) throw Unsupported(n, "an axes input");
        int rank = _shapes[x].Length;
        var starts = pads.Take(rank).ToArray();
        var ends = starts.Select((b, i) => b + _shapes[x][i]).ToArray();
        ends[0] = long.MaxValue;
        Accumulate(x, Emit("Slice", [dy, ConstLong(starts, rank), ConstLong(ends, rank)]));
    }

    /// <summary>Slice with constant bounds and unit steps: the gradient padded back with zeros.</summary>
    void Slice(NodeProto n, string dy)
    {
        string x = n.Input[0];
        if (Opset < 10) throw Unsupported(n, "opset < 10");
        int rank = _shapes[x].Length;
        var starts = ConstantLongs(n.Input[1]); var ends = ConstantLongs(n.Input[2]);
        var axes = n.Input.Count > 3 && n.Input[3].Length > 0 ? ConstantLongs(n.Input[3]) : Enumerable.Range(0, starts.Length).Select(i => (long)i).ToArray();
        var steps = n.Input.Count > 4 && n.Input[4].Length > 0 ? ConstantLongs(n.Input[4]) : Enumerable.Repeat(1L, starts.Length).ToArray();
        if (steps.Any(v => v != 1)) throw Unsupported(n, "steps other than 1");
        var padding = new long[2 * rank];
        for (int i = 0; i < axes.Length; i++)
        {
            int ax = (int)(axes[i] < 0 ? axes[i] + rank : axes[i]);
            if (ax == 0) throw Unsupported(n, "slicing the batch axis");
            long size = _shapes[x][ax];
            long b = Math.Clamp(starts[i] < 0 ? starts[i] + size : starts[i], 0, size);
            long e = Math.Clamp(ends[i] < 0 ? ends[i] + size : ends[i], 0, size);
            padding[ax] = b;
            padding[rank + ax] = size - Math.Max(b, e);
        }
        Accumulate(x, Opset >= 11 ? Emit("Pad", [dy, ConstLong(padding, 2 * rank)]) : Emit("Pad", [dy], [Ints("pads", padding)]));
    }

    /// <summary>Expand: the gradient summed over the axes the input was broadcast along.</summary>
    void Expand(NodeProto n, string dy) => Accumulate(n.Input[0], Unbroadcast(dy, n.Input[0], n.Output[0]));

    /// <summary>Tile with constant repeats (never along the batch axis): each tile's gradient added up.</summary>
    void Tile(NodeProto n, string dy)
    {
        string x = n.Input[0];
        var repeats = ConstantLongs(n.Input[1]);
        var xs = _shapes[x];
        if (repeats[0] != 1) throw Unsupported(n, "tiling along the batch axis");
        // [N, r1·s1, r2·s2, …] → [N, r1, s1, r2, s2, …], summed over the repeat axes.
        var shape = new List<long> { 0 };
        var sumAxes = new List<long>();
        for (int d = 1; d < xs.Length; d++) { sumAxes.Add(shape.Count); shape.Add(repeats[d]); shape.Add(xs[d]); }
        string split = Emit("Reshape", [dy, ConstLong([.. shape], shape.Count)]);
        string summed = Opset >= 13
            ? Emit("ReduceSum", [split, ConstLong([.. sumAxes], sumAxes.Count)], [Int("keepdims", 0)])
            : Emit("ReduceSum", [split], [Ints("axes", sumAxes), Int("keepdims", 0)]);
        Accumulate(x, summed);
    }

    /// <summary>Split: the outputs' gradients concatenated back (zeros for an output without one).</summary>
    void Split(NodeProto n, string dy)
    {
        string x = n.Input[0];
        long axis = AttrInt(n, "axis", 0);
        if (axis < 0) axis += _shapes[x].Length;
        if (axis == 0) throw Unsupported(n, "splitting the batch axis");
        var parts = n.Output.Select(o => _grad.TryGetValue(o, out var g) ? g : Emit("ConstantOfShape", [GradShape(o)])).ToArray();
        Accumulate(x, Emit("Concat", parts, [Int("axis", axis)]));
    }

    /// <summary>
    /// Gather with constant indices (a ViT's class token, a fixed selection of positions; never along the batch axis):
    /// the gradient goes back to the positions gathered, added where an index repeats, through a one-hot matrix of the
    /// indices. Indices computed from the input (an embedding lookup of token ids) give no gradient to them.
    /// </summary>
    void Gather(NodeProto n, string dy)
    {
        if (!Needs(n, 0)) return;
        string x = n.Input[0];
        var xs = _shapes[x];
        int rank = xs.Length;
        long axis = AttrInt(n, "axis", 0);
        if (axis < 0) axis += rank;
        if (axis == 0) throw Unsupported(n, "gathering along the batch axis");
        var indices = ConstantLongs(n.Input[1]);
        long size = xs[axis];
        int k = indices.Length;
        // One-hot [k, size]: row j has a 1 at the j-th index.
        var oneHot = new float[k * size];
        for (int j = 0; j < k; j++) oneHot[j * size + (indices[j] < 0 ? indices[j] + size : indices[j])] = 1;
        // dy as [batch, …before, k, …after], with k moved last, times the one-hot, moved back.
        var before = xs[1..(int)axis];
        var after = xs[((int)axis + 1)..];
        long[] flat = [0, .. before, k, .. after];
        string g = Emit("Reshape", [dy, ConstLong(flat, flat.Length)]);
        long[] toLast = [.. Enumerable.Range(0, rank).Where(d => d != axis).Select(d => (long)d), axis];
        long[] back = new long[rank];
        for (int d = 0; d < rank; d++) back[toLast[d]] = d;
        string moved = Emit("Transpose", [g], [Ints("perm", toLast)]);
        string spread = Emit("MatMul", [moved, Const(oneHot, k, size)]);
        Accumulate(x, Emit("Transpose", [spread], [Ints("perm", back)]));
    }
}
