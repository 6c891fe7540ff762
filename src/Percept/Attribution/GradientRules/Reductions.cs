using Onnx;

namespace Percept.Attribution;

/// <summary>Reductions. Each rule writes the gradient of a node's inputs from the gradient of its output.</summary>
partial class GradientBuilder
{
    static void RegisterReductions(Dictionary<string, Rule> rules)
    {
        rules["ReduceMean"] = (b, n, dy) => b.ReduceMean(n, dy);
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
}
