using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;
using Percept.Model;

namespace Percept.Attribution;

/// <summary>
/// Gradients through an ONNX model, computed by ONNX Runtime itself: the model's graph is extended with a backward
/// graph made of standard operators (ConvTranspose for a Conv's input gradient, MatMul for Gemm, Where/Greater for
/// Relu, MaxUnpool with the pooling's own indices for MaxPool, ReduceSum over broadcast axes for Add and Mul, …),
/// seeded by a new graph input holding ∂target/∂output. One run yields the outputs, the gradient with respect to the
/// input and, for chosen intermediate tensors, their values and gradients (for Grad-CAM). An operator without a
/// gradient rule is a clear error naming it.
/// </summary>
public sealed class GradientGraph : IDisposable
{
    public const string SeedName = "percept.seed";

    readonly InferenceSession _session;
    readonly InferenceSession _forward;
    readonly SessionOptions _options;
    readonly string[] _fetch;
    readonly string _inputName;

    /// <summary>Per-sample input shape fed.</summary>
    public int[] SampleShape { get; }
    /// <summary>Per-sample output shape (the seed has the same).</summary>
    public long[] OutputShape { get; }
    public IReadOnlyList<string> Activations { get; }

    /// <summary>Whether one sample's forward pass can serve several seed rows (<see cref="Run"/>'s seedRows; models of opset 11 and later).</summary>
    public bool SharedForward { get; private init; }

    /// <summary>Whether runs return the input gradient (false for graphs built for activation gradients only).</summary>
    public bool HasInputGradient { get; private init; } = true;

    /// <summary>The seeded intermediate tensors and their per-sample shapes.</summary>
    public IReadOnlyList<(string Tensor, long[] Shape)> ExtraSeeds { get; private init; } = [];

    GradientGraph(InferenceSession session, InferenceSession forward, SessionOptions options, string input, string[] fetch, int[] sampleShape, long[] outputShape, IReadOnlyList<string> activations)
    {
        _session = session; _forward = forward; _options = options; _inputName = input; _fetch = fetch;
        SampleShape = sampleShape; OutputShape = outputShape; Activations = activations;
    }

    /// <summary>Builds the forward + backward model.</summary>
    /// <param name="activations">Intermediate tensors whose values and gradients to return (e.g. a Grad-CAM layer).</param>
    /// <param name="extraSeeds">Intermediate tensors that get seeds of their own (graph inputs <c>percept.seed/NAME</c>), for targets that depend on activations rather than on the output.</param>
    /// <param name="inputGradient">Whether to compute the gradient with respect to the input; without it (Grad-CAM) the backward graph stops at the deepest activation asked for.</param>
    /// <param name="sharedForward">Build for runs of one sample with several seed rows (several targets of one sample: one forward
    /// pass, a backward pass per row), where the model allows it (<see cref="SharedForward"/>); such a graph runs only that way.</param>
    public static GradientGraph Build(OnnxModel model, ModelInput input, int[] sampleShape, string output, IReadOnlyList<string> activations,
        IReadOnlyList<string>? extraSeeds = null, bool inputGradient = true, bool sharedForward = false)
    {
        if (!inputGradient && activations.Count == 0) throw new ArgumentException("nothing to differentiate: no input gradient and no activations");
        var shapes = model.ProbeShapes(input, sampleShape);
        var builder = new Builder(model, input.Name, output, shapes, sharedForward);
        var proto = builder.Build(activations, extraSeeds ?? [], inputGradient);
        var options = new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        // As in ModelRunner: a server holds several sessions, and idle intra-op threads spinning would take the cores of the busy one.
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        if (Environment.GetEnvironmentVariable("PERCEPT_ORT_PROFILE") is { Length: > 0 } prefix) { options.ProfileOutputPathPrefix = prefix; options.EnableProfiling = true; }
        try
        {
            var session = new InferenceSession(proto.ToByteArray(), options);
            // ONNX Runtime runs every node of a session whatever is fetched, so forward-only passes get the model's own graph.
            var forward = new InferenceSession(model.Proto.ToByteArray(), options);
            string[] fetch = [output, .. inputGradient ? new[] { "percept.grad/" + input.Name } : [], .. activations.SelectMany(a => new[] { a, "percept.grad/" + a })];
            return new GradientGraph(session, forward, options, input.Name, fetch, sampleShape, shapes[output][1..], activations)
            {
                HasInputGradient = inputGradient,
                SharedForward = builder.SharedForward,
                ExtraSeeds = (extraSeeds ?? []).Select(t => (t, shapes[t][1..])).ToArray(),
            };
        }
        catch (OnnxRuntimeException e)
        {
            options.Dispose();
            throw new PerceptException($"ONNX Runtime cannot run the gradient graph of {Path.GetFileName(model.Path)}: {ModelRunner.FirstLine(e.Message)}", e);
        }
    }

    /// <summary>
    /// Runs <paramref name="count"/> samples with their seeds (∂target/∂output, one row per sample).
    /// Returns the output, the input gradient, and each activation with its gradient, all as flat arrays.
    /// A graph built with <see cref="SharedForward"/> runs one sample (<paramref name="count"/> 1) with <paramref name="seedRows"/>
    /// seed rows: the input gradient and the activation gradients then have a row per seed, the outputs and activation values one row.
    /// </summary>
    public GradientResult Run(float[] inputs, float[] seeds, int count, IReadOnlyList<float[]>? extraSeeds = null, int seedRows = 0)
    {
        if (SharedForward && count != 1) throw new ArgumentException("a graph that shares its forward pass runs one sample at a time");
        if (!SharedForward && seedRows > 0 && seedRows != count) throw new ArgumentException("several seed rows per sample need a graph built with sharedForward");
        int rows = seedRows > 0 ? seedRows : count;
        long[] xShape = [count, .. SampleShape.Select(d => (long)d)];
        long[] sShape = [rows, .. OutputShape];
        var values = new List<OrtValue>
        {
            OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, inputs.AsMemory(0, (int)xShape.Aggregate(1L, (a, b) => a * b)), xShape),
            OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, seeds.AsMemory(0, (int)sShape.Aggregate(1L, (a, b) => a * b)), sShape),
        };
        var names = new List<string> { _inputName, SeedName };
        for (int e = 0; e < ExtraSeeds.Count; e++)
        {
            long[] shape = [rows, .. ExtraSeeds[e].Shape];
            var data = extraSeeds?[e] ?? new float[shape.Aggregate(1L, (a, b) => a * b)];
            values.Add(OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, data.AsMemory(0, (int)shape.Aggregate(1L, (a, b) => a * b)), shape));
            names.Add(SeedName + "/" + ExtraSeeds[e].Tensor);
        }
        try
        {
            using var runOptions = new RunOptions();
            using var r = _session.Run(runOptions, names, values, _fetch);
            var acts = new List<(float[] Value, long[] Shape, float[] Gradient)>();
            int first = HasInputGradient ? 2 : 1;
            for (int i = 0; i < Activations.Count; i++)
                acts.Add((r[first + 2 * i].GetTensorDataAsSpan<float>().ToArray(), r[first + 2 * i].GetTensorTypeAndShape().Shape, r[first + 1 + 2 * i].GetTensorDataAsSpan<float>().ToArray()));
            return new GradientResult(r[0].GetTensorDataAsSpan<float>().ToArray(), HasInputGradient ? r[1].GetTensorDataAsSpan<float>().ToArray() : [], acts);
        }
        catch (OnnxRuntimeException e) { throw new PerceptException($"ONNX Runtime failed on the gradient graph: {ModelRunner.FirstLine(e.Message)}", e); }
        finally { foreach (var v in values) v.Dispose(); }
    }

    /// <summary>The outputs alone for <paramref name="count"/> samples, from a session of the model's own graph (no backward nodes).</summary>
    public float[] Forward(float[] inputs, int count)
    {
        long[] xShape = [count, .. SampleShape.Select(d => (long)d)];
        using var value = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, inputs.AsMemory(0, (int)xShape.Aggregate(1L, (a, b) => a * b)), xShape);
        try
        {
            using var runOptions = new RunOptions();
            using var r = _forward.Run(runOptions, [_inputName], [value], [_fetch[0]]);
            return r[0].GetTensorDataAsSpan<float>().ToArray();
        }
        catch (OnnxRuntimeException e) { throw new PerceptException($"ONNX Runtime failed on the model: {ModelRunner.FirstLine(e.Message)}", e); }
    }

    public void Dispose() { _session.Dispose(); _forward.Dispose(); _options.Dispose(); }

    /// <summary>Writes the backward graph.</summary>
    sealed class Builder(OnnxModel model, string input, string output, Dictionary<string, long[]> shapes, bool shareForward)
    {
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
            "Reshape" => shapes.TryGetValue(n.Input[0], out var a) && shapes.TryGetValue(n.Output[0], out var b) && a.Length > 0 && b.Length > 0 && a[0] == b[0],
            "Squeeze" or "Unsqueeze" => (Opset >= 13 && n.Input.Count > 1 ? ConstantLongs(n.Input[1]) : AttrInts(n, "axes", [])) is { Length: > 0 } axes && axes.All(v => v > 0),
            _ => true,
        });

        /// <summary>The seed's batch size (the number of gradient rows) as a 1-element shape, computed once per graph.</summary>
        string Rows() => _rows ??= Emit("Slice", [ShapeOf(SeedName), ConstLong([0], 1), ConstLong([1], 1)]);

        /// <summary>0, 1, …, rows − 1, computed once per graph.</summary>
        string RowIndex() => _rowIndex ??= Emit("Range", [ConstLong([0]), Emit("Reshape", [Rows(), ConstLong([], 0)]), ConstLong([1])]);
        GraphProto G => _proto.Graph;

        public ModelProto Build(IReadOnlyList<string> activations, IReadOnlyList<string> extraSeeds, bool inputGradient)
        {
            _shared = shareForward && CanShareForward();
            var nodes = G.Node.ToList();
            var requires = new HashSet<string> { input };
            foreach (var n in nodes) if (n.Input.Any(requires.Contains)) foreach (var o in n.Output) requires.Add(o);
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
            foreach (var d in shapes[output].Skip(1)) seedShape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
            G.Input.Add(new ValueInfoProto { Name = SeedName, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = seedShape } } });
            _grad[output] = SeedName;
            foreach (var t in extraSeeds)
            {
                if (!requires.Contains(t)) throw new PerceptException($"tensor '{t}' does not depend on input '{input}'");
                var shape = new TensorShapeProto();
                shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = "T" });
                foreach (var d in shapes[t].Skip(1)) shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
                G.Input.Add(new ValueInfoProto { Name = SeedName + "/" + t, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } } });
                Accumulate(t, SeedName + "/" + t);
            }
            foreach (var n in nodes.AsEnumerable().Reverse())
            {
                if (!needed.Contains(n) || !_grad.TryGetValue(n.Output[0], out var dy)) continue;
                Backward(n, dy, requires);
            }
            if (inputGradient)
            {
                if (!_grad.ContainsKey(input)) throw new PerceptException("no gradient reaches the input");
                AddOutput(Emit("Identity", [_grad[input]], name: "percept.grad/" + input));
            }
            foreach (var a in activations)
            {
                if (!_grad.TryGetValue(a, out var ga)) throw new PerceptException($"tensor '{a}' is not between the input and the output; no gradient reaches it");
                AddOutput(a);
                AddOutput(Emit("Identity", [ga], name: "percept.grad/" + a));
            }
            return _proto;
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
        string GradShape(string x) => !_shared ? ShapeOf(x) : Emit("Concat", [Rows(), ConstLong(shapes[x][1..], shapes[x].Length - 1)], [Int("axis", 0)]);

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
            var os = shapes[operand]; var rs = shapes[result];
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

        void Backward(NodeProto n, string dy, HashSet<string> requires)
        {
            bool Needs(int i) => i < n.Input.Count && n.Input[i].Length > 0 && requires.Contains(n.Input[i]) && _downstream.Contains(n.Input[i]);
            if (!n.Input.Where((_, i) => Needs(i)).Any()) return;
            string x = n.Input[0], y = n.Output[0];
            switch (n.OpType)
            {
                case "Identity" or "Dropout":
                    Accumulate(x, dy); break;
                case "Flatten" or "Reshape" or "Squeeze" or "Unsqueeze":
                    Accumulate(x, Emit("Reshape", [dy, GradShape(x)])); break;
                case "Relu":
                {
                    // The mask from the output (y > 0 exactly where x > 0) leaves Conv+Relu fusable in the forward part.
                    Accumulate(x, _premasked.Contains(y) ? dy : Mask(dy, y)); break;
                }
                case "LeakyRelu":
                {
                    string zero = Const([0f]);
                    Accumulate(x, Emit("Where", [Emit("Greater", [x, zero]), dy, Emit("Mul", [dy, Const([AttrFloat(n, "alpha", 0.01f)])])])); break;
                }
                case "Sigmoid":
                    Accumulate(x, Emit("Mul", [dy, Emit("Mul", [y, Emit("Sub", [Const([1f]), y])])])); break;
                case "Tanh":
                    Accumulate(x, Emit("Mul", [dy, Emit("Sub", [Const([1f]), Emit("Mul", [y, y])])])); break;
                case "Gemm":
                {
                    if (AttrInt(n, "transA", 0) != 0) throw Unsupported(n, "transA = 1");
                    if (Needs(1)) throw Unsupported(n, "a weight that depends on the input");
                    string b = n.Input[1];
                    string bt = AttrInt(n, "transB", 0) != 0 ? b : Emit("Transpose", [b], [Ints("perm", [1, 0])]);
                    string g = Emit("MatMul", [dy, bt]);
                    float alpha = AttrFloat(n, "alpha", 1f);
                    Accumulate(x, alpha == 1f ? g : Emit("Mul", [g, Const([alpha])]));
                    break;
                }
                case "MatMul":
                {
                    long[] Shape(string t) => shapes.TryGetValue(t, out var known) ? known : InitializerShape(t);
                    string a = n.Input[0], b = n.Input[1];
                    long[] sa = Shape(a), sb = Shape(b);
                    if (sa.Length < 2 || sb.Length < 2) throw Unsupported(n, "a 1-D operand");
                    // Y = A·B over broadcast leading axes: dA = dY·Bᵀ, dB = Aᵀ·dY, each summed back over the axes it was broadcast along.
                    string SwapLast(string t, int rank) => Emit("Transpose", [t], [Ints("perm", [.. Enumerable.Range(0, rank - 2).Select(i => (long)i), rank - 1, rank - 2])]);
                    if (Needs(0)) Accumulate(a, UnbroadcastMatMul(Emit("MatMul", [dy, SwapLast(b, sb.Length)]), a, sa, shapes[y]));
                    if (Needs(1)) Accumulate(b, UnbroadcastMatMul(Emit("MatMul", [SwapLast(a, sa.Length), dy]), b, sb, shapes[y]));
                    break;
                }
                case "Add" or "Sub":
                    if (Needs(0)) Accumulate(n.Input[0], Unbroadcast(dy, n.Input[0], y));
                    if (Needs(1)) Accumulate(n.Input[1], Unbroadcast(n.OpType == "Sub" ? Emit("Neg", [dy]) : dy, n.Input[1], y));
                    break;
                case "Mul":
                    if (Needs(0)) Accumulate(n.Input[0], Unbroadcast(Emit("Mul", [dy, n.Input[1]]), n.Input[0], y));
                    if (Needs(1)) Accumulate(n.Input[1], Unbroadcast(Emit("Mul", [dy, n.Input[0]]), n.Input[1], y));
                    break;
                case "Div":
                    if (Needs(0)) Accumulate(n.Input[0], Unbroadcast(Emit("Div", [dy, n.Input[1]]), n.Input[0], y));
                    if (Needs(1)) Accumulate(n.Input[1], Unbroadcast(Emit("Neg", [Emit("Div", [Emit("Mul", [dy, y]), n.Input[1]])]), n.Input[1], y));
                    break;
                case "Conv":
                {
                    if (Needs(1)) throw Unsupported(n, "weights that depend on the input");
                    if (Attr(n, "auto_pad") is { } ap && ap.S.ToStringUtf8() is not ("" or "NOTSET")) throw Unsupported(n, "auto_pad");
                    var xs = shapes[x]; var ys = shapes[y]; var ws = shapes.TryGetValue(n.Input[1], out var wsh) ? wsh : InitializerShape(n.Input[1]);
                    int spatial = xs.Length - 2;
                    var strides = AttrInts(n, "strides", Enumerable.Repeat(1L, spatial).ToArray());
                    var dil = AttrInts(n, "dilations", Enumerable.Repeat(1L, spatial).ToArray());
                    var pads = AttrInts(n, "pads", new long[2 * spatial]);
                    var outPad = new long[spatial];
                    for (int d = 0; d < spatial; d++)
                        outPad[d] = xs[2 + d] - ((ys[2 + d] - 1) * strides[d] - pads[d] - pads[spatial + d] + dil[d] * (ws[2 + d] - 1) + 1);
                    long group = AttrInt(n, "group", 1);
                    if (FlippedConv(n, dy, ws, strides, dil, pads, outPad, group) is { } flipped) { Accumulate(x, flipped); break; }
                    Accumulate(x, Emit("ConvTranspose", [dy, n.Input[1]],
                        [Ints("strides", strides), Ints("dilations", dil), Ints("pads", pads), Int("group", group), Ints("output_padding", outPad)]));
                    break;
                }
                case "MaxPool":
                {
                    if (AttrInt(n, "storage_order", 0) != 0) throw Unsupported(n, "storage_order = 1");
                    // MaxPool(Relu(z)): the Relu's mask at a window's maximum is (maximum > 0), so it is applied to the pooled
                    // gradient (a quarter of the elements for 2×2 windows) and the Relu passes its gradient through.
                    if (_producer.TryGetValue(x, out var relu) && relu.OpType == "Relu" && _consumers[x] == 1 && !_keep.Contains(x))
                    {
                        _premasked.Add(x);
                        dy = Mask(dy, y);
                    }
                    string indices = n.Output.Count > 1 && n.Output[1].Length > 0 ? n.Output[1] : AddIndicesOutput(n);
                    // MaxUnpool puts each output gradient back where its maximum came from (the pooling's own indices, which
                    // count over the whole batch). With one forward sample and several gradient rows, row r's start is added.
                    if (_shared)
                    {
                        long sampleSize = shapes[x].Skip(1).Aggregate(1L, (a, b) => a * b);
                        string rowStart = Emit("Reshape", [Emit("Mul", [RowIndex(), ConstLong([sampleSize])]),
                            ConstLong([-1, .. Enumerable.Repeat(1L, shapes[x].Length - 1)], shapes[x].Length)]);
                        indices = Emit("Add", [indices, rowStart]);
                    }
                    Accumulate(x, Emit("MaxUnpool", [dy, indices, GradShape(x)],
                        [Ints("kernel_shape", AttrInts(n, "kernel_shape", [])), Ints("strides", AttrInts(n, "strides", Enumerable.Repeat(1L, shapes[x].Length - 2).ToArray())),
                         Ints("pads", AttrInts(n, "pads", new long[2 * (shapes[x].Length - 2)]))]));
                    break;
                }
                case "GlobalAveragePool":
                {
                    long area = shapes[x].Skip(2).Aggregate(1L, (a, b) => a * b);
                    Accumulate(x, Emit("Expand", [Emit("Mul", [dy, Const([1f / area])]), ShapeOf(x)]));
                    break;
                }
                case "BatchNormalization":
                {
                    if (n.Input.Skip(1).Any(requires.Contains)) throw Unsupported(n, "statistics that depend on the input");
                    var scale = InitializerValues(n.Input[1]); var variance = InitializerValues(n.Input[4]);
                    float eps = AttrFloat(n, "epsilon", 1e-5f);
                    var k = scale.Select((s, c) => s / MathF.Sqrt(variance[c] + eps)).ToArray();
                    long[] dims = [1, k.Length, .. Enumerable.Repeat(1L, shapes[x].Length - 2)];
                    Accumulate(x, Emit("Mul", [dy, Const(k, dims)]));
                    break;
                }
                case "Softmax" or "LogSoftmax":
                {
                    long axis = AttrInt(n, "axis", Opset >= 13 ? -1 : 1);
                    int rank = shapes[x].Length;
                    if (axis < 0) axis += rank;
                    if (Opset < 13 && axis != rank - 1) throw Unsupported(n, "opset < 13 on an inner axis");
                    string Sum(string t) => Opset >= 13
                        ? Emit("ReduceSum", [t, ConstLong([axis], 1)], [Int("keepdims", 1)])
                        : Emit("ReduceSum", [t], [Ints("axes", [axis]), Int("keepdims", 1)]);
                    if (n.OpType == "Softmax")
                        Accumulate(x, Emit("Mul", [y, Emit("Sub", [dy, Sum(Emit("Mul", [dy, y]))])]));
                    else
                        Accumulate(x, Emit("Sub", [dy, Emit("Mul", [Emit("Exp", [y]), Sum(dy)])]));
                    break;
                }
                case "Transpose":
                {
                    var perm = AttrInts(n, "perm", Enumerable.Range(0, shapes[x].Length).Reverse().Select(i => (long)i).ToArray());
                    var inverse = new long[perm.Length];
                    for (int i = 0; i < perm.Length; i++) inverse[perm[i]] = i;
                    Accumulate(x, Emit("Transpose", [dy], [Ints("perm", inverse)]));
                    break;
                }
                case "Concat":
                {
                    long axis = AttrInt(n, "axis", 0);
                    if (axis < 0) axis += shapes[y].Length;
                    if (axis == 0) throw Unsupported(n, "concatenation along the batch axis");
                    long offset = 0;
                    for (int i = 0; i < n.Input.Count; i++)
                    {
                        long size = shapes[n.Input[i]][axis];
                        if (Needs(i))
                            Accumulate(n.Input[i], Emit("Slice", [dy, ConstLong([offset], 1), ConstLong([offset + size], 1), ConstLong([axis], 1)]));
                        offset += size;
                    }
                    break;
                }
                case "Clip":
                {
                    string? lo = Opset >= 11 ? (n.Input.Count > 1 && n.Input[1].Length > 0 ? n.Input[1] : null) : Attr(n, "min") is { } mn ? Const([mn.F]) : null;
                    string? hi = Opset >= 11 ? (n.Input.Count > 2 && n.Input[2].Length > 0 ? n.Input[2] : null) : Attr(n, "max") is { } mx ? Const([mx.F]) : null;
                    string? mask = null;
                    if (lo != null) mask = Emit("Greater", [x, lo]);
                    if (hi != null) { string below = Emit("Less", [x, hi]); mask = mask == null ? below : Emit("And", [mask, below]); }
                    Accumulate(x, mask == null ? dy : Emit("Where", [mask, dy, Const([0f])]));
                    break;
                }
                case "Gelu":
                {
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
                        break;
                    }
                    // d/dx x·Φ(x) = Φ(x) + x·φ(x) (exact form).
                    string cdf = Emit("Mul", [Const([0.5f]), Emit("Add", [Const([1f]), Emit("Erf", [Emit("Mul", [x, Const([1f / MathF.Sqrt(2f)])])])])]);
                    string pdf = Emit("Mul", [Const([1f / MathF.Sqrt(2f * MathF.PI)]), Emit("Exp", [Emit("Mul", [Const([-0.5f]), Emit("Mul", [x, x])])])]);
                    Accumulate(x, Emit("Mul", [dy, Emit("Add", [cdf, Emit("Mul", [x, pdf])])]));
                    break;
                }
                case "Erf":
                    Accumulate(x, Emit("Mul", [dy, Emit("Mul", [Const([2f / MathF.Sqrt(MathF.PI)]), Emit("Exp", [Emit("Neg", [Emit("Mul", [x, x])])])])]));
                    break;
                case "ReduceMean":
                {
                    int rank = shapes[x].Length;
                    var axes = (Opset >= 18 && n.Input.Count > 1 && n.Input[1].Length > 0 ? ConstantLongs(n.Input[1]) : AttrInts(n, "axes", Enumerable.Range(0, rank).Select(i => (long)i).ToArray()))
                        .Select(a => a < 0 ? a + rank : a).ToArray();
                    if (axes.Contains(0)) throw Unsupported(n, "a mean over the batch axis");
                    long count = axes.Aggregate(1L, (acc, a) => acc * shapes[x][a]);
                    long[] kept = [.. shapes[x].Select((d, i) => axes.Contains(i) ? 1 : d)];
                    kept[0] = -1;
                    string g = Emit("Reshape", [dy, ConstLong(kept, kept.Length)]);
                    Accumulate(x, Emit("Expand", [Emit("Mul", [g, Const([1f / count])]), ShapeOf(x)]));
                    break;
                }
                case "AveragePool":
                {
                    var xs = shapes[x]; var ys = shapes[y];
                    int spatial = xs.Length - 2;
                    var kernel = AttrInts(n, "kernel_shape", []);
                    var strides = AttrInts(n, "strides", Enumerable.Repeat(1L, spatial).ToArray());
                    var pads = AttrInts(n, "pads", new long[2 * spatial]);
                    if (pads.Any(v => v != 0) && AttrInt(n, "count_include_pad", 0) == 0) throw Unsupported(n, "padding that is not counted");
                    if (Attr(n, "auto_pad") is { } ap && ap.S.ToStringUtf8() is not ("" or "NOTSET")) throw Unsupported(n, "auto_pad");
                    long area = kernel.Aggregate(1L, (a, b) => a * b);
                    long channels = xs[1];
                    string w = Const(Enumerable.Repeat(1f / area, (int)(channels * area)).ToArray(), [channels, 1, .. kernel]);
                    var outPad = new long[spatial];
                    for (int d = 0; d < spatial; d++) outPad[d] = xs[2 + d] - ((ys[2 + d] - 1) * strides[d] - pads[d] - pads[spatial + d] + kernel[d]);
                    Accumulate(x, Emit("ConvTranspose", [dy, w], [Ints("strides", strides), Ints("pads", pads), Int("group", channels), Ints("output_padding", outPad)]));
                    break;
                }
                case "Pad":
                {
                    string mode = Attr(n, "mode") is { } m ? m.S.ToStringUtf8() : "constant";
                    if (mode != "constant") throw Unsupported(n, $"mode '{mode}'");
                    var pads = Opset >= 11 ? ConstantLongs(n.Input[1]) : AttrInts(n, "pads", []);
                    if (Opset >= 18 && n.Input.Count > 3 && n.Input[3].Length > 0) throw Unsupported(n, "an axes input");
                    int rank = shapes[x].Length;
                    var starts = pads.Take(rank).ToArray();
                    var ends = starts.Select((b, i) => b + shapes[x][i]).ToArray();
                    ends[0] = long.MaxValue;
                    Accumulate(x, Emit("Slice", [dy, ConstLong(starts, rank), ConstLong(ends, rank)]));
                    break;
                }
                case "Slice":
                {
                    if (Opset < 10) throw Unsupported(n, "opset < 10");
                    int rank = shapes[x].Length;
                    var starts = ConstantLongs(n.Input[1]); var ends = ConstantLongs(n.Input[2]);
                    var axes = n.Input.Count > 3 && n.Input[3].Length > 0 ? ConstantLongs(n.Input[3]) : Enumerable.Range(0, starts.Length).Select(i => (long)i).ToArray();
                    var steps = n.Input.Count > 4 && n.Input[4].Length > 0 ? ConstantLongs(n.Input[4]) : Enumerable.Repeat(1L, starts.Length).ToArray();
                    if (steps.Any(v => v != 1)) throw Unsupported(n, "steps other than 1");
                    var padding = new long[2 * rank];
                    for (int i = 0; i < axes.Length; i++)
                    {
                        int ax = (int)(axes[i] < 0 ? axes[i] + rank : axes[i]);
                        if (ax == 0) throw Unsupported(n, "slicing the batch axis");
                        long size = shapes[x][ax];
                        long b = Math.Clamp(starts[i] < 0 ? starts[i] + size : starts[i], 0, size);
                        long e = Math.Clamp(ends[i] < 0 ? ends[i] + size : ends[i], 0, size);
                        padding[ax] = b;
                        padding[rank + ax] = size - Math.Max(b, e);
                    }
                    Accumulate(x, Opset >= 11 ? Emit("Pad", [dy, ConstLong(padding, 2 * rank)]) : Emit("Pad", [dy], [Ints("pads", padding)]));
                    break;
                }
                default:
                    throw Unsupported(n, null);
            }
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
            var t = G.Initializer.FirstOrDefault(i => i.Name == name)
                    ?? G.Node.FirstOrDefault(c => c.OpType == "Constant" && c.Output[0] == name)?.Attribute.FirstOrDefault(a => a.Name == "value")?.T
                    ?? throw new PerceptException($"'{name}' is not a constant; its gradient rule needs one");
            if (t.Int64Data.Count > 0) return [.. t.Int64Data];
            if (t.Int32Data.Count > 0) return [.. t.Int32Data.Select(v => (long)v)];
            return t.DataType == (int)TensorProto.Types.DataType.Int32
                ? System.Runtime.InteropServices.MemoryMarshal.Cast<byte, int>(t.RawData.Span).ToArray().Select(v => (long)v).ToArray()
                : System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(t.RawData.Span).ToArray();
        }

        long[] InitializerShape(string name) => [.. G.Initializer.First(i => i.Name == name).Dims];

        float[] InitializerValues(string name)
        {
            var t = G.Initializer.FirstOrDefault(i => i.Name == name) ?? throw new PerceptException($"'{name}' is not a constant of the model");
            if (t.FloatData.Count > 0) return [.. t.FloatData];
            return System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(t.RawData.Span).ToArray();
        }

        static PerceptException Unsupported(NodeProto n, string? detail) =>
            new($"the gradient of {n.OpType}{(detail != null ? $" with {detail}" : "")} (node '{n.Name}') is not supported yet; --method occlusion works for any model");
    }
}

/// <summary>What one gradient run returns.</summary>
public sealed record GradientResult(float[] Output, float[] InputGradient, IReadOnlyList<(float[] Value, long[] Shape, float[] Gradient)> Activations);
