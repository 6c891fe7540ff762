using Onnx;

namespace Percept.Attribution;

/// <summary>Reductions. Each rule writes the gradient of a node's inputs from the gradient of its output.</summary>
partial class GradientBuilder
{
    static void RegisterReductions(Dictionary<string, Rule> rules)
    {
        rules["ReduceMean"] = (b, n, dy) => b.ReduceMean(n, dy);
        rules["ReduceSum"] = (b, n, dy) => b.ReduceSum(n, dy);
        foreach (var op in new[] { "ReduceMax", "ReduceMin" }) rules[op] = (b, n, dy) => b.ReduceMaxMin(n, dy);
        rules["GlobalMaxPool"] = (b, n, dy) => b.GlobalMaxPool(n, dy);
    }

    /// <summary>ReduceMean over non-batch axes: the gradient spread evenly over the reduced axes.</summary>
    void ReduceMean(NodeProto n, string dy)
    {
        string x = n.Input[0];
        int rank = _shapes[x].Length;
        var axes = (Opset >= 18 && n.Input.Count > 1 && n.Input[1].Length > 0 ? ConstantLongs(n.Input[1]) : AttrInts(n, "axes", Enumerable.Range(0, rank).Select(i => (long)i).ToArray()))
            .Select(a => a < 0 ? a + rank : a).ToArray();
        if (axes.Contains(0)) throw Unsupported(n, "a mean over the batch axis");
        long count = axes.Aggregate(1L, (acc, a) => acc * _shapes[x][a]);
        long[] kept = [.. _shapes[x].Select((d, i) => axes.Contains(i) ? 1 : d)];
        kept[0] = -1;
        string g = Emit("Reshape", [dy, ConstLong(kept, kept.Length)]);
        Accumulate(x, Emit("Expand", [Emit("Mul", [g, Const([1f / count])]), ShapeOf(x)]));
    }

    /// <summary>
    /// The axes a reduction reduces (never the batch axis), in range: from its axes input (ReduceSum from opset 13, the
    /// others from 18) or attribute; all axes when none are given, unless noop_with_empty_axes says none.
    /// </summary>
    long[] ReduceAxes(NodeProto n, string x, long inputFromOpset)
    {
        int rank = _shapes[x].Length;
        long[]? axes = Opset >= inputFromOpset
            ? (n.Input.Count > 1 && n.Input[1].Length > 0 ? ConstantLongs(n.Input[1]) : null)
            : (Attr(n, "axes") is { } a ? [.. a.Ints] : null);
        if (axes == null || axes.Length == 0)
            axes = AttrInt(n, "noop_with_empty_axes", 0) != 0 ? [] : Enumerable.Range(0, rank).Select(i => (long)i).ToArray();
        axes = axes.Select(v => v < 0 ? v + rank : v).ToArray();
        if (axes.Contains(0)) throw Unsupported(n, "a reduction over the batch axis");
        return axes;
    }

    /// <summary>A reduction's output gradient with the reduced axes kept (size 1), so it broadcasts against the input.</summary>
    string KeepReduced(NodeProto n, string g, string x, long[] axes)
    {
        if (AttrInt(n, "keepdims", 1) != 0) return g;
        long[] kept = [.. _shapes[x].Select((d, i) => axes.Contains(i) ? 1 : d)];
        kept[0] = -1;
        return Emit("Reshape", [g, ConstLong(kept, kept.Length)]);
    }

    string SumKeep(string t, long[] axes) => Opset >= 13
        ? Emit("ReduceSum", [t, ConstLong(axes, axes.Length)], [Int("keepdims", 1)])
        : Emit("ReduceSum", [t], [Ints("axes", axes), Int("keepdims", 1)]);

    /// <summary>ReduceSum: the gradient spread back over the reduced axes.</summary>
    void ReduceSum(NodeProto n, string dy)
    {
        string x = n.Input[0];
        var axes = ReduceAxes(n, x, 13);
        Accumulate(x, Emit("Expand", [KeepReduced(n, dy, x, axes), ShapeOf(x)]));
    }

    /// <summary>ReduceMax and ReduceMin: the gradient to the extreme values, split evenly where several tie (as PyTorch's amax).</summary>
    void ReduceMaxMin(NodeProto n, string dy)
    {
        string x = n.Input[0], y = n.Output[0];
        var axes = ReduceAxes(n, x, 18);
        string mask = FloatOf(Emit("Equal", [x, KeepReduced(n, y, x, axes)]));
        Accumulate(x, Emit("Mul", [KeepReduced(n, dy, x, axes), Emit("Div", [mask, SumKeep(mask, axes)])]));
    }

    /// <summary>GlobalMaxPool: the gradient to each channel's maximum, split evenly where several tie.</summary>
    void GlobalMaxPool(NodeProto n, string dy)
    {
        string x = n.Input[0], y = n.Output[0];
        long[] axes = [.. Enumerable.Range(2, _shapes[x].Length - 2).Select(a => (long)a)];
        string mask = FloatOf(Emit("Equal", [x, y]));
        Accumulate(x, Emit("Mul", [dy, Emit("Div", [mask, SumKeep(mask, axes)])]));
    }
}
