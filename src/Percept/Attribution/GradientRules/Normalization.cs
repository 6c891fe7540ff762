using Onnx;

namespace Percept.Attribution;

/// <summary>Normalisation layers. Each rule writes the gradient of a node's inputs from the gradient of its output.</summary>
partial class GradientBuilder
{
    static void RegisterNormalization(Dictionary<string, Rule> rules)
    {
        rules["BatchNormalization"] = (b, n, dy) => b.BatchNormalization(n, dy);
    }

    /// <summary>BatchNormalization at inference (constant statistics): dy times scale / √(variance + ε).</summary>
    void BatchNormalization(NodeProto n, string dy)
    {
        string x = n.Input[0];
        if (n.Input.Skip(1).Any(_requires.Contains)) throw Unsupported(n, "statistics that depend on the input");
        var scale = InitializerValues(n.Input[1]); var variance = InitializerValues(n.Input[4]);
        float eps = AttrFloat(n, "epsilon", 1e-5f);
        var k = scale.Select((s, c) => s / MathF.Sqrt(variance[c] + eps)).ToArray();
        long[] dims = [1, k.Length, .. Enumerable.Repeat(1L, _shapes[x].Length - 2)];
        Accumulate(x, Emit("Mul", [dy, Const(k, dims)]));
    }
}
