using Onnx;

namespace Percept.Attribution;

/// <summary>Activation functions. Each rule writes the gradient of a node's inputs from the gradient of its output.</summary>
partial class GradientBuilder
{
    static void RegisterActivations(Dictionary<string, Rule> rules)
    {
        rules["Relu"] = (b, n, dy) => b.Relu(n, dy);
        rules["LeakyRelu"] = (b, n, dy) => b.LeakyRelu(n, dy);
        rules["Sigmoid"] = (b, n, dy) => b.Sigmoid(n, dy);
        rules["Tanh"] = (b, n, dy) => b.Tanh(n, dy);
        foreach (var op in new[] { "Softmax", "LogSoftmax" }) rules[op] = (b, n, dy) => b.Softmax(n, dy);
        rules["Clip"] = (b, n, dy) => b.Clip(n, dy);
        rules["Gelu"] = (b, n, dy) => b.Gelu(n, dy);
        rules["Erf"] = (b, n, dy) => b.Erf(n, dy);
        rules["HardSigmoid"] = (b, n, dy) => b.HardSigmoid(n, dy);
        rules["HardSwish"] = (b, n, dy) => b.HardSwish(n, dy);
        rules["Elu"] = (b, n, dy) => b.Elu(n, dy);
        rules["Selu"] = (b, n, dy) => b.Selu(n, dy);
        rules["Softplus"] = (b, n, dy) => b.Softplus(n, dy);
        rules["Mish"] = (b, n, dy) => b.Mish(n, dy);
        rules["PRelu"] = (b, n, dy) => b.PRelu(n, dy);
    }

    /// <summary>Relu: the gradient where the output is positive (the mask is read from the output, or was applied by a following MaxPool).</summary>
    void Relu(NodeProto n, string dy)
    {
        string x = n.Input[0];
        string y = n.Output[0];
        // The mask from the output (y > 0 exactly where x > 0) leaves Conv+Relu fusable in the forward part.
        Accumulate(x, _premasked.Contains(y) ? dy : Mask(dy, y));
    }

    /// <summary>LeakyRelu: the gradient, times alpha where the input is not positive.</summary>
    void LeakyRelu(NodeProto n, string dy)
    {
        string x = n.Input[0];
        string zero = Const([0f]);
        Accumulate(x, Emit("Where", [Emit("Greater", [x, zero]), dy, Emit("Mul", [dy, Const([AttrFloat(n, "alpha", 0.01f)])])]));
    }

    /// <summary>Sigmoid: dy · y(1 − y).</summary>
    void Sigmoid(NodeProto n, string dy)
    {
        string x = n.Input[0];
        string y = n.Output[0];
        Accumulate(x, Emit("Mul", [dy, Emit("Mul", [y, Emit("Sub", [Const([1f]), y])])]));
    }

    /// <summary>Tanh: dy · (1 − y²).</summary>
    void Tanh(NodeProto n, string dy)
    {
        string x = n.Input[0];
        string y = n.Output[0];
        Accumulate(x, Emit("Mul", [dy, Emit("Sub", [Const([1f]), Emit("Mul", [y, y])])]));
    }

    /// <summary>Softmax and LogSoftmax along their axis.</summary>
    void Softmax(NodeProto n, string dy)
    {
        string x = n.Input[0];
        string y = n.Output[0];
        long axis = AttrInt(n, "axis", Opset >= 13 ? -1 : 1);
        int rank = _shapes[x].Length;
        if (axis < 0) axis += rank;
        if (Opset < 13 && axis != rank - 1) throw Unsupported(n, "opset < 13 on an inner axis");
        string Sum(string t) => Opset >= 13
            ? Emit("ReduceSum", [t, ConstLong([axis], 1)], [Int("keepdims", 1)])
            : Emit("ReduceSum", [t], [Ints("axes", [axis]), Int("keepdims", 1)]);
        if (n.OpType == "Softmax")
            Accumulate(x, Emit("Mul", [y, Emit("Sub", [dy, Sum(Emit("Mul", [dy, y]))])]));
        else
            Accumulate(x, Emit("Sub", [dy, Emit("Mul", [Emit("Exp", [y]), Sum(dy)])]));
    }

    /// <summary>Clip: the gradient where the input is strictly inside the bounds.</summary>
    void Clip(NodeProto n, string dy)
    {
        string x = n.Input[0];
        string? lo = Opset >= 11 ? (n.Input.Count > 1 && n.Input[1].Length > 0 ? n.Input[1] : null) : Attr(n, "min") is { } mn ? Const([mn.F]) : null;
        string? hi = Opset >= 11 ? (n.Input.Count > 2 && n.Input[2].Length > 0 ? n.Input[2] : null) : Attr(n, "max") is { } mx ? Const([mx.F]) : null;
        string? mask = null;
        if (lo != null) mask = Emit("Greater", [x, lo]);
        if (hi != null) { string below = Emit("Less", [x, hi]); mask = mask == null ? below : Emit("And", [mask, below]); }
        Accumulate(x, mask == null ? dy : Emit("Where", [mask, dy, Const([0f])]));
    }

    /// <summary>Gelu, exact (erf) and tanh forms.</summary>
    void Gelu(NodeProto n, string dy)
    {
        string x = n.Input[0];
        string y = n.Output[0];
        if (Attr(n, "approximate") is { } ap && ap.S.ToStringUtf8() == "tanh")
        {
            // y = ½x(1 + tanh u), u = √(2/π)(x + 0.044715x³): dy/dx = ½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715x²).
            float c = MathF.Sqrt(2f / MathF.PI);
            string x2 = Emit("Mul", [x, x]);
            string t = Emit("Tanh", [Emit("Mul", [Emit("Mul", [x, Emit("Add", [Const([1f]), Emit("Mul", [x2, Const([0.044715f])])])]), Const([c])])]);
            string du = Emit("Mul", [Const([c]), Emit("Add", [Const([1f]), Emit("Mul", [x2, Const([3 * 0.044715f])])])]);
            string left = Emit("Mul", [Const([0.5f]), Emit("Add", [Const([1f]), t])]);
            string right = Emit("Mul", [Emit("Mul", [Const([0.5f]), x]), Emit("Mul", [Emit("Sub", [Const([1f]), Emit("Mul", [t, t])]), du])]);
            Accumulate(x, Emit("Mul", [dy, Emit("Add", [left, right])]));
            return;
        }
        // d/dx x·Φ(x) = Φ(x) + x·φ(x) (exact form).
        string cdf = Emit("Mul", [Const([0.5f]), Emit("Add", [Const([1f]), Emit("Erf", [Emit("Mul", [x, Const([1f / MathF.Sqrt(2f)])])])])]);
        string pdf = Emit("Mul", [Const([1f / MathF.Sqrt(2f * MathF.PI)]), Emit("Exp", [Emit("Mul", [Const([-0.5f]), Emit("Mul", [x, x])])])]);
        Accumulate(x, Emit("Mul", [dy, Emit("Add", [cdf, Emit("Mul", [x, pdf])])]));
    }

    /// <summary>Erf: dy · 2/√π · exp(−x²).</summary>
    void Erf(NodeProto n, string dy)
    {
        string x = n.Input[0];
        Accumulate(x, Emit("Mul", [dy, Emit("Mul", [Const([2f / MathF.Sqrt(MathF.PI)]), Emit("Exp", [Emit("Neg", [Emit("Mul", [x, x])])])])]));
    }

    /// <summary>HardSigmoid, max(0, min(1, αx + β)): α·dy where the output is strictly between 0 and 1.</summary>
    void HardSigmoid(NodeProto n, string dy)
    {
        string x = n.Input[0], y = n.Output[0];
        float alpha = AttrFloat(n, "alpha", 0.2f);
        string inside = Emit("And", [Emit("Greater", [y, Const([0f])]), Emit("Less", [y, Const([1f])])]);
        Accumulate(x, Emit("Mul", [dy, Emit("Mul", [FloatOf(inside), Const([alpha])])]));
    }

    /// <summary>HardSwish, x·HardSigmoid(x; 1/6, ½): 0 below −3, 1 above 3, (2x + 3)/6 between.</summary>
    void HardSwish(NodeProto n, string dy)
    {
        string x = n.Input[0];
        string middle = Emit("Div", [Emit("Add", [Emit("Mul", [x, Const([2f])]), Const([3f])]), Const([6f])]);
        string slope = Emit("Where", [Emit("Less", [x, Const([-3f])]), Const([0f]), Emit("Where", [Emit("Greater", [x, Const([3f])]), Const([1f]), middle])]);
        Accumulate(x, Emit("Mul", [dy, slope]));
    }

    /// <summary>Elu: dy where the input is positive, else dy·(y + α).</summary>
    void Elu(NodeProto n, string dy)
    {
        string x = n.Input[0], y = n.Output[0];
        float alpha = AttrFloat(n, "alpha", 1f);
        Accumulate(x, Emit("Where", [Emit("Greater", [x, Const([0f])]), dy, Emit("Mul", [dy, Emit("Add", [y, Const([alpha])])])]));
    }

    /// <summary>Selu: γ·dy where the input is positive, else dy·(y + γα).</summary>
    void Selu(NodeProto n, string dy)
    {
        string x = n.Input[0], y = n.Output[0];
        float alpha = AttrFloat(n, "alpha", 1.67326319217681884765625f), gamma = AttrFloat(n, "gamma", 1.05070102214813232421875f);
        Accumulate(x, Emit("Where", [Emit("Greater", [x, Const([0f])]), Emit("Mul", [dy, Const([gamma])]), Emit("Mul", [dy, Emit("Add", [y, Const([gamma * alpha])])])]));
    }

    /// <summary>Softplus, log(1 + eˣ): dy·sigmoid(x).</summary>
    void Softplus(NodeProto n, string dy)
    {
        string x = n.Input[0];
        Accumulate(x, Emit("Mul", [dy, Emit("Sigmoid", [x])]));
    }

    /// <summary>Mish, x·tanh(softplus(x)): dy·(t + x·sigmoid(x)·(1 − t²)), t = tanh(softplus(x)).</summary>
    void Mish(NodeProto n, string dy)
    {
        string x = n.Input[0];
        string t = Emit("Tanh", [Emit("Softplus", [x])]);
        string slope = Emit("Add", [t, Emit("Mul", [Emit("Mul", [x, Emit("Sigmoid", [x])]), Emit("Sub", [Const([1f]), Emit("Mul", [t, t])])])]);
        Accumulate(x, Emit("Mul", [dy, slope]));
    }

    /// <summary>PRelu with a constant slope: dy where the input is positive, else dy·slope.</summary>
    void PRelu(NodeProto n, string dy)
    {
        if (Needs(n, 1)) throw Unsupported(n, "a slope that depends on the input");
        string x = n.Input[0];
        Accumulate(x, Emit("Where", [Emit("Greater", [x, Const([0f])]), dy, Emit("Mul", [dy, n.Input[1]])]));
    }
}
