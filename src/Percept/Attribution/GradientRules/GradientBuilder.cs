using Google.Protobuf;
using Onnx;
using Percept.Model;

namespace Percept.Attribution;

/// <summary>
/// Writes the backward graph of an ONNX model: walks the nodes between the input and the output from the last to the
/// first and asks each operator's rule (registered by family in <c>GradientRules/</c>) for its inputs' gradients.
/// Adding an operator is one rule and its finite-difference test.
/// </summary>
sealed partial class GradientBuilder(OnnxModel model, string input, string output, Dictionary<string, long[]> shapes, bool shareForward,
    Dictionary<string, long[]>? probedIntegers = null)
{
    /// <summary>A gradient rule: given a node and the name of its output's gradient, emits its inputs' gradients.</summary>
    delegate void Rule(GradientBuilder builder, NodeProto node, string dy);

    /// <summary>Every operator with a gradient rule.</summary>
    readonly Dictionary<string, long[]> _shapes = shapes;

    static readonly Dictionary<string, Rule> Rules = MakeRules();

    static Dictionary<string, Rule> MakeRules()
    {
        var rules = new Dictionary<string, Rule>(StringComparer.Ordinal);
        RegisterElementWise(rules);
        RegisterShape(rules);
        RegisterActivations(rules);
        RegisterMatrixProducts(rules);
        RegisterConvolutionAndPooling(rules);
        RegisterNormalization(rules);
        RegisterReductions(rules);
        RegisterResampling(rules);
        return rules;
    }

    /// <summary>
    /// The tensors whose values depend on <paramref name="input"/>'s values. A tensor's shape is not its value: what a
    /// Shape or Size node computes (and everything computed from it alone, such as a Reshape's target) carries no gradient.
    /// </summary>
    static HashSet<string> Requires(GraphProto graph, string input)
    {
        var requires = new HashSet<string> { input };
        foreach (var n in graph.Node)
            if (n.OpType is not ("Shape" or "Size") && n.Input.Any(requires.Contains))
                foreach (var o in n.Output) requires.Add(o);
        return requires;
    }

    /// <summary>The nodes between <paramref name="input"/> and <paramref name="output"/>: they depend on the input and the output depends on them.</summary>
    internal static List<NodeProto> PathNodes(GraphProto graph, string input, string output)
    {
        var requires = Requires(graph, input);
        var producer = new Dictionary<string, NodeProto>();
        foreach (var n in graph.Node) foreach (var o in n.Output) producer[o] = n;
        var needed = new HashSet<NodeProto>();
        var stack = new Stack<string>([output]);
        while (stack.Count > 0)
            if (producer.TryGetValue(stack.Pop(), out var p) && requires.Contains(p.Output[0]) && needed.Add(p))
                foreach (var i in p.Input) stack.Push(i);
        return graph.Node.Where(needed.Contains).ToList();
    }

    /// <summary>
    /// The integer operands of Slice nodes that are computed rather than constant (a <c>chunk</c> splits at half a
    /// computed size): what <see cref="OnnxModel.ProbeIntegers"/> is asked to evaluate. Only those that do not depend on
    /// the input's values are used.
    /// </summary>
    internal static IReadOnlyCollection<string> ComputedBounds(GraphProto graph, string input)
    {
        var constants = graph.Initializer.Select(i => i.Name).Concat(graph.Node.Where(n => n.OpType == "Constant").Select(n => n.Output[0])).ToHashSet();
        var requires = Requires(graph, input);
        return graph.Node.Where(n => n.OpType == "Slice").SelectMany(n => n.Input.Skip(1)).Where(t => t.Length > 0 && !constants.Contains(t) && !requires.Contains(t)).Distinct().ToArray();
    }

    /// <summary>The operators Percept can differentiate.</summary>
    public static IReadOnlyCollection<string> SupportedOperators => Rules.Keys;

    HashSet<string> _requires = [];

    /// <summary>Whether input <paramref name="i"/> of <paramref name="n"/> needs a gradient: it depends on the model input and leads to a tensor whose gradient is asked for.</summary>
    bool Needs(NodeProto n, int i) => i < n.Input.Count && n.Input[i].Length > 0 && _requires.Contains(n.Input[i]) && _downstream.Contains(n.Input[i]);

    void Backward(NodeProto n, string dy)
    {
        if (!n.Input.Where((_, i) => Needs(n, i)).Any()) return;
        if (!Rules.TryGetValue(n.OpType, out var rule)) throw Unsupported(n, null);
        rule(this, n, dy);
    }

    readonly ModelProto _proto = model.Proto.Clone();
    readonly Dictionary<string, string> _grad = [];
    readonly HashSet<string> _initializers = model.Proto.Graph.Initializer.Select(i => i.Name).ToHashSet();
    int _counter;
    // Relu outputs whose mask a following MaxPool already applied; tensors whose gradient must stay exact (asked for or seeded).
    readonly HashSet<string> _premasked = [];
    readonly HashSet<string> _keep = [];
    Dictionary<string, NodeProto> _producer = [];
    Dictionary<string, int> _consumers = [];
    readonly HashSet<string> _downstream = [];
    long Opset => model.Opset;

    /// <summary>Whether the backward graph serves seed rows from one forward sample (asked for, and possible).</summary>
    public bool SharedForward => _shared;
    bool _shared;
    string? _rows, _rowIndex;

    /// <summary>
    /// Whether a graph can share one forward pass among several seed rows: the backward graph then gives gradients the
    /// batch size of the seed, and shapes them as the forward tensors with that batch size in front, so every tensor must keep
    /// the batch on its first axis (no Transpose moving axis 0, no Flatten at axis 0, no Reshape changing the first
    /// dimension). Needs opset 11 (Range).
    /// </summary>
    bool CanShareForward() => Opset >= 11 && G.Node.All(n => n.OpType switch
    {
        "Transpose" => Attr(n, "perm") is { } perm && perm.Ints.Count > 0 && perm.Ints[0] == 0,
        "Flatten" => AttrInt(n, "axis", 1) != 0,
        "Reshape" => _shapes.TryGetValue(n.Input[0], out var a) && _shapes.TryGetValue(n.Output[0], out var b) && a.Length > 0 && b.Length > 0 && a[0] == b[0],
        // Einsum names every axis in its equation, and an operand of batch 1 does not broadcast against T gradient rows.
        "Einsum" => false,
        "Squeeze" or "Unsqueeze" => (Opset >= 13 && n.Input.Count > 1 ? ConstantLongs(n.Input[1]) : AttrInts(n, "axes", [])) is { Length: > 0 } axes && axes.All(v => v > 0),
        _ => true,
    });

    /// <summary>The seed's batch size (the number of gradient rows) as a 1-element shape, computed once per graph.</summary>
    string Rows() => _rows ??= Emit("Slice", [ShapeOf(GradientGraph.SeedName), ConstLong([0], 1), ConstLong([1], 1)]);

    /// <summary>0, 1, …, rows − 1, computed once per graph.</summary>
    string RowIndex() => _rowIndex ??= Emit("Range", [ConstLong([0]), Emit("Reshape", [Rows(), ConstLong([], 0)]), ConstLong([1])]);
    GraphProto G => _proto.Graph;

    public ModelProto Build(IReadOnlyList<string> activations, IReadOnlyList<string> extraSeeds, bool inputGradient)
    {
        _shared = shareForward && CanShareForward();
        var nodes = G.Node.ToList();
        var requires = _requires = Requires(G, input);
        var producer = new Dictionary<string, NodeProto>();
        foreach (var n in nodes) foreach (var o in n.Output) producer[o] = n;
        // Nodes between the input and the output.
        var needed = new HashSet<NodeProto>();
        var stack = new Stack<string>([output, .. extraSeeds]);
        while (stack.Count > 0)
            if (producer.TryGetValue(stack.Pop(), out var p) && requires.Contains(p.Output[0]) && needed.Add(p))
                foreach (var i in p.Input) stack.Push(i);
        _producer = producer;
        _consumers = nodes.SelectMany(n => n.Input.Distinct()).Concat(G.Output.Select(o => o.Name)).GroupBy(t => t).ToDictionary(g => g.Key, g => g.Count());
        foreach (var t in activations.Concat(extraSeeds).Append(output)) _keep.Add(t);
        // Gradients are only written for tensors downstream of one whose gradient is asked for (the input, the activations).
        foreach (var t in inputGradient ? activations.Append(input) : activations) _downstream.Add(t);
        foreach (var n in nodes) if (n.Input.Any(_downstream.Contains)) foreach (var o in n.Output) _downstream.Add(o);
        if (!requires.Contains(output)) throw new PerceptException($"output '{output}' does not depend on input '{input}'");

        var seedShape = new TensorShapeProto();
        seedShape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = "T" });
        foreach (var d in _shapes[output].Skip(1)) seedShape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        G.Input.Add(new ValueInfoProto { Name = GradientGraph.SeedName, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = seedShape } } });
        _grad[output] = GradientGraph.SeedName;
        foreach (var t in extraSeeds)
        {
            if (!requires.Contains(t)) throw new PerceptException($"tensor '{t}' does not depend on input '{input}'");
            var shape = new TensorShapeProto();
            shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = "T" });
            foreach (var d in _shapes[t].Skip(1)) shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
            G.Input.Add(new ValueInfoProto { Name = GradientGraph.SeedName + "/" + t, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } } });
            Accumulate(t, GradientGraph.SeedName + "/" + t);
        }
        foreach (var n in nodes.AsEnumerable().Reverse())
        {
            if (!needed.Contains(n)) continue;
            // A node is differentiated when its output has a gradient; Split, when any of its outputs has one.
            if (!_grad.TryGetValue(n.Output[0], out var dy))
            {
                if (n.OpType != "Split" || !n.Output.Any(_grad.ContainsKey)) continue;
                dy = "";
            }
            Backward(n, dy);
        }
        if (inputGradient)
        {
            if (!_grad.TryGetValue(input, out var gradient)) throw new PerceptException("no gradient reaches the input");
            AddOutput(Emit("Identity", [gradient], name: "percept.grad/" + input));
        }
        foreach (var a in activations)
        {
            if (!_grad.TryGetValue(a, out var ga)) throw new PerceptException($"tensor '{a}' is not between the input and the output; no gradient reaches it");
            AddOutput(a);
            AddOutput(Emit("Identity", [ga], name: "percept.grad/" + a));
        }
        if (Opset < 9 && G.Node.Any(n => n.OpType == "MaxUnpool")) RaiseToOpset9();
        return _proto;
    }

    /// <summary>
    /// MaxUnpool (a MaxPool's gradient) exists from opset 9: a model of opset 8 (CNTK's exports, such as ML.NET's
    /// ResNet-18) gets its graph declared at opset 9. Of the operators whose version changed at 9, BatchNormalization lost
    /// its <c>spatial</c> attribute (1 is what 9 does, so it is dropped; 0 is refused); Upsample (scales became an input),
    /// MeanVarianceNormalization (axes replaced its attributes) and Scan (no batch axis) run differently and are refused;
    /// the others (Cast, Constant, Flatten, Gemm, MatMul, PRelu, Greater, Less) only gained types.
    /// </summary>
    void RaiseToOpset9()
    {
        foreach (var n in G.Node)
        {
            if (n.OpType is "Upsample" or "MeanVarianceNormalization" or "Scan")
                throw Unsupported(n, $"a MaxPool in an opset-8 model: MaxPool's gradient needs opset 9, where {n.OpType} runs differently");
            if (n.OpType == "BatchNormalization" && n.Attribute.FirstOrDefault(a => a.Name == "spatial") is { } spatial)
            {
                if (spatial.I != 1) throw Unsupported(n, "spatial = 0 at opset < 9");
                n.Attribute.Remove(spatial);
            }
        }
        foreach (var import in _proto.OpsetImport.Where(o => o.Domain is "" or "ai.onnx")) import.Version = Math.Max(import.Version, 9);
    }

    void AddOutput(string name)
    {
        if (G.Output.All(o => o.Name != name)) G.Output.Add(new ValueInfoProto { Name = name });
    }

    string Emit(string op, string[] inputs, IEnumerable<AttributeProto>? attributes = null, string? name = null)
    {
        string outName = name ?? $"percept.g{_counter++}";
        var node = new NodeProto { OpType = op, Name = outName + "/" + op };
        node.Input.AddRange(inputs);
        node.Output.Add(outName);
        if (attributes != null) node.Attribute.AddRange(attributes);
        G.Node.Add(node);
        return outName;
    }

    string Const(float[] values, params long[] dims) =>
        Initializer(TensorProto.Types.DataType.Float, dims, t => t.FloatData.AddRange(values));

    string ConstLong(long[] values, params long[] dims) =>
        Initializer(TensorProto.Types.DataType.Int64, dims, t => t.Int64Data.AddRange(values));

    string Initializer(TensorProto.Types.DataType type, long[] dims, Action<TensorProto> fill)
    {
        var t = new TensorProto { Name = $"percept.c{_counter++}", DataType = (int)type };
        t.Dims.AddRange(dims);
        fill(t);
        G.Initializer.Add(t);
        return t.Name;
    }

    static AttributeProto Int(string n, long v) => new() { Name = n, Type = AttributeProto.Types.AttributeType.Int, I = v };
    static AttributeProto Ints(string n, IEnumerable<long> v) { var a = new AttributeProto { Name = n, Type = AttributeProto.Types.AttributeType.Ints }; a.Ints.AddRange(v); return a; }
    static AttributeProto Str(string n, string v) => new() { Name = n, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(v) };

    static AttributeProto? Attr(NodeProto n, string name) => n.Attribute.FirstOrDefault(a => a.Name == name);
    static long AttrInt(NodeProto n, string name, long fallback) => Attr(n, name) is { } a ? a.I : fallback;
    static float AttrFloat(NodeProto n, string name, float fallback) => Attr(n, name) is { } a ? a.F : fallback;
    static long[] AttrInts(NodeProto n, string name, long[] fallback) => Attr(n, name) is { } a ? [.. a.Ints] : fallback;

    void Accumulate(string tensor, string g)
    {
        _grad[tensor] = _grad.TryGetValue(tensor, out var prev) ? Emit("Add", [prev, g]) : g;
    }

    string ShapeOf(string tensor) => Emit("Shape", [tensor]);

    /// <summary>
    /// The shape of <paramref name="x"/>'s gradient: x's own shape, or, when one forward sample serves several seed rows,
    /// x's shape with the number of rows in front.
    /// </summary>
    string GradShape(string x) => !_shared ? ShapeOf(x) : Emit("Concat", [Rows(), ConstLong(_shapes[x][1..], _shapes[x].Length - 1)], [Int("axis", 0)]);

    /// <summary>dy where the non-negative <paramref name="y"/> is positive, else 0 (a multiply by a 0/1 mask is faster in ONNX Runtime than Where).</summary>
    string Mask(string dy, string y) => Emit("Mul", [dy, Emit("Cast", [Emit("Greater", [y, Const([0f])])], [Int("to", (long)TensorProto.Types.DataType.Float)])]);

    /// <summary>
    /// The input gradient of a stride-1, ungrouped 2-D convolution as a convolution of dy with the kernel flipped and
    /// its channel axes swapped, which ONNX Runtime runs in its blocked NCHWc layout (ConvTranspose has no such kernel).
    /// Used where the channel counts fit the blocks (multiples of 8); null where it does not apply.
    /// </summary>
    string? FlippedConv(NodeProto n, string dy, long[] ws, long[] strides, long[] dil, long[] pads, long[] outPad, long group)
    {
        if (group != 1 || ws.Length != 4 || strides.Any(v => v != 1) || !_initializers.Contains(n.Input[1]) || ws[0] % 8 != 0 || ws[1] % 8 != 0) return null;
        long co = ws[0], ci = ws[1], kh = ws[2], kw = ws[3];
        long[] flippedPads = [dil[0] * (kh - 1) - pads[0], dil[1] * (kw - 1) - pads[1], dil[0] * (kh - 1) - pads[2] + outPad[0], dil[1] * (kw - 1) - pads[3] + outPad[1]];
        if (flippedPads.Any(v => v < 0)) return null;
        var w = InitializerValues(n.Input[1]);
        var f = new float[w.Length];
        for (long o = 0; o < co; o++)
            for (long i = 0; i < ci; i++)
                for (long a = 0; a < kh; a++)
                    for (long b = 0; b < kw; b++)
                        f[((i * co + o) * kh + (kh - 1 - a)) * kw + (kw - 1 - b)] = w[((o * ci + i) * kh + a) * kw + b];
        return Emit("Conv", [dy, Const(f, ci, co, kh, kw)], [Ints("dilations", dil), Ints("pads", flippedPads), Ints("kernel_shape", [kh, kw])]);
    }

    /// <summary>Sums a broadcast gradient back to the shape of <paramref name="operand"/>.</summary>
    string Unbroadcast(string g, string operand, string result)
    {
        var os = _shapes[operand]; var rs = _shapes[result];
        if (os.SequenceEqual(rs)) return g;
        var axes = new List<long>();
        int lead = rs.Length - os.Length;
        for (int i = 0; i < rs.Length; i++)
            if (i < lead || (os[i - lead] == 1 && rs[i] != 1)) axes.Add(i);
        // An operand without the batch axis (lead > 0) is summed over it; one with it keeps the gradient's batch size.
        if (axes.Count == 0) return Emit("Reshape", [g, lead > 0 ? ShapeOf(operand) : GradShape(operand)]);
        string summed = Opset >= 13
            ? Emit("ReduceSum", [g, ConstLong([.. axes], axes.Count)], [Int("keepdims", 1)])
            : Emit("ReduceSum", [g], [Ints("axes", axes), Int("keepdims", 1)]);
        return Emit("Reshape", [summed, lead > 0 ? ShapeOf(operand) : GradShape(operand)]);
    }

    /// <summary>Sums the gradient of a MatMul operand over the leading axes it was broadcast along; the last two axes are its own.</summary>
    string UnbroadcastMatMul(string g, string operand, long[] os, long[] rs)
    {
        var axes = new List<long>();
        int lead = rs.Length - os.Length;
        for (int i = 0; i < rs.Length - 2; i++)
            if (i < lead || (os[i - lead] == 1 && rs[i] != 1)) axes.Add(i);
        if (axes.Count == 0 && lead == 0) return g;
        string summed = axes.Count == 0 ? g : Opset >= 13
            ? Emit("ReduceSum", [g, ConstLong([.. axes], axes.Count)], [Int("keepdims", 1)])
            : Emit("ReduceSum", [g], [Ints("axes", axes), Int("keepdims", 1)]);
        return Emit("Reshape", [summed, ConstLong([.. os.Select((d, i) => i == 0 && lead == 0 ? 0 : d)], os.Length)]);
    }

    string AddIndicesOutput(NodeProto n)
    {
        string name = $"percept.indices{_counter++}";
        if (n.Output.Count == 1) n.Output.Add(name); else n.Output[1] = name;
        return name;
    }

    /// <summary>Integer values of a constant operand: an initializer or the output of a Constant node.</summary>
    long[] ConstantLongs(string name)
    {
        var t = ConstantTensor(name)
                ?? (probedIntegers != null && probedIntegers.TryGetValue(name, out var probed) ? ConstantTensor(probed) : null)
                ?? throw new PerceptException($"'{name}' is not a constant (it depends on the input's values or on the batch size); its gradient rule needs one");
        if (t.Int64Data.Count > 0) return [.. t.Int64Data];
        if (t.Int32Data.Count > 0) return [.. t.Int32Data.Select(v => (long)v)];
        return t.DataType == (int)TensorProto.Types.DataType.Int32
            ? System.Runtime.InteropServices.MemoryMarshal.Cast<byte, int>(t.RawData.Span).ToArray().Select(v => (long)v).ToArray()
            : System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(t.RawData.Span).ToArray();
    }

    /// <summary>The values of a constant operand (an initializer or a Constant node's output) as floats, whatever their type; null when it is computed.</summary>
    float[]? ConstantFloats(string name, out long[] dims)
    {
        var t = ConstantTensor(name);
        dims = t != null ? [.. t.Dims] : [];
        if (t == null) return null;
        var raw = t.RawData.Span;
        return (TensorProto.Types.DataType)t.DataType switch
        {
            TensorProto.Types.DataType.Float => t.FloatData.Count > 0 ? [.. t.FloatData] : System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(raw).ToArray(),
            TensorProto.Types.DataType.Double => t.DoubleData.Count > 0 ? t.DoubleData.Select(v => (float)v).ToArray() : System.Runtime.InteropServices.MemoryMarshal.Cast<byte, double>(raw).ToArray().Select(v => (float)v).ToArray(),
            TensorProto.Types.DataType.Int64 or TensorProto.Types.DataType.Int32 => ConstantLongs(name).Select(v => (float)v).ToArray(),
            _ => null,
        };
    }

    /// <summary>A boolean tensor as 0/1 floats.</summary>
    string FloatOf(string condition) => Emit("Cast", [condition], [Int("to", (long)TensorProto.Types.DataType.Float)]);

    /// <summary>A constant operand's tensor: an initializer or a Constant node's value; null when it is computed.</summary>
    TensorProto? ConstantTensor(string name) =>
        G.Initializer.FirstOrDefault(i => i.Name == name)
        ?? G.Node.FirstOrDefault(c => c.OpType == "Constant" && c.Output[0] == name)?.Attribute.FirstOrDefault(a => a.Name == "value")?.T;

    static TensorProto ConstantTensor(long[] values)
    {
        var t = new TensorProto { DataType = (int)TensorProto.Types.DataType.Int64 };
        t.Dims.Add(values.Length);
        t.Int64Data.AddRange(values);
        return t;
    }

    long[] InitializerShape(string name) => [.. G.Initializer.First(i => i.Name == name).Dims];

    float[] InitializerValues(string name)
    {
        var t = G.Initializer.FirstOrDefault(i => i.Name == name) ?? throw new PerceptException($"'{name}' is not a constant of the model");
        if (t.FloatData.Count > 0) return [.. t.FloatData];
        return System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(t.RawData.Span).ToArray();
    }

    static PerceptException Unsupported(NodeProto n, string? detail) =>
        new($"the gradient of {n.OpType}{(detail != null ? $" with {detail}" : "")} (node '{n.Name}') is not supported yet; {Terms.Option("method")} occlusion works for any model");
}
