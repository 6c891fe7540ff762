using Onnx;
using Percept.Attribution;
using Percept.Model;
using static Percept.Tests.TinyModels;

namespace Percept.Tests.Attribution;

/// <summary>Every operator's gradient rule against central finite differences, on small random graphs built in code.</summary>
public class GradientRulesTests
{
    static (string Out, long Size) Op(GraphProto g, string op, string[] inputs, long size, params AttributeProto[] attributes)
    {
        g.Node.Add(Node(op, $"/{op}", inputs, ["o"], attributes));
        return ("o", size);
    }

    static string Weights(GraphProto g, Random rng, string name, params long[] dims)
    {
        g.Initializer.Add(Initializer(name, TinyModels.Random(rng, (int)dims.Aggregate(1L, (a, b) => a * b)), dims));
        return name;
    }

    public static TheoryData<string> Operators => new()
    {
        "Conv", "ConvStridedDilated", "ConvGrouped", "Gemm", "MatMul", "Relu", "LeakyRelu", "Sigmoid", "Tanh", "Erf", "Softmax", "LogSoftmax",
        "MaxPool", "AveragePool", "GlobalAveragePool", "BatchNormalization", "AddBroadcast", "SubBroadcast", "MulBroadcast", "DivBroadcast",
        "Flatten", "Reshape", "Transpose", "Concat", "Slice", "Squeeze", "Unsqueeze", "Pad", "Clip", "ReduceMean", "Identity", "Dropout", "Residual", "Gelu",
        "GeluTanh", "Attention", "MatMulBatched", "ConvDilatedGroupedAsymmetric",
        // Paths the builder chooses by shape: a flipped-kernel Conv for stride-1 convolutions with 8k channels (and
        // ConvTranspose where the flipped pads would be negative); the Relu mask moved behind a MaxPool that is the
        // Relu's only consumer (and kept in place when the Relu output has other consumers).
        "ConvFlipped", "ConvFlippedDilatedAsymmetric", "ConvPointwiseWidePads", "ReluMaxPool", "ReluMaxPoolShared",
        // Windows that overlap (a position may win several, and its gradients add up), and ceil_mode windows that run past the input.
        "MaxPoolOverlapping", "MaxPoolCeil",
        // Element-wise functions and activations of the standard architectures (MobileNet-v3, EfficientNet, ConvNeXt, ViT).
        "Neg", "Exp", "Log", "Abs", "Sqrt", "Reciprocal", "Pow", "PowHalf", "HardSigmoid", "HardSwish", "Elu", "Selu", "Softplus", "Mish", "PRelu",
        "Max", "Min", "Where", "Cast", "Sum", "Mean",
        // Shapes, reductions and normalisations.
        "Expand", "Tile", "Split", "SplitOneUsed", "GatherRepeated", "GatherScalar", "SliceComputed", "ConvTranspose", "ConvTransposeGrouped", "ReduceSum", "ReduceMax", "GlobalMaxPool", "LayerNormalization", "InstanceNormalization",
        // Resampling: Resize in its modes and coordinate transformations (an interpolation matrix per axis), Einsum (one
        // and both operands computed; no shared forward pass: its letters name the batch axis), GroupNormalization.
        "ResizeNearest", "ResizeLinear", "ResizeAlignCorners", "ResizeNearestAsymmetricFloor", "ResizePytorchHalfPixel", "ResizeNearestDown",
        "Einsum", "EinsumBoth", "GroupNormalization",
    };

    [Theory]
    [MemberData(nameof(Operators))]
    public void Gradient_agrees_with_finite_differences(string name)
    {
        using var dir = new TempDir();
        long[] shape = name.StartsWith("ConvFlipped") || name == "ConvPointwiseWidePads" ? [8, 5, 5] : name.StartsWith("ReluMaxPool") ? [2, 6, 6] : name is "Gemm" or "MatMul" or "Softmax" or "LogSoftmax" ? [6] : name is "Attention" ? [3, 4]
            : name is "Concat" or "Transpose" or "Slice" or "Squeeze" or "ReduceMean" or "MatMulBatched" ? [2, 3, 4] : name == "GroupNormalization" ? [4, 3, 3] : [2, 5, 5];
        string path = Chain(dir["m.onnx"], shape, opset: name is "Gelu" or "GeluTanh" ? 20 : name == "Mish" ? 18 : name == "GroupNormalization" ? 21 : 17, body: (g, rng) => name switch
        {
            "ResizeNearest" => Op(g, "Resize", ["x", "", Scales(g, 1, 1, 2, 2)], 2 * 10 * 10),
            "ResizeLinear" => Op(g, "Resize", ["x", "", Scales(g, 1, 1, 1.6f, 0.8f)], 2 * 8 * 4, StringAttr("mode", "linear")),
            "ResizeAlignCorners" => Op(g, "Resize", ["x", "", "", LongConst(g, "sz", 1, 2, 7, 3)], 2 * 7 * 3, StringAttr("mode", "linear"), StringAttr("coordinate_transformation_mode", "align_corners")),
            "ResizeNearestAsymmetricFloor" => Op(g, "Resize", ["x", "", Scales(g, 1, 1, 1.5f, 2)], 2 * 7 * 10,
                StringAttr("coordinate_transformation_mode", "asymmetric"), StringAttr("nearest_mode", "floor")),
            "ResizePytorchHalfPixel" => Op(g, "Resize", ["x", "", "", LongConst(g, "sz", 1, 2, 3, 8)], 2 * 3 * 8, StringAttr("mode", "linear"), StringAttr("coordinate_transformation_mode", "pytorch_half_pixel")),
            "ResizeNearestDown" => Op(g, "Resize", ["x", "", "", LongConst(g, "sz", 1, 2, 2, 3)], 2 * 2 * 3),
            "Einsum" => Op(g, "Einsum", ["x", Weights(g, rng, "w", 5, 4)], 2 * 5 * 4, StringAttr("equation", "ncij,jk->ncik")),
            "EinsumBoth" => Op(g, "Einsum", ["x", "x"], 2 * 5 * 5, StringAttr("equation", "ncij, nckj -> ncik")),
            "GroupNormalization" => Op(g, "GroupNormalization", ["x", Weights(g, rng, "s", 4), Weights(g, rng, "bb", 4)], 4 * 9, IntAttr("num_groups", 2)),
            "Conv" => Op(g, "Conv", ["x", Weights(g, rng, "w", 3, 2, 3, 3), Weights(g, rng, "b", 3)], 3 * 25, Ints("pads", 1, 1, 1, 1)),
            "ConvStridedDilated" => Op(g, "Conv", ["x", Weights(g, rng, "w", 4, 2, 2, 2)], 4 * 2 * 2, Ints("strides", 2, 2), Ints("dilations", 2, 2), Ints("pads", 0, 1, 1, 0)),
            "ConvGrouped" => Op(g, "Conv", ["x", Weights(g, rng, "w", 4, 1, 3, 3)], 4 * 9, IntAttr("group", 2), Ints("pads", 0, 0, 0, 0)),
            "Gemm" => Op(g, "Gemm", ["x", Weights(g, rng, "w", 6, 4), Weights(g, rng, "b", 4)], 4, FloatAttr("alpha", 0.7f)),
            "MatMul" => Op(g, "MatMul", ["x", Weights(g, rng, "w", 6, 5)], 5),
            "Relu" or "Sigmoid" or "Tanh" or "Erf" or "Identity" or "Gelu" => Op(g, name, ["x"], 50),
            "LeakyRelu" => Op(g, "LeakyRelu", ["x"], 50, FloatAttr("alpha", 0.2f)),
            "Dropout" => Op(g, "Dropout", ["x"], 50),
            "Softmax" or "LogSoftmax" => Op(g, name, ["x"], 6, IntAttr("axis", 1)),
            "MaxPool" => Op(g, "MaxPool", ["x"], 2 * 2 * 2, Ints("kernel_shape", 2, 2), Ints("strides", 2, 2)),
            "Neg" or "Exp" or "Reciprocal" or "Softplus" or "Mish" or "Abs" => Op(g, name, ["x"], 50),
            "Log" or "Sqrt" => Chained(g, ("Abs", []), (name, [])),
            "Pow" => Op(g, "Pow", ["x", FloatConst(g, "e", 2f)], 50),
            "PowHalf" => Chained(g, ("Abs", []), ("Pow", [FloatConst(g, "e", 0.5f)])),
            "HardSigmoid" => Op(g, "HardSigmoid", ["x"], 50, FloatAttr("alpha", 0.3f)),
            "HardSwish" => Chained(g, ("Mul", [FloatConst(g, "five", 5f)]), ("HardSwish", [])),
            "Elu" => Op(g, "Elu", ["x"], 50, FloatAttr("alpha", 0.7f)),
            "Selu" => Op(g, "Selu", ["x"], 50),
            "PRelu" => Op(g, "PRelu", ["x", Weights(g, rng, "slope", 2, 1, 1)], 50),
            "Max" or "Min" => Op(g, name, ["x", Weights(g, rng, "c", 5)], 50),
            "Where" => WhereSquare(g),
            "Cast" => Op(g, "Cast", ["x"], 50, IntAttr("to", (long)TensorProto.Types.DataType.Float)),
            "Sum" or "Mean" => Op(g, name, ["x", Weights(g, rng, "c", 5), "x"], 50),
            "Expand" => Chained(g, ("ReduceSum", [LongConst(g, "ax", 2)]), ("Expand", [LongConst(g, "shape", 1, 2, 4, 5)]), size: 2 * 4 * 5),
            "Tile" => Op(g, "Tile", ["x", LongConst(g, "rep", 1, 1, 2, 3)], 2 * 10 * 15),
            "GatherRepeated" => Op(g, "Gather", ["x", LongConst(g, "idx", 0, 3, 0, 4)], 2 * 4 * 5, IntAttr("axis", 2)),
            "GatherScalar" => GatherScalar(g),
            "ConvTranspose" => Op(g, "ConvTranspose", ["x", Weights(g, rng, "w", 2, 3, 3, 3), Weights(g, rng, "b", 3)], 3 * 10 * 10,
                Ints("strides", 2, 2), Ints("pads", 1, 1, 1, 1), Ints("output_padding", 1, 1)),
            "ConvTransposeGrouped" => Op(g, "ConvTranspose", ["x", Weights(g, rng, "w", 2, 2, 2, 3)], 4 * 6 * 9, IntAttr("group", 2), Ints("dilations", 1, 2)),
            "SliceComputed" => SliceComputed(g),
            "Split" => SplitBoth(g),
            "SplitOneUsed" => SplitOne(g),
            "ReduceSum" => Op(g, "ReduceSum", ["x", LongConst(g, "ax", 3)], 2 * 5, IntAttr("keepdims", 0)),
            "ReduceMax" => Op(g, "ReduceMax", ["x"], 2 * 5, Ints("axes", 2), IntAttr("keepdims", 0)),
            "GlobalMaxPool" => Op(g, "GlobalMaxPool", ["x"], 2),
            "LayerNormalization" => Op(g, "LayerNormalization", ["x", Weights(g, rng, "s", 5), Weights(g, rng, "bb", 5)], 50, IntAttr("axis", -1)),
            "InstanceNormalization" => Op(g, "InstanceNormalization", ["x", Weights(g, rng, "s", 2), Weights(g, rng, "bb", 2)], 50),
            "MaxPoolOverlapping" => Op(g, "MaxPool", ["x"], 2 * 3 * 3, Ints("kernel_shape", 3, 3), Ints("strides", 2, 2), Ints("pads", 1, 1, 1, 1)),
            "MaxPoolCeil" => Op(g, "MaxPool", ["x"], 2 * 3 * 3, Ints("kernel_shape", 2, 2), Ints("strides", 2, 2), IntAttr("ceil_mode", 1)),
            "AveragePool" => Op(g, "AveragePool", ["x"], 2 * 2 * 2, Ints("kernel_shape", 3, 3), Ints("strides", 2, 2)),
            "GlobalAveragePool" => Op(g, "GlobalAveragePool", ["x"], 2),
            "BatchNormalization" => Op(g, "BatchNormalization", ["x", Weights(g, rng, "s", 2), Weights(g, rng, "bb", 2), Weights(g, rng, "m", 2), AbsWeights(g, "v", 0.5f, 2)], 50),
            "AddBroadcast" => Op(g, "Add", ["x", Weights(g, rng, "c", 5)], 50),
            "SubBroadcast" => Op(g, "Sub", [Weights(g, rng, "c", 2, 1, 1), "x"], 50),
            "MulBroadcast" => Op(g, "Mul", ["x", Weights(g, rng, "c", 1, 5, 1)], 50),
            "DivBroadcast" => Op(g, "Div", ["x", AbsWeights(g, "c", 1f, 5)], 50),
            "Flatten" => Op(g, "Flatten", ["x"], 50, IntAttr("axis", 1)),
            "Reshape" => Op(g, "Reshape", ["x", LongConst(g, "s", 0, 10, 5)], 50),
            "Transpose" => Op(g, "Transpose", ["x"], 24, Ints("perm", 0, 3, 1, 2)),
            "Concat" => Op(g, "Concat", ["x", "x"], 48, IntAttr("axis", 2)),
            "Slice" => Op(g, "Slice", ["x", LongConst(g, "st", 1, 0), LongConst(g, "en", 3, -1), LongConst(g, "ax", 2, 3)], 2 * 2 * 3),
            "Squeeze" => SqueezeUnsqueeze(g),
            "Unsqueeze" => Op(g, "Unsqueeze", ["x", LongConst(g, "ax", 2)], 50),
            "Pad" => Op(g, "Pad", ["x", LongConst(g, "p", 0, 0, 1, 2, 0, 1, 0, 0)], 3 * 6 * 7),
            "Clip" => Op(g, "Clip", ["x", FloatConst(g, "lo", -0.3f), FloatConst(g, "hi", 0.4f)], 50),
            "ReduceMean" => Op(g, "ReduceMean", ["x"], 2 * 4, Ints("axes", 2), IntAttr("keepdims", 0)),
            "Residual" => ResidualBlock(g, rng),
            "ConvDilatedGroupedAsymmetric" => Op(g, "Conv", ["x", Weights(g, rng, "w", 4, 1, 2, 3)], 4 * 5 * 3, IntAttr("group", 2), Ints("dilations", 2, 1), Ints("pads", 1, 0, 1, 0)),
            "GeluTanh" => Op(g, "Gelu", ["x"], 50, StringAttr("approximate", "tanh")),
            "Attention" => Attention(g, rng),
            "MatMulBatched" => Op(g, "MatMul", ["x", Weights(g, rng, "w", 2, 4, 5)], 2 * 3 * 5),
            "ConvFlipped" => Op(g, "Conv", ["x", Weights(g, rng, "w", 8, 8, 3, 3), Weights(g, rng, "b", 8)], 8 * 25, Ints("pads", 1, 1, 1, 1)),
            "ConvFlippedDilatedAsymmetric" => Op(g, "Conv", ["x", Weights(g, rng, "w", 16, 8, 2, 3)], 16 * 4 * 5, Ints("dilations", 2, 1), Ints("pads", 1, 0, 0, 2)),
            "ConvPointwiseWidePads" => Op(g, "Conv", ["x", Weights(g, rng, "w", 8, 8, 1, 1)], 8 * 7 * 7, Ints("pads", 1, 1, 1, 1)),
            "ReluMaxPool" => ReluMaxPool(g, shared: false),
            "ReluMaxPoolShared" => ReluMaxPool(g, shared: true),
            _ => throw new ArgumentException(name),
        });
        var model = OnnxModel.Load(path);
        int[] sample = shape.Select(d => (int)d).ToArray();
        using var graph = GradientGraph.Build(model, model.Inputs[0], sample, "y", []);
        using var runner = new ModelRunner(model, model.Inputs[0], sample, [new Fetch("y")]);
        var rng2 = new Random(name.Length * 31 + 5);
        int len = sample.Aggregate(1, (a, b) => a * b);
        // Inputs kept away from the kinks of Relu, Clip and MaxPool so a finite-difference step does not cross one: magnitudes
        // in [0.2, 0.8] in a random order, at least 0.6 / len (≥ 3e-3, three steps) apart, with alternating signs.
        var order = Enumerable.Range(0, len).OrderBy(_ => rng2.Next()).ToArray();
        var x = Enumerable.Range(0, len).Select(i => (float)((0.2 + 0.6 * order[i] / len) * (i % 2 == 0 ? 1 : -1))).ToArray();
        // One forward pass with the three seeds as rows (as Grad-CAM and saliency of several targets run) gives each row's gradient.
        float[] shared;
        using (var sharedGraph = GradientGraph.Build(model, model.Inputs[0], sample, "y", [], sharedForward: true))
        {
            Assert.True(sharedGraph.SharedForward || name.StartsWith("Einsum", StringComparison.Ordinal), $"{name}: the graph could not share its forward pass");
            shared = sharedGraph.SharedForward ? sharedGraph.Run((float[])x.Clone(), [1, 0, 0, 0, 1, 0, 0, 0, 1], 1, seedRows: 3).InputGradient
                : Enumerable.Range(0, 3).SelectMany(c => sharedGraph.Run((float[])x.Clone(), [c == 0 ? 1 : 0, c == 1 ? 1 : 0, c == 2 ? 1 : 0], 1).InputGradient).ToArray();
        }
        Assert.Equal(3 * len, shared.Length);
        for (int cls = 0; cls < 3; cls++)
        {
            var seed = new float[3];
            seed[cls] = 1;
            var g = graph.Run((float[])x.Clone(), seed, 1).InputGradient;
            for (int p = 0; p < len; p++)
                Assert.True(Math.Abs(shared[cls * len + p] - g[p]) <= 1e-5 * Math.Max(1, Math.Abs(g[p])), $"{name}: class {cls}, position {p}: shared forward {shared[cls * len + p]:G6}, own run {g[p]:G6}");
            const float eps = 1e-3f;
            for (int p = 0; p < len; p++)
            {
                var plus = (float[])x.Clone(); plus[p] += eps;
                var minus = (float[])x.Clone(); minus[p] -= eps;
                double fd;
                using (var rp = runner.Run(plus, 1))
                using (var rm = runner.Run(minus, 1))
                    fd = (rp[0].GetTensorDataAsSpan<float>()[cls] - rm[0].GetTensorDataAsSpan<float>()[cls]) / (2.0 * eps);
                Assert.True(Math.Abs(fd - g[p]) <= 5e-3 * Math.Max(1, Math.Abs(fd)), $"{name}: class {cls}, position {p}: finite difference {fd:G6}, gradient {g[p]:G6}");
            }
        }
    }

    /// <summary>
    /// MaxPool's gradient as PyTorch's autograd defines it, on inputs full of exact ties: each window's gradient goes to
    /// its first maximum (row-major within the window, padding never wins), and a position that wins several windows gets
    /// their sum. Compared with a naive loop over the windows, for the plain and the shared-forward graph.
    /// </summary>
    [Theory]
    [InlineData(3, 2, 1, 0)] // the ResNet stem's pool: 3×3, stride 2, padding 1
    [InlineData(3, 1, 0, 0)] // heavily overlapping
    [InlineData(2, 2, 0, 0)] // disjoint windows
    [InlineData(2, 2, 0, 1)] // ceil_mode: the last windows run past the input
    [InlineData(3, 2, 0, 1)] // GoogLeNet's ceil_mode pool
    [InlineData(3, 2, 1, 0, 8)] // the stem's pool at opset 8 (CNTK's ResNet-18): MaxUnpool needs the graph raised to opset 9, Slice has no steps
    [InlineData(3, 1, 0, 0, 8)]
    public void MaxPool_gradients_add_over_overlapping_windows_and_break_ties_at_the_first_maximum(int k, int s, int pad, int ceil, int opset = 17)
    {
        const int size = 7;
        double span = (size + 2.0 * pad - k) / s;
        int outSize = (ceil == 1 ? (int)Math.Ceiling(span) : (int)Math.Floor(span)) + 1;
        if (ceil == 1 && (outSize - 1) * s >= size + pad) outSize--;
        using var dir = new TempDir();
        // MaxPool has ceil_mode from opset 10.
        string path = Chain(dir["m.onnx"], [1, size, size], (g, _) => Op(g, "MaxPool", ["x"], outSize * outSize,
            [Ints("kernel_shape", k, k), Ints("strides", s, s), Ints("pads", pad, pad, pad, pad), .. opset >= 10 ? [IntAttr("ceil_mode", ceil)] : Array.Empty<AttributeProto>()]), opset: opset);
        var model = OnnxModel.Load(path);
        var head = model.Proto.Graph.Initializer.First(i => i.Name == "head.w").FloatData.ToArray();
        // Three levels only: most windows hold several equal maxima.
        var rng = new Random(k * 100 + s * 10 + pad + ceil);
        var x = Enumerable.Range(0, size * size).Select(_ => (float)(rng.Next(3) * 0.5)).ToArray();
        using var graph = GradientGraph.Build(model, model.Inputs[0], [1, size, size], "y", []);
        using var shared = GradientGraph.Build(model, model.Inputs[0], [1, size, size], "y", [], sharedForward: true);
        // Before opset 11 a graph cannot share its forward pass (no Range): each row runs on its own copy.
        var sharedRows = shared.SharedForward ? shared.Run((float[])x.Clone(), [1, 0, 0, 0, 1, 0, 0, 0, 1], 1, seedRows: 3).InputGradient
            : Enumerable.Range(0, 3).SelectMany(c => shared.Run((float[])x.Clone(), [c == 0 ? 1 : 0, c == 1 ? 1 : 0, c == 2 ? 1 : 0], 1).InputGradient).ToArray();
        Assert.True(shared.SharedForward || opset < 11);
        for (int cls = 0; cls < 3; cls++)
        {
            var expected = new double[size * size];
            for (int oy = 0; oy < outSize; oy++)
                for (int ox = 0; ox < outSize; ox++)
                {
                    int best = -1;
                    for (int dy = 0; dy < k; dy++)
                        for (int dx = 0; dx < k; dx++)
                        {
                            int iy = oy * s - pad + dy, ix = ox * s - pad + dx;
                            if (iy < 0 || ix < 0 || iy >= size || ix >= size) continue;
                            if (best < 0 || x[iy * size + ix] > x[best]) best = iy * size + ix;
                        }
                    expected[best] += head[cls * outSize * outSize + oy * outSize + ox];
                }
            var seed = new float[3];
            seed[cls] = 1;
            var got = graph.Run((float[])x.Clone(), seed, 1).InputGradient;
            for (int p = 0; p < size * size; p++)
            {
                Assert.True(Math.Abs(expected[p] - got[p]) <= 1e-5, $"class {cls}, position {p}: expected {expected[p]:G6}, gradient {got[p]:G6}");
                Assert.True(Math.Abs(expected[p] - sharedRows[cls * size * size + p]) <= 1e-5, $"class {cls}, position {p}: shared forward {sharedRows[cls * size * size + p]:G6}");
            }
        }
    }

    [Fact]
    public void A_graph_that_moves_the_batch_axis_does_not_share_its_forward_pass()
    {
        // Transpose(perm 1,0,2,3) puts the channels first and the batch second; seed rows could not be stacked on axis 0 there,
        // so the graph asked to share its forward pass falls back to one copy of the sample per target, with the same gradients.
        using var dir = new TempDir();
        string path = Chain(dir["m.onnx"], [2, 3, 3], (g, _) =>
        {
            g.Node.Add(Node("Transpose", "/swap", ["x"], ["t"], Ints("perm", 1, 0, 2, 3)));
            g.Node.Add(Node("Transpose", "/back", ["t"], ["o"], Ints("perm", 1, 0, 2, 3)));
            return ("o", 18);
        });
        var model = OnnxModel.Load(path);
        using var plain = GradientGraph.Build(model, model.Inputs[0], [2, 3, 3], "y", []);
        using var asked = GradientGraph.Build(model, model.Inputs[0], [2, 3, 3], "y", [], sharedForward: true);
        Assert.False(asked.SharedForward);
        var x = Enumerable.Range(0, 18).Select(i => (float)Math.Sin(i)).ToArray();
        var output = GradientMethods.Forward(plain, x);
        AttributionTarget[] targets = [new("class", 0), new("class", 2)];
        Assert.Equal(GradientMethods.InputGradients(plain, x, targets, output, false), GradientMethods.InputGradients(asked, x, targets, output, false));
    }

    static string AbsWeights(GraphProto g, string name, float offset, params long[] dims)
    {
        var rng = new Random(9);
        g.Initializer.Add(Initializer(name, Enumerable.Range(0, (int)dims.Aggregate(1L, (a, b) => a * b)).Select(_ => offset + (float)rng.NextDouble()).ToArray(), dims));
        return name;
    }

    static string LongConst(GraphProto g, string name, params long[] values)
    {
        g.Initializer.Add(LongInitializer(name, values));
        return name;
    }

    static string Scales(GraphProto g, params float[] values)
    {
        g.Initializer.Add(Initializer("scales", values, values.Length));
        return "scales";
    }

    static string FloatConst(GraphProto g, string name, float value)
    {
        g.Initializer.Add(Initializer(name, [value]));
        return name;
    }

    static (string, long) SqueezeUnsqueeze(GraphProto g)
    {
        g.Node.Add(Node("Unsqueeze", "/Unsqueeze", ["x", LongConst(g, "a1", 1)], ["u"]));
        g.Node.Add(Node("Squeeze", "/Squeeze", ["u", LongConst(g, "a2", 1)], ["o"]));
        return ("o", 24);
    }

    /// <summary>Operators one after another, each taking the previous output first and then the given inputs.</summary>
    static (string, long) Chained(GraphProto g, (string Op, string[] Inputs) first, (string Op, string[] Inputs) second, long size = 50)
    {
        g.Node.Add(Node(first.Op, "/first", ["x", .. first.Inputs], ["t"]));
        g.Node.Add(Node(second.Op, "/second", ["t", .. second.Inputs], ["o"]));
        return ("o", size);
    }

    /// <summary>Where(x > 0, 2x, x²): each branch gets the gradient where it is chosen.</summary>
    static (string, long) WhereSquare(GraphProto g)
    {
        g.Node.Add(Node("Greater", "/positive", ["x", FloatConst(g, "zero", 0f)], ["c"]));
        g.Node.Add(Node("Mul", "/double", ["x", FloatConst(g, "two", 2f)], ["a"]));
        g.Node.Add(Node("Mul", "/square", ["x", "x"], ["b"]));
        g.Node.Add(Node("Where", "/where", ["c", "a", "b"], ["o"]));
        return ("o", 50);
    }

    /// <summary>The first row of each channel, by a scalar index (as a ViT takes its class token).</summary>
    static (string, long) GatherScalar(GraphProto g)
    {
        var zero = new TensorProto { Name = "zero", DataType = (int)TensorProto.Types.DataType.Int64 }; // a scalar: no dims
        zero.Int64Data.Add(0);
        g.Initializer.Add(zero);
        g.Node.Add(Node("Gather", "/gather", ["x", "zero"], ["o"], IntAttr("axis", 2)));
        return ("o", 2 * 5);
    }

    /// <summary>The second half of the rows, its start computed from the input's shape (as a chunk exports).</summary>
    static (string, long) SliceComputed(GraphProto g)
    {
        g.Node.Add(Node("Shape", "/shape", ["x"], ["sh"]));
        g.Node.Add(Node("Gather", "/rows", ["sh", LongConst(g, "two", 2)], ["rows"]));
        g.Node.Add(Node("Div", "/half", ["rows", LongConst(g, "d", 2)], ["half"]));
        g.Node.Add(Node("Slice", "/slice", ["x", "half", LongConst(g, "end", 100), LongConst(g, "ax", 2)], ["o"]));
        return ("o", 2 * 3 * 5);
    }

    /// <summary>Split the channels in two and multiply the halves.</summary>
    static (string, long) SplitBoth(GraphProto g)
    {
        g.Node.Add(Node("Split", "/split", ["x"], ["s0", "s1"], IntAttr("axis", 1)));
        g.Node.Add(Node("Mul", "/mul", ["s0", "s1"], ["o"]));
        return ("o", 25);
    }

    /// <summary>Split the rows 2 + 3 and keep only the second part (the first gets no gradient).</summary>
    static (string, long) SplitOne(GraphProto g)
    {
        g.Node.Add(Node("Split", "/split", ["x", LongConst(g, "parts", 2, 3)], ["s0", "s1"], IntAttr("axis", 2)));
        g.Node.Add(Node("Tanh", "/tanh", ["s1"], ["o"]));
        return ("o", 2 * 3 * 5);
    }

    /// <summary>Self-attention over 3 tokens of width 4: softmax(q·kᵀ / 2)·v, where both operands of two MatMuls depend on the input.</summary>
    static (string, long) Attention(GraphProto g, Random rng)
    {
        g.Node.Add(Node("MatMul", "/q", ["x", Weights(g, rng, "wq", 4, 4)], ["q"]));
        g.Node.Add(Node("MatMul", "/k", ["x", Weights(g, rng, "wk", 4, 4)], ["k"]));
        g.Node.Add(Node("MatMul", "/v", ["x", Weights(g, rng, "wv", 4, 4)], ["v"]));
        g.Node.Add(Node("Transpose", "/kt", ["k"], ["kt"], Ints("perm", 0, 2, 1)));
        g.Node.Add(Node("MatMul", "/scores", ["q", "kt"], ["s"]));
        g.Node.Add(Node("Div", "/scale", ["s", FloatConst(g, "two", 2f)], ["ss"]));
        g.Node.Add(Node("Softmax", "/softmax", ["ss"], ["a"], IntAttr("axis", -1)));
        g.Node.Add(Node("MatMul", "/mix", ["a", "v"], ["o"]));
        return ("o", 12);
    }

    /// <summary>Relu → MaxPool 2×2; with <paramref name="shared"/> the Relu output also feeds an AveragePool added to the result.</summary>
    static (string, long) ReluMaxPool(GraphProto g, bool shared)
    {
        g.Node.Add(Node("Relu", "/relu", ["x"], ["r"]));
        g.Node.Add(Node("MaxPool", "/pool", ["r"], [shared ? "m" : "o"], Ints("kernel_shape", 2, 2), Ints("strides", 2, 2)));
        if (shared)
        {
            g.Node.Add(Node("AveragePool", "/avg", ["r"], ["a"], Ints("kernel_shape", 2, 2), Ints("strides", 2, 2)));
            g.Node.Add(Node("Add", "/add", ["m", "a"], ["o"]));
        }
        return ("o", 2 * 3 * 3);
    }

    /// <summary>Conv → BN → Relu → Conv, plus the input (a residual connection), → Relu.</summary>
    static (string, long) ResidualBlock(GraphProto g, Random rng)
    {
        g.Node.Add(Node("Conv", "/c1", ["x", Weights(g, rng, "w1", 2, 2, 3, 3)], ["c1"], Ints("pads", 1, 1, 1, 1)));
        g.Node.Add(Node("BatchNormalization", "/bn", ["c1", Weights(g, rng, "s", 2), Weights(g, rng, "bb", 2), Weights(g, rng, "m", 2), AbsWeights(g, "v", 0.5f, 2)], ["n1"]));
        g.Node.Add(Node("Relu", "/r1", ["n1"], ["r1"]));
        g.Node.Add(Node("Conv", "/c2", ["r1", Weights(g, rng, "w2", 2, 2, 3, 3)], ["c2"], Ints("pads", 1, 1, 1, 1)));
        g.Node.Add(Node("Add", "/add", ["c2", "x"], ["sum"]));
        g.Node.Add(Node("Tanh", "/out", ["sum"], ["o"]));
        return ("o", 50);
    }
}
