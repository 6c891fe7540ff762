using Onnx;

namespace Percept.Attribution;

/// <summary>Normalisation layers. Each rule writes the gradient of a node's inputs from the gradient of its output.</summary>
partial class GradientBuilder
{
    static void RegisterNormalization(Dictionary<string, Rule> rules)
    {
        rules["BatchNormalization"] = (b, n, dy) => b.BatchNormalization(n, dy);
        rules["LayerNormalization"] = (b, n, dy) => b.LayerNormalization(n, dy);
        rules["InstanceNormalization"] = (b, n, dy) => b.InstanceNormalization(n, dy);
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

    string MeanKeep(string t, long[] axes) => Opset >= 18
        ? Emit("ReduceMean", [t, ConstLong(axes, axes.Length)], [Int("keepdims", 1)])
        : Emit("ReduceMean", [t], [Ints("axes", axes), Int("keepdims", 1)]);

    /// <summary>
    /// The input gradient of (x − μ)/σ·γ over <paramref name="axes"/>, γ constant: (g − mean(g) − x̂·mean(g·x̂)) / σ with
    /// g = dy·γ and x̂ = (x − μ)/σ, the statistics recomputed from x.
    /// </summary>
    string NormalizedGradient(string x, string dy, string scale, long[] axes, float epsilon)
    {
        string centred = Emit("Sub", [x, MeanKeep(x, axes)]);
        string inverse = Emit("Reciprocal", [Emit("Sqrt", [Emit("Add", [MeanKeep(Emit("Mul", [centred, centred]), axes), Const([epsilon])])])]);
        string normalized = Emit("Mul", [centred, inverse]);
        string g = Emit("Mul", [dy, scale]);
        string inner = Emit("Sub", [Emit("Sub", [g, MeanKeep(g, axes)]), Emit("Mul", [normalized, MeanKeep(Emit("Mul", [g, normalized]), axes)])]);
        return Emit("Mul", [inner, inverse]);
    }

    /// <summary>LayerNormalization (opset 17) over the axes from <c>axis</c> on, with a constant scale.</summary>
    void LayerNormalization(NodeProto n, string dy)
    {
        if (n.Input.Skip(1).Any(_requires.Contains)) throw Unsupported(n, "a scale or bias that depends on the input");
        string x = n.Input[0];
        int rank = _shapes[x].Length;
        long axis = AttrInt(n, "axis", -1);
        if (axis < 0) axis += rank;
        if (axis == 0) throw Unsupported(n, "normalisation over the batch axis");
        long[] axes = [.. Enumerable.Range((int)axis, rank - (int)axis).Select(a => (long)a)];
        Accumulate(x, NormalizedGradient(x, dy, n.Input[1], axes, AttrFloat(n, "epsilon", 1e-5f)));
    }

    /// <summary>InstanceNormalization: each channel of each sample normalised over its spatial axes, with a constant per-channel scale.</summary>
    void InstanceNormalization(NodeProto n, string dy)
    {
        if (n.Input.Skip(1).Any(_requires.Contains)) throw Unsupported(n, "a scale or bias that depends on the input");
        string x = n.Input[0];
        int rank = _shapes[x].Length;
        long channels = _shapes[x][1];
        string scale = Emit("Reshape", [n.Input[1], ConstLong([channels, .. Enumerable.Repeat(1L, rank - 2)], rank - 1)]);
        long[] axes = [.. Enumerable.Range(2, rank - 2).Select(a => (long)a)];
        Accumulate(x, NormalizedGradient(x, dy, scale, axes, AttrFloat(n, "epsilon", 1e-5f)));
    }
}
