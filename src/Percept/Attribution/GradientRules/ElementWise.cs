using Onnx;

namespace Percept.Attribution;

/// <summary>Element-wise arithmetic and pass-through operators. Each rule writes the gradient of a node's inputs from the gradient of its output.</summary>
partial class GradientBuilder
{
    static void RegisterElementWise(Dictionary<string, Rule> rules)
    {
        foreach (var op in new[] { "Identity", "Dropout" }) rules[op] = (b, n, dy) => b.Identity(n, dy);
        foreach (var op in new[] { "Add", "Sub" }) rules[op] = (b, n, dy) => b.Add(n, dy);
        rules["Mul"] = (b, n, dy) => b.Mul(n, dy);
        rules["Div"] = (b, n, dy) => b.Div(n, dy);
        rules["Neg"] = (b, n, dy) => b.Neg(n, dy);
        rules["Exp"] = (b, n, dy) => b.Exp(n, dy);
        rules["Log"] = (b, n, dy) => b.Log(n, dy);
        rules["Abs"] = (b, n, dy) => b.Abs(n, dy);
        rules["Sqrt"] = (b, n, dy) => b.Sqrt(n, dy);
        rules["Reciprocal"] = (b, n, dy) => b.Reciprocal(n, dy);
        rules["Pow"] = (b, n, dy) => b.Pow(n, dy);
        rules["Cast"] = (b, n, dy) => b.Cast(n, dy);
        rules["Where"] = (b, n, dy) => b.Where(n, dy);
        foreach (var op in new[] { "Max", "Min" }) rules[op] = (b, n, dy) => b.MaxMin(n, dy);
        foreach (var op in new[] { "Sum", "Mean" }) rules[op] = (b, n, dy) => b.SumMean(n, dy);
    }

    /// <summary>Identity and Dropout (at inference): the gradient passes through.</summary>
    void Identity(NodeProto n, string dy)
    {
        string x = n.Input[0];
        Accumulate(x, dy);
    }

    /// <summary>Add and Sub: the gradient (negated for Sub's second operand), summed over broadcast axes.</summary>
    void Add(NodeProto n, string dy)
    {
        string y = n.Output[0];
        if (Needs(n, 0)) Accumulate(n.Input[0], Unbroadcast(dy, n.Input[0], y));
        if (Needs(n, 1)) Accumulate(n.Input[1], Unbroadcast(n.OpType == "Sub" ? Emit("Neg", [dy]) : dy, n.Input[1], y));
    }

    /// <summary>Mul: each operand's gradient is dy times the other operand.</summary>
    void Mul(NodeProto n, string dy)
    {
        string y = n.Output[0];
        if (Needs(n, 0)) Accumulate(n.Input[0], Unbroadcast(Emit("Mul", [dy, n.Input[1]]), n.Input[0], y));
        if (Needs(n, 1)) Accumulate(n.Input[1], Unbroadcast(Emit("Mul", [dy, n.Input[0]]), n.Input[1], y));
    }

    /// <summary>Div: dy / b for the numerator, −dy · y / b for the denominator.</summary>
    void Div(NodeProto n, string dy)
    {
        string y = n.Output[0];
        if (Needs(n, 0)) Accumulate(n.Input[0], Unbroadcast(Emit("Div", [dy, n.Input[1]]), n.Input[0], y));
        if (Needs(n, 1)) Accumulate(n.Input[1], Unbroadcast(Emit("Neg", [Emit("Div", [Emit("Mul", [dy, y]), n.Input[1]])]), n.Input[1], y));
    }

    /// <summary>Neg: −dy.</summary>
    void Neg(NodeProto n, string dy) => Accumulate(n.Input[0], Emit("Neg", [dy]));

    /// <summary>Exp: dy·y.</summary>
    void Exp(NodeProto n, string dy) => Accumulate(n.Input[0], Emit("Mul", [dy, n.Output[0]]));

    /// <summary>Log: dy / x.</summary>
    void Log(NodeProto n, string dy) => Accumulate(n.Input[0], Emit("Div", [dy, n.Input[0]]));

    /// <summary>Abs: dy·sign(x) (0 at 0, as PyTorch).</summary>
    void Abs(NodeProto n, string dy) => Accumulate(n.Input[0], Emit("Mul", [dy, Emit("Sign", [n.Input[0]])]));

    /// <summary>Sqrt: dy / (2y).</summary>
    void Sqrt(NodeProto n, string dy) => Accumulate(n.Input[0], Emit("Div", [dy, Emit("Mul", [n.Output[0], Const([2f])])]));

    /// <summary>Reciprocal: −dy·y².</summary>
    void Reciprocal(NodeProto n, string dy) => Accumulate(n.Input[0], Emit("Neg", [Emit("Mul", [dy, Emit("Mul", [n.Output[0], n.Output[0]])])]));

    /// <summary>Pow, aᵇ: dy·b·aᵇ⁻¹ for the base, dy·y·ln a for the exponent, each summed over broadcast axes.</summary>
    void Pow(NodeProto n, string dy)
    {
        string a = n.Input[0], e = n.Input[1], y = n.Output[0];
        if (Needs(n, 0))
        {
            // A constant exponent (x², x^0.5, as LayerNorm and GELU exports write) is read as float whatever its type.
            string exponent = ConstantFloats(e, out var dims) is { } values ? Const(values, dims) : e;
            string power = Emit("Pow", [a, Emit("Sub", [exponent, Const([1f])])]);
            Accumulate(a, Unbroadcast(Emit("Mul", [dy, Emit("Mul", [exponent, power])]), a, y));
        }
        if (Needs(n, 1)) Accumulate(e, Unbroadcast(Emit("Mul", [dy, Emit("Mul", [y, Emit("Log", [a])])]), e, y));
    }

    /// <summary>Cast to float (of a float tensor): the gradient passes through; a cast to any other type ends it.</summary>
    void Cast(NodeProto n, string dy)
    {
        long to = AttrInt(n, "to", 0);
        if (to == (long)TensorProto.Types.DataType.Float) Accumulate(n.Input[0], dy);
    }

    /// <summary>Where: dy where the condition holds to the first value, elsewhere to the second, each summed over broadcast axes.</summary>
    void Where(NodeProto n, string dy)
    {
        string c = n.Input[0], y = n.Output[0];
        string zero = Const([0f]);
        if (Needs(n, 1)) Accumulate(n.Input[1], Unbroadcast(Emit("Where", [c, dy, zero]), n.Input[1], y));
        if (Needs(n, 2)) Accumulate(n.Input[2], Unbroadcast(Emit("Where", [c, zero, dy]), n.Input[2], y));
    }

    /// <summary>Max and Min of two operands: dy to the larger (smaller); where they tie, half to each (as PyTorch's maximum).</summary>
    void MaxMin(NodeProto n, string dy)
    {
        if (n.Input.Count == 1) { Accumulate(n.Input[0], dy); return; }
        if (n.Input.Count != 2) throw Unsupported(n, $"{n.Input.Count} operands");
        string a = n.Input[0], b = n.Input[1], y = n.Output[0];
        string wins = Emit(n.OpType == "Max" ? "Greater" : "Less", [a, b]);
        string share = Emit("Add", [FloatOf(wins), Emit("Mul", [FloatOf(Emit("Equal", [a, b])), Const([0.5f])])]);
        if (Needs(n, 0)) Accumulate(a, Unbroadcast(Emit("Mul", [dy, share]), a, y));
        if (Needs(n, 1)) Accumulate(b, Unbroadcast(Emit("Mul", [dy, Emit("Sub", [Const([1f]), share])]), b, y));
    }

    /// <summary>Sum and Mean of any number of operands: dy (divided by their count for Mean) to each, summed over broadcast axes.</summary>
    void SumMean(NodeProto n, string dy)
    {
        string g = n.OpType == "Mean" ? Emit("Mul", [dy, Const([1f / n.Input.Count])]) : dy;
        for (int i = 0; i < n.Input.Count; i++)
            if (Needs(n, i)) Accumulate(n.Input[i], Unbroadcast(g, n.Input[i], n.Output[0]));
    }
}
