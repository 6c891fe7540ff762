using Google.Protobuf;
using Onnx;

namespace Percept.Tests;

/// <summary>Small ONNX models built in code, for tests that need a particular graph.</summary>
public static class TinyModels
{
    public static TensorProto Initializer(string name, float[] values, params long[] dims)
    {
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        t.Dims.AddRange(dims);
        t.FloatData.AddRange(values);
        return t;
    }

    static ValueInfoProto Value(string name, params long[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
            shape.Dim.Add(d < 0 ? new TensorShapeProto.Types.Dimension { DimParam = "N" } : new TensorShapeProto.Types.Dimension { DimValue = d });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } },
        };
    }

    public static NodeProto Node(string op, string name, string[] inputs, string[] outputs, params AttributeProto[] attributes)
    {
        var n = new NodeProto { OpType = op, Name = name };
        n.Input.AddRange(inputs);
        n.Output.AddRange(outputs);
        n.Attribute.AddRange(attributes);
        return n;
    }

    public static AttributeProto Ints(string name, params long[] v) { var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints }; a.Ints.AddRange(v); return a; }

    public static AttributeProto FloatAttr(string name, float v) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = v };

    public static TensorProto LongInitializer(string name, params long[] values) { var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 }; t.Dims.Add(values.Length); t.Int64Data.AddRange(values); return t; }

    public static AttributeProto IntAttr(string name, long v) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = v };
    public static AttributeProto StringAttr(string name, string v) => new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = Google.Protobuf.ByteString.CopyFromUtf8(v) };

    public static float[] Random(Random rng, int n, float scale = 0.5f) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1) * scale).ToArray();

    static string Save(string path, GraphProto graph, int opset = 17)
    {
        var m = new ModelProto { IrVersion = 8, ProducerName = "percept-tests", Graph = graph };
        m.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        File.WriteAllBytes(path, m.ToByteArray());
        return path;
    }

    /// <summary>x[N,F] → Gemm(hidden) → Relu → Gemm(classes) [→ Softmax].</summary>
    public static string Mlp(string path, int features, int hidden, int classes, int seed = 1, bool softmax = false, long batch = -1)
    {
        var rng = new Random(seed);
        var g = new GraphProto { Name = "mlp" };
        g.Input.Add(Value("x", batch, features));
        g.Initializer.Add(Initializer("w1", Random(rng, hidden * features), hidden, features));
        g.Initializer.Add(Initializer("b1", Random(rng, hidden), hidden));
        g.Initializer.Add(Initializer("w2", Random(rng, classes * hidden), classes, hidden));
        g.Initializer.Add(Initializer("b2", Random(rng, classes), classes));
        g.Node.Add(Node("Gemm", "/hidden/Gemm", ["x", "w1", "b1"], ["h"], IntAttr("transB", 1)));
        g.Node.Add(Node("Relu", "/act/Relu", ["h"], ["a"]));
        g.Node.Add(Node("Gemm", "/head/Gemm", ["a", "w2", "b2"], [softmax ? "scores" : "y"], IntAttr("transB", 1)));
        if (softmax) g.Node.Add(Node("Softmax", "/Softmax", ["scores"], ["y"], IntAttr("axis", 1)));
        g.Output.Add(Value("y", batch, classes));
        return Save(path, g);
    }

    /// <summary>x[N,C,H,W] → Conv(k) → Relu → GlobalAveragePool → Flatten → Gemm(classes).</summary>
    public static string ConvNet(string path, int channels, int size, int filters, int classes, int seed = 2)
    {
        var rng = new Random(seed);
        var g = new GraphProto { Name = "conv" };
        g.Input.Add(Value("x", -1, channels, size, size));
        g.Initializer.Add(Initializer("wc", Random(rng, filters * channels * 9), filters, channels, 3, 3));
        g.Initializer.Add(Initializer("bc", Random(rng, filters), filters));
        g.Initializer.Add(Initializer("wf", Random(rng, classes * filters), classes, filters));
        g.Initializer.Add(Initializer("bf", Random(rng, classes), classes));
        var pads = new AttributeProto { Name = "pads", Type = AttributeProto.Types.AttributeType.Ints };
        pads.Ints.AddRange([1, 1, 1, 1]);
        g.Node.Add(Node("Conv", "/conv/Conv", ["x", "wc", "bc"], ["c"], pads));
        g.Node.Add(Node("Relu", "/relu/Relu", ["c"], ["r"]));
        g.Node.Add(Node("GlobalAveragePool", "/gap/GlobalAveragePool", ["r"], ["p"]));
        g.Node.Add(Node("Flatten", "/flatten/Flatten", ["p"], ["f"]));
        g.Node.Add(Node("Gemm", "/fc/Gemm", ["f", "wf", "bf"], ["y"], IntAttr("transB", 1)));
        g.Output.Add(Value("y", -1, classes));
        return Save(path, g);
    }

    /// <summary>
    /// A feature extractor with no classes: x[N,C,H,W] → Conv(k) → Relu → GlobalAveragePool, output [N, filters, 1, 1]
    /// (how an ImageNet backbone without its head ends).
    /// </summary>
    /// <param name="kernel">3 (a feature map), or 1: a class-map head (SqueezeNet's), whose pooled output is class scores.</param>
    public static string FeatureExtractor(string path, int channels, int size, int filters, int seed = 4, int kernel = 3)
    {
        var rng = new Random(seed);
        var g = new GraphProto { Name = "features" };
        g.Input.Add(Value("x", -1, channels, size, size));
        g.Initializer.Add(Initializer("wc", Random(rng, filters * channels * kernel * kernel), filters, channels, kernel, kernel));
        g.Initializer.Add(Initializer("bc", Random(rng, filters), filters));
        var pads = new AttributeProto { Name = "pads", Type = AttributeProto.Types.AttributeType.Ints };
        pads.Ints.AddRange(Enumerable.Repeat((long)(kernel / 2), 4));
        g.Node.Add(Node("Conv", "/conv/Conv", ["x", "wc", "bc"], ["c"], pads));
        g.Node.Add(Node("Relu", "/relu/Relu", ["c"], ["r"]));
        g.Node.Add(Node("GlobalAveragePool", "/gap/GlobalAveragePool", ["r"], ["features"]));
        g.Output.Add(Value("features", -1, filters, 1, 1));
        return Save(path, g);
    }

    /// <summary>A sentence-embedding-like model: x[N,F] → Gemm(hidden) → Relu → Gemm(width) → LpNormalization (unit vectors, no classes).</summary>
    /// <param name="normalise">False: the same model without its LpNormalization (output <c>e</c>, the projection itself).</param>
    public static string NormalisedEmbedding(string path, int features, int hidden, int width, int seed = 5, bool normalise = true)
    {
        var rng = new Random(seed);
        var g = new GraphProto { Name = "embedding" };
        g.Input.Add(Value("x", -1, features));
        g.Initializer.Add(Initializer("w1", Random(rng, hidden * features), hidden, features));
        g.Initializer.Add(Initializer("b1", Random(rng, hidden), hidden));
        g.Initializer.Add(Initializer("w2", Random(rng, width * hidden), width, hidden));
        g.Initializer.Add(Initializer("b2", Random(rng, width), width));
        g.Node.Add(Node("Gemm", "/hidden/Gemm", ["x", "w1", "b1"], ["h"], IntAttr("transB", 1)));
        g.Node.Add(Node("Relu", "/act/Relu", ["h"], ["a"]));
        g.Node.Add(Node("Gemm", "/proj/Gemm", ["a", "w2", "b2"], ["e"], IntAttr("transB", 1)));
        if (normalise)
        {
            g.Node.Add(Node("LpNormalization", "/norm/LpNormalization", ["e"], ["embedding"], IntAttr("axis", 1)));
            g.Output.Add(Value("embedding", -1, width));
        }
        else g.Output.Add(Value("e", -1, width));
        return Save(path, g);
    }

    /// <summary>
    /// A text encoder shaped as Hugging Face exports one: input_ids, attention_mask and token_type_ids (int64 [batch,
    /// sequence], free) → Gather(embedding) + Gather(type embedding) → MatMul(weight) → Tanh → last_hidden_state [batch,
    /// sequence, dimension], one vector a token (the mask is not read: Percept's pooling applies it). Returns its weights.
    /// </summary>
    public static string TokenEncoder(string path, int vocabulary, int dimension, out float[] embedding, out float[] types, out float[] weight, int seed = 8)
    {
        var rng = new Random(seed);
        var g = new GraphProto { Name = "encoder" };
        static ValueInfoProto Sequence(string name, TensorProto.Types.DataType type, params long[] tail)
        {
            var shape = new TensorShapeProto();
            shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = "batch" });
            shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = "sequence" });
            foreach (var d in tail) shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
            return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } } };
        }
        foreach (var input in new[] { "input_ids", "attention_mask", "token_type_ids" }) g.Input.Add(Sequence(input, TensorProto.Types.DataType.Int64));
        embedding = Random(rng, vocabulary * dimension);
        types = Random(rng, 2 * dimension);
        weight = Random(rng, dimension * dimension);
        g.Initializer.Add(Initializer("word_embeddings", embedding, vocabulary, dimension));
        g.Initializer.Add(Initializer("token_type_embeddings", types, 2, dimension));
        g.Initializer.Add(Initializer("dense.weight", weight, dimension, dimension));
        g.Node.Add(Node("Gather", "/embeddings/word/Gather", ["word_embeddings", "input_ids"], ["words"]));
        g.Node.Add(Node("Gather", "/embeddings/type/Gather", ["token_type_embeddings", "token_type_ids"], ["typed"]));
        g.Node.Add(Node("Add", "/embeddings/Add", ["words", "typed"], ["x"]));
        g.Node.Add(Node("MatMul", "/dense/MatMul", ["x", "dense.weight"], ["h"]));
        g.Node.Add(Node("Tanh", "/act/Tanh", ["h"], ["last_hidden_state"]));
        g.Output.Add(Sequence("last_hidden_state", TensorProto.Types.DataType.Float, dimension));
        return Save(path, g, 14);
    }

    /// <summary>
    /// x[N, sampleShape] → whatever <paramref name="body"/> adds (it returns its output tensor and that tensor's size per
    /// sample) → Flatten → Gemm(3 classes, random weights): a graph for testing one operator's gradient.
    /// </summary>
    public static string Chain(string path, long[] sampleShape, Func<GraphProto, Random, (string Output, long Size)> body, int opset = 17, int seed = 7)
    {
        var rng = new Random(seed);
        var g = new GraphProto { Name = "chain" };
        g.Input.Add(Value("x", [-1, .. sampleShape]));
        var (output, size) = body(g, rng);
        g.Initializer.Add(Initializer("head.w", Random(rng, (int)(3 * size)), 3, size));
        g.Initializer.Add(Initializer("head.b", Random(rng, 3), 3));
        g.Node.Add(Node("Flatten", "/head/Flatten", [output], ["head.f"], IntAttr("axis", 1)));
        g.Node.Add(Node("Gemm", "/head/Gemm", ["head.f", "head.w", "head.b"], ["y"], IntAttr("transB", 1)));
        g.Output.Add(Value("y", -1, 3));
        return Save(path, g, opset);
    }

    /// <summary>x[N,1,H,W] → Flatten → Gemm(classes): logits linear in the pixels, weights returned.</summary>
    public static string LinearImage(string path, int size, int classes, out float[] weights, out float[] bias, int seed = 6)
    {
        var rng = new Random(seed);
        weights = Random(rng, classes * size * size);
        bias = Random(rng, classes);
        var g = new GraphProto { Name = "linear" };
        g.Input.Add(Value("x", -1, 1, size, size));
        g.Initializer.Add(Initializer("w", weights, classes, size * size));
        g.Initializer.Add(Initializer("b", bias, classes));
        g.Node.Add(Node("Flatten", "/flatten/Flatten", ["x"], ["f"], IntAttr("axis", 1)));
        g.Node.Add(Node("Gemm", "/fc/Gemm", ["f", "w", "b"], ["y"], IntAttr("transB", 1)));
        g.Output.Add(Value("y", -1, classes));
        return Save(path, g);
    }

    /// <summary>A model whose output is one number per sample (not class scores).</summary>
    public static string Regressor(string path, int features) => Mlp(path, features, 8, 1, seed: 3);

    /// <summary>Two inputs added, then a Gemm.</summary>
    public static string TwoInputs(string path, int features)
    {
        var rng = new Random(4);
        var g = new GraphProto { Name = "two" };
        g.Input.Add(Value("a", -1, features));
        g.Input.Add(Value("b", -1, features));
        g.Initializer.Add(Initializer("w", Random(rng, 3 * features), 3, features));
        g.Node.Add(Node("Add", "/add/Add", ["a", "b"], ["s"]));
        g.Node.Add(Node("Gemm", "/fc/Gemm", ["s", "w"], ["y"], IntAttr("transB", 1)));
        g.Output.Add(Value("y", -1, 3));
        return Save(path, g);
    }

    /// <summary>A graph with an operator ONNX Runtime does not have.</summary>
    public static string UnknownOp(string path, int features)
    {
        var rng = new Random(5);
        var g = new GraphProto { Name = "bad" };
        g.Input.Add(Value("x", -1, features));
        g.Initializer.Add(Initializer("w", Random(rng, 3 * features), 3, features));
        g.Node.Add(Node("Gemm", "/fc/Gemm", ["x", "w"], ["h"], IntAttr("transB", 1)));
        g.Node.Add(Node("TotallyMadeUpOp", "/odd/Op", ["h"], ["y"]));
        g.Output.Add(Value("y", -1, 3));
        return Save(path, g);
    }
}
