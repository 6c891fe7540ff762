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
}
