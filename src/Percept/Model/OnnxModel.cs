using Google.Protobuf;
using Onnx;

namespace Percept.Model;

/// <summary>
/// An ONNX model read with the ONNX protobuf classes: its inputs, outputs and layers, and copies of it that expose
/// intermediate tensors as extra outputs so one ONNX Runtime run yields outputs and activations together.
/// </summary>
public sealed partial class OnnxModel
{
    static readonly HashSet<string> ParameterOps = ["Conv", "ConvTranspose", "Gemm", "MatMul", "ConvInteger", "MatMulInteger", "QLinearConv", "QLinearMatMul", "LSTM", "GRU", "RNN", "Einsum"];
    static readonly HashSet<string> AffineFollowers = ["BatchNormalization", "Add", "Mul", "InstanceNormalization", "LayerNormalization"];
    static readonly HashSet<string> Activations = ["Relu", "LeakyRelu", "PRelu", "Sigmoid", "Tanh", "Elu", "Selu", "Celu", "Gelu", "HardSigmoid", "HardSwish", "Softplus", "Softsign", "Mish", "Clip", "ThresholdedRelu"];

    readonly ModelProto _proto;
    readonly Dictionary<string, NodeProto> _producer = [];
    readonly Dictionary<string, List<NodeProto>> _consumers = [];
    readonly HashSet<string> _initializers;

    public string Path { get; }
    public IReadOnlyList<ModelInput> Inputs { get; }
    public IReadOnlyList<string> OutputNames { get; }
    public IReadOnlyList<LayerInfo> Layers { get; }
    public long Opset { get; }
    public string Producer => $"{_proto.ProducerName} {_proto.ProducerVersion}".Trim();

    /// <summary>Layers with learned parameters, in graph order: the default perception layers.</summary>
    public IReadOnlyList<LayerInfo> PerceptionLayers => Layers.Where(l => l.IsPerceptionLayer).ToArray();

    readonly HashSet<string> _tokenInputs;

    OnnxModel(string path, ModelProto proto, HashSet<string>? tokenInputs = null)
    {
        Path = path;
        _proto = proto;
        _tokenInputs = tokenInputs ?? [];
        var g = proto.Graph;
        _initializers = g.Initializer.Select(i => i.Name).ToHashSet();
        foreach (var n in g.Node)
        {
            foreach (var o in n.Output) _producer[o] = n;
            foreach (var i in n.Input)
            {
                if (!_consumers.TryGetValue(i, out var list)) _consumers[i] = list = [];
                list.Add(n);
            }
        }
        Opset = proto.OpsetImport.Where(o => o.Domain is "" or "ai.onnx").Select(o => o.Version).DefaultIfEmpty(0).Max();
        Inputs = g.Input.Where(i => !_initializers.Contains(i.Name)).Select(i => ToInput(i) with { IsTokenIds = _tokenInputs.Contains(i.Name) }).ToArray();
        OutputNames = g.Output.Select(o => o.Name).ToArray();
        Layers = BuildLayers();
    }

    /// <summary>Reads an ONNX model file.</summary>
    /// <param name="path">The model.</param>
    /// <param name="padId">For a text model: the id its tokenizer pads with, where the attention mask derived from the ids is 0 (<see cref="TokenInputs"/>).</param>
    /// <exception cref="PerceptException">The file is missing or is not an ONNX model.</exception>
    public static OnnxModel Load(string path, long padId = TokenInputs.PadId)
    {
        if (!File.Exists(path)) throw new PerceptException($"model file not found: {path}");
        ModelProto proto;
        try { proto = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path)); }
        catch (InvalidProtocolBufferException) { throw new PerceptException($"not an ONNX model: {path}"); }
        if (proto.Graph == null || proto.Graph.Node.Count == 0 || proto.IrVersion <= 0)
            throw new PerceptException($"not an ONNX model (no graph): {path}");
        if (proto.Graph.Output.Count == 0) throw new PerceptException($"ONNX model {path} declares no outputs");
        InlineExternalData(proto, path);
        var tokens = TokenInputs.Rewrite(proto, padId);
        if (tokens.Count == 1) TokenInputs.PoolTokenOutputs(proto, tokens.First(), padId);
        return new OnnxModel(path, proto, tokens);
    }

    /// <summary>
    /// The embedding lookup of a token-id input: the first Gather whose data is a weight matrix and whose indices are
    /// the ids (after casts and reshapes); null when the input is not token ids or no such lookup exists.
    /// </summary>
    public TokenEmbedding? FindTokenEmbedding(ModelInput input)
    {
        if (!input.IsTokenIds) return null;
        var reached = new HashSet<string> { input.Name };
        foreach (var n in _proto.Graph.Node)
        {
            if (n.OpType == "Gather" && n.Input.Count == 2 && reached.Contains(n.Input[1]) && _initializers.Contains(n.Input[0]))
            {
                var w = _proto.Graph.Initializer.First(t => t.Name == n.Input[0]);
                if (w.Dims.Count == 2 && w.DataType == (int)TensorProto.Types.DataType.Float && AttrInt(n, "axis") == 0)
                    return new TokenEmbedding(n.Output[0], n.Name, checked((int)w.Dims[0]), checked((int)w.Dims[1]));
            }
            if (n.OpType is "Cast" or "Identity" or "Reshape" or "Unsqueeze" or "Squeeze" or "Flatten" or "Clip" or "Add" or "Sub" or "Mod"
                && n.Input.Count > 0 && reached.Contains(n.Input[0]))
                foreach (var o in n.Output) reached.Add(o);
        }
        return null;
    }

    static long AttrInt(NodeProto n, string name) => n.Attribute.FirstOrDefault(a => a.Name == name)?.I ?? 0;

    /// <summary>
    /// A copy of the model that takes the output of the embedding lookup <paramref name="embedding"/> as a float graph input
    /// (the lookup removed), next to the token ids that masks and positions still read: the model whose input gradient is
    /// the gradient at the embedding output.
    /// </summary>
    public OnnxModel WithEmbeddingInput(TokenEmbedding embedding)
    {
        var copy = _proto.Clone();
        var lookup = copy.Graph.Node.First(n => n.Name == embedding.Node && n.Output.Count > 0 && n.Output[0] == embedding.Tensor);
        copy.Graph.Node.Remove(lookup);
        var type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = new TensorShapeProto() } };
        var source = _proto.Graph.Input.First(i => _tokenInputs.Contains(i.Name));
        foreach (var d in source.Type.TensorType.Shape.Dim) type.TensorType.Shape.Dim.Add(d.Clone());
        type.TensorType.Shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = embedding.Dimension });
        copy.Graph.Input.Add(new ValueInfoProto { Name = embedding.Tensor, Type = type });
        return new OnnxModel(Path, copy, _tokenInputs);
    }

    /// <summary>
    /// A copy of the model whose one output is <paramref name="tensor"/> (an intermediate tensor): what comes after it is
    /// left out of any graph built for that output. ONNX Runtime infers the output's type.
    /// </summary>
    public OnnxModel WithOutput(string tensor)
    {
        var copy = _proto.Clone();
        copy.Graph.Output.Clear();
        copy.Graph.Output.Add(new ValueInfoProto { Name = tensor });
        return new OnnxModel(Path, copy, _tokenInputs);
    }

    /// <summary>
    /// Reads weights kept in external data files (as PyTorch ≥ 2 writes large models: <c>model.onnx</c> and
    /// <c>model.onnx.data</c>) into the model, so that every session built from it works from any working folder.
    /// </summary>
    /// <exception cref="PerceptException">A data file that is missing, too short, or outside the model's folder.</exception>
    static void InlineExternalData(ModelProto proto, string path)
    {
        string folder = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
        var opened = new Dictionary<string, FileStream>(StringComparer.Ordinal);
        try
        {
            foreach (var t in proto.Graph.Initializer.Where(t => t.DataLocation == TensorProto.Types.DataLocation.External))
            {
                var entries = t.ExternalData.ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal);
                if (!entries.TryGetValue("location", out var location))
                    throw new PerceptException($"model {path}: tensor '{t.Name}' is stored externally but names no file");
                string file = System.IO.Path.GetFullPath(System.IO.Path.Combine(folder, location));
                if (!file.StartsWith(folder + System.IO.Path.DirectorySeparatorChar, StringComparison.Ordinal))
                    throw new PerceptException($"model {path}: tensor '{t.Name}' names a data file outside the model's folder ({location})");
                if (!opened.TryGetValue(file, out var stream))
                {
                    if (!File.Exists(file)) throw new PerceptException($"model {path} keeps its weights in {location}, which is not next to it");
                    opened[file] = stream = File.OpenRead(file);
                }
                long offset = entries.TryGetValue("offset", out var o) ? long.Parse(o, System.Globalization.CultureInfo.InvariantCulture) : 0;
                long length = entries.TryGetValue("length", out var l) ? long.Parse(l, System.Globalization.CultureInfo.InvariantCulture)
                    : t.Dims.Aggregate(1L, (a, b) => a * b) * ElementSize((TensorProto.Types.DataType)t.DataType);
                if (offset < 0 || length < 0 || offset + length > stream.Length)
                    throw new PerceptException($"model {path}: tensor '{t.Name}' lies past the end of {location} ({offset + length} bytes needed, {stream.Length} there)");
                var bytes = new byte[length];
                stream.Position = offset;
                stream.ReadExactly(bytes);
                t.RawData = ByteString.CopyFrom(bytes);
                t.ExternalData.Clear();
                t.DataLocation = TensorProto.Types.DataLocation.Default;
            }
        }
        catch (FormatException) { throw new PerceptException($"model {path}: an external data entry has an offset or length that is not a number"); }
        finally { foreach (var s in opened.Values) s.Dispose(); }
    }

    static long ElementSize(TensorProto.Types.DataType type) => type switch
    {
        TensorProto.Types.DataType.Double or TensorProto.Types.DataType.Int64 or TensorProto.Types.DataType.Uint64 => 8,
        TensorProto.Types.DataType.Float or TensorProto.Types.DataType.Int32 or TensorProto.Types.DataType.Uint32 => 4,
        TensorProto.Types.DataType.Float16 or TensorProto.Types.DataType.Bfloat16 or TensorProto.Types.DataType.Int16 or TensorProto.Types.DataType.Uint16 => 2,
        _ => 1,
    };

    static ModelInput ToInput(ValueInfoProto v)
    {
        var tensor = v.Type?.TensorType;
        string elem = tensor == null ? "non-tensor" : ((TensorProto.Types.DataType)tensor.ElemType).ToString().ToLowerInvariant();
        long[] shape = tensor?.Shape?.Dim.Select(d => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue && d.DimValue > 0 ? d.DimValue : -1).ToArray() ?? [];
        return new ModelInput(v.Name, elem, shape);
    }

    /// <summary>The input to feed: the only one, or the one named. Clear errors otherwise.</summary>
    public ModelInput SelectInput(string? name)
    {
        if (name != null)
            return Inputs.FirstOrDefault(i => i.Name == name)
                   ?? throw new PerceptException($"model has no input '{name}' (inputs: {string.Join(", ", Inputs.Select(i => i.Name))})");
        if (Inputs.Count == 1) return Inputs[0];
        if (Inputs.Count == 0) throw new PerceptException("model has no inputs");
        throw new PerceptException($"model has {Inputs.Count} inputs ({string.Join(", ", Inputs.Select(i => i.Name))}); choose one with {Terms.Option("input")}");
    }

    /// <summary>The output to read class scores from: the one named, or the first.</summary>
    public string SelectOutput(string? name)
    {
        if (name == null) return OutputNames[0];
        if (!OutputNames.Contains(name) && !_producer.ContainsKey(name))
            throw new PerceptException($"model has no output '{name}' (outputs: {string.Join(", ", OutputNames)})");
        return name;
    }

    /// <summary>Whether the tensor is produced by a Softmax (possibly through shape-only ops): already probabilities.</summary>
    public bool IsProbabilityOutput(string tensor)
    {
        for (int hops = 0; hops < 4 && _producer.TryGetValue(tensor, out var n); hops++)
        {
            if (n.OpType == "Softmax") return true;
            if (n.OpType is not ("Identity" or "Flatten" or "Reshape" or "Squeeze")) return false;
            tensor = n.Input[0];
        }
        return false;
    }

    /// <summary>
    /// Whether the tensor is a feature vector rather than class scores, by the op that makes it (through shape-only ops):
    /// a pooling over space (global or not), a mean or max over axes, or a normalisation (LpNormalization, or a division
    /// by a norm) — how feature extractors and embedding models end. Classifiers end in a Gemm, MatMul, Add or Softmax,
    /// or pool a class map: a pooling over a 1×1 convolution (through a Relu), as SqueezeNet and Network-in-Network do.
    /// </summary>
    public bool IsFeatureOutput(string tensor)
    {
        for (int hops = 0; hops < 4 && _producer.TryGetValue(tensor, out var n); hops++)
        {
            if (n.OpType is "GlobalAveragePool" or "GlobalMaxPool" or "GlobalLpPool" or "AveragePool" or "MaxPool" or "LpPool")
                return !PoolsClassMap(n.Input[0]);
            if (n.OpType is "ReduceMean" or "ReduceMax" or "LpNormalization") return true;
            if (n.OpType == "Div" && n.Input.Count > 1 && _producer.TryGetValue(n.Input[1], out var divisor)
                && divisor.OpType is "ReduceL2" or "Sqrt" or "Clip" or "Max" or "Expand" or "ReduceSumSquare") return true;
            if (n.OpType is not ("Identity" or "Flatten" or "Reshape" or "Squeeze")) return false;
            tensor = n.Input[0];
        }
        return false;
    }

    /// <summary>Whether the tensor is a 1×1 convolution's output (through a Relu or Identity): a class map that a pooling turns into scores.</summary>
    bool PoolsClassMap(string tensor)
    {
        for (int hops = 0; hops < 3 && _producer.TryGetValue(tensor, out var n); hops++)
        {
            if (n.OpType == "Conv")
                return n.Attribute.FirstOrDefault(a => a.Name == "kernel_shape") is { } k ? k.Ints.All(v => v == 1)
                    : _proto.Graph.Initializer.FirstOrDefault(t => t.Name == n.Input[1]) is { } w && w.Dims.Skip(2).All(v => v == 1);
            if (n.OpType is not ("Relu" or "Identity")) return false;
            tensor = n.Input[0];
        }
        return false;
    }

    /// <summary>Finds a layer by its short name, node name or output tensor name; lists the valid names when none matches.</summary>
    public LayerInfo FindLayer(string name)
    {
        return Layers.FirstOrDefault(l => l.Name == name)
               ?? Layers.FirstOrDefault(l => l.NodeName == name || l.Output == name || l.ActivationTensor == name)
               ?? throw new PerceptException($"unknown layer '{name}'; layers with parameters: {string.Join(", ", PerceptionLayers.Select(l => l.Name))} (see {Terms.Command("layers")})");
    }

    /// <summary>The parsed model (read-only use: builders clone it).</summary>
    internal ModelProto Proto => _proto;

    /// <summary>Outputs of every node (except constants), for listing layer shapes.</summary>
    public IEnumerable<string> AllNodeOutputs => _proto.Graph.Node.Where(n => n.OpType != "Constant").SelectMany(n => n.Output).Where(o => o.Length > 0);

    List<LayerInfo> BuildLayers()
    {
        var nodes = _proto.Graph.Node.Where(n => n.OpType != "Constant").ToList();
        var shortNames = ShortNames(nodes);
        var layers = new List<LayerInfo>(nodes.Count);
        for (int i = 0; i < nodes.Count; i++)
        {
            var n = nodes[i];
            long parameters = n.Input.Where(_initializers.Contains).Sum(ElementCount);
            string? activation = null;
            bool channelsLast = false;
            if (ParameterOps.Contains(n.OpType) && parameters > 0)
            {
                activation = FollowToActivation(n.Output[0]);
                channelsLast = n.OpType is "Gemm" or "MatMul" or "MatMulInteger" or "QLinearMatMul" or "Einsum" or "LSTM" or "GRU" or "RNN";
            }
            // Two layers merging into one activation (a residual block with a projection shortcut): the first keeps it.
            if (activation != null && layers.Any(l => l.ActivationTensor == activation)) activation = null;
            layers.Add(new LayerInfo(shortNames[i], n.Name, n.OpType, n.Output.FirstOrDefault() ?? "", parameters, activation, channelsLast));
        }
        return layers;
    }

    long ElementCount(string initializer)
    {
        var t = _proto.Graph.Initializer.First(x => x.Name == initializer);
        return t.Dims.Aggregate(1L, (a, b) => a * b);
    }

    /// <summary>Walks from a layer's output through a bias/normalisation to the nonlinearity that follows it, if any.</summary>
    string FollowToActivation(string tensor)
    {
        string current = tensor;
        for (int hops = 0; hops < 3; hops++)
        {
            if (!_consumers.TryGetValue(current, out var next) || next.Count != 1 || OutputNames.Contains(current)) break;
            var n = next[0];
            if (Activations.Contains(n.OpType)) return n.Output[0];
            // A bias or scale (Add/Mul with a constant), a normalisation, or a residual Add: the nonlinearity after
            // it is the layer's (block's) activation.
            bool affine = AffineFollowers.Contains(n.OpType)
                          && (n.OpType != "Mul" || n.Input.Any(_initializers.Contains));
            if (!affine) break;
            current = n.Output[0];
        }
        return current;
    }

    static string[] ShortNames(List<NodeProto> nodes)
    {
        // "/features/features.0/Conv" → "features.0"; "/conv1/Conv" → "conv1"; unnamed nodes use their output name.
        string[] Segments(NodeProto n)
        {
            var parts = n.Name.Split('/', StringSplitOptions.RemoveEmptyEntries).ToList();
            if (parts.Count > 0 && parts[^1].StartsWith(n.OpType, StringComparison.Ordinal)) parts.RemoveAt(parts.Count - 1);
            return [.. parts];
        }
        var segs = nodes.Select(Segments).ToArray();
        var names = new string[nodes.Count];
        for (int i = 0; i < nodes.Count; i++)
        {
            var s = segs[i];
            names[i] = s.Length == 0 ? (nodes[i].Name.Length > 0 ? nodes[i].Name.Trim('/') : nodes[i].Output.FirstOrDefault() ?? $"node{i}") : s[^1];
        }
        // Where the last segment is ambiguous, use the whole path.
        foreach (var group in Enumerable.Range(0, nodes.Count).GroupBy(i => names[i]).Where(g => g.Count() > 1))
            foreach (int i in group)
                if (segs[i].Length > 1) names[i] = string.Join("/", segs[i]);
        // Whatever still collides (several ops in one module): the op type is appended, then a counter.
        foreach (var group in Enumerable.Range(0, nodes.Count).GroupBy(i => names[i]).Where(g => g.Count() > 1).ToList())
            foreach (int i in group) names[i] = $"{names[i]}.{nodes[i].OpType}";
        var seen = new Dictionary<string, int>();
        for (int i = 0; i < nodes.Count; i++)
        {
            int k = seen.TryGetValue(names[i], out int c) ? c + 1 : 1;
            seen[names[i]] = k;
            if (k > 1) names[i] = $"{names[i]}_{k}";
        }
        return names;
    }
}
