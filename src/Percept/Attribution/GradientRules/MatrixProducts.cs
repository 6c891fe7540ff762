using Onnx;

namespace Percept.Attribution;

/// <summary>Matrix products. Each rule writes the gradient of a node's inputs from the gradient of its output.</summary>
partial class GradientBuilder
{
    static void RegisterMatrixProducts(Dictionary<string, Rule> rules)
    {
        rules["Gemm"] = (b, n, dy) => b.Gemm(n, dy);
        rules["MatMul"] = (b, n, dy) => b.MatMul(n, dy);
    }

    /// <summary>Gemm with constant weights: dY · Bᵀ (times alpha).</summary>
    void Gemm(NodeProto n, string dy)
    {
        string x = n.Input[0];
        if (AttrInt(n, "transA", 0) != 0) throw Unsupported(n, "transA = 1");
        if (Needs(n, 1)) throw Unsupported(n, "a weight that depends on the input");
        string b = n.Input[1];
        string bt = AttrInt(n, "transB", 0) != 0 ? b : Emit("Transpose", [b], [Ints("perm", [1, 0])]);
        string g = Emit("MatMul", [dy, bt]);
        float alpha = AttrFloat(n, "alpha", 1f);
        Accumulate(x, alpha == 1f ? g : Emit("Mul", [g, Const([alpha])]));
    }

    /// <summary>MatMul, either operand computed: dA = dY·Bᵀ, dB = Aᵀ·dY, each summed over the axes it was broadcast along.</summary>
    void MatMul(NodeProto n, string dy)
    {
        string y = n.Output[0];
        long[] Shape(string t) => _shapes.TryGetValue(t, out var known) ? known : InitializerShape(t);
        string a = n.Input[0], b = n.Input[1];
        long[] sa = Shape(a), sb = Shape(b);
        if (sa.Length < 2 || sb.Length < 2) throw Unsupported(n, "a 1-D operand");
        // Y = A·B over broadcast leading axes: dA = dY·Bᵀ, dB = Aᵀ·dY, each summed back over the axes it was broadcast along.
        string SwapLast(string t, int rank) => Emit("Transpose", [t], [Ints("perm", [.. Enumerable.Range(0, rank - 2).Select(i => (long)i), rank - 1, rank - 2])]);
        if (Needs(n, 0)) Accumulate(a, UnbroadcastMatMul(Emit("MatMul", [dy, SwapLast(b, sb.Length)]), a, sa, _shapes[y]));
        if (Needs(n, 1)) Accumulate(b, UnbroadcastMatMul(Emit("MatMul", [SwapLast(a, sa.Length), dy]), b, sb, _shapes[y]));
    }
}
