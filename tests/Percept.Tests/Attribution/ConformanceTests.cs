using Percept.Attribution;
using Percept.IO;
using Percept.Model;

namespace Percept.Tests.Attribution;

/// <summary>
/// Standard architectures (reduced widths, random weights; tests/fixtures/conformance/, written by
/// tools/make_conformance.py with PyTorch): the logits and the input gradient of each of three classes equal PyTorch
/// autograd's, through the batched gradient graph and the one that shares a sample's forward pass among its targets.
/// </summary>
public class ConformanceTests
{
    static string Fixture(string file) => Path.Combine(TestFiles.Root, "tests", "fixtures", "conformance", file);

    public static TheoryData<string, int> Models => new()
    {
        { "resnet", 13 }, { "densenet", 13 }, { "squeezenet", 13 }, { "googlenet", 13 }, { "mobilenet_v2", 13 }, { "mobilenet_v3", 13 },
        { "convnext", 13 }, { "convnext", 17 }, { "shufflenet_v2", 13 }, { "vit", 13 }, { "vit", 17 }, { "efficientnet_b0", 13 }, { "vgg", 13 },
    };

    /// <summary>
    /// Grad-CAM at the last convolution: the layer's value and its gradient for three classes equal autograd's (batched, and
    /// from one forward pass shared by the targets), and so does the map ReLU(Σ_c mean(∂y/∂A_c)·A_c).
    /// </summary>
    [Theory]
    [MemberData(nameof(Models))]
    public void GradCam_at_the_last_convolution_equals_autograd(string name, int opset)
    {
        var model = OnnxModel.Load(Fixture($"{name}-opset{opset}.onnx"));
        var input = model.SelectInput(null);
        int[] sample = [3, 32, 32];
        var x = Npy.ReadFloat32(Fixture($"{name}-inputs.npy"), out _);
        var activation = Npy.ReadFloat32(Fixture($"{name}-cam-activation.npy"), out var shape); // [2, C, h, w]
        var gradient = Npy.ReadFloat32(Fixture($"{name}-cam-gradient.npy"), out _); // [3 classes, 2, C, h, w]
        var cam = Npy.ReadFloat32(Fixture($"{name}-gradcam.npy"), out _); // [3 classes, 2, h, w]
        int classes = (int)Npy.ReadHeader(Fixture($"{name}-logits.npy")).Shape[1], len = 3 * 32 * 32;
        int per = (int)(shape[1] * shape[2] * shape[3]), plane = (int)(shape[2] * shape[3]);
        string tensor = model.Layers.Last(l => l.OpType == "Conv").Output;

        using var graph = GradientGraph.Build(model, input, sample, "logits", [tensor], inputGradient: false);
        using var shared = GradientGraph.Build(model, input, sample, "logits", [tensor], inputGradient: false, sharedForward: true);
        for (int c = 0; c < 3; c++)
        {
            var seed = new float[2 * classes];
            seed[c] = 1;
            seed[classes + c] = 1;
            var (value, _, g) = graph.Run((float[])x.Clone(), seed, 2).Activations[0];
            AssertClose(activation, value, $"{name} opset {opset} activation of {tensor}");
            AssertClose(gradient.AsSpan(c * 2 * per, 2 * per).ToArray(), g, $"{name} opset {opset} class {c}, gradient at {tensor}");
        }
        // Sample 0's three classes from one forward pass, then the maps as the dashboard makes them.
        var output = GradientMethods.Forward(shared, x[..len]);
        var targets = Enumerable.Range(0, 3).Select(c => new AttributionTarget("class", c)).ToArray();
        var (maps, h, w) = GradientMethods.Cam(shared, x[..len], targets, output, false, layerCam: false);
        Assert.Equal(((int)shape[2], (int)shape[3]), (h, w));
        for (int c = 0; c < 3; c++)
            AssertClose(cam.AsSpan(c * 2 * plane, plane).ToArray(), maps[(c * plane)..((c + 1) * plane)], $"{name} opset {opset} class {c}, Grad-CAM map");
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Logits_and_saliency_equal_autograd(string name, int opset)
    {
        var model = OnnxModel.Load(Fixture($"{name}-opset{opset}.onnx"));
        var input = model.SelectInput(null);
        int[] sample = [3, 32, 32];
        var x = Npy.ReadFloat32(Fixture($"{name}-inputs.npy"), out _);
        var logits = Npy.ReadFloat32(Fixture($"{name}-logits.npy"), out var ls);
        var saliency = Npy.ReadFloat32(Fixture($"{name}-saliency.npy"), out _); // [3 classes, 2 samples, 3, 32, 32]
        int classes = (int)ls[1], len = 3 * 32 * 32;

        using (var runner = new ModelRunner(model, input, sample, [new Fetch("logits")]))
        using (var r = runner.Run((float[])x.Clone(), 2))
            AssertClose(logits, r[0].GetTensorDataAsSpan<float>().ToArray(), $"{name} opset {opset} logits");

        using var graph = GradientGraph.Build(model, input, sample, "logits", []);
        using var shared = GradientGraph.Build(model, input, sample, "logits", [], sharedForward: true);
        // Sample 0's three classes as rows of one backward pass (when the model allows it), as the dashboard asks.
        var seeds = new float[3 * classes];
        for (int c = 0; c < 3; c++) seeds[c * classes + c] = 1;
        var rows = shared.SharedForward ? shared.Run(x[..len], seeds, 1, seedRows: 3).InputGradient : null;
        for (int c = 0; c < 3; c++)
        {
            var seed = new float[2 * classes];
            seed[c] = 1;
            seed[classes + c] = 1;
            var g = graph.Run((float[])x.Clone(), seed, 2).InputGradient;
            var expected = saliency.AsSpan(c * 2 * len, 2 * len).ToArray();
            AssertClose(expected, g, $"{name} opset {opset} class {c}");
            if (rows != null) AssertClose(expected[..len], rows[(c * len)..((c + 1) * len)], $"{name} opset {opset} class {c}, shared forward pass");
        }
    }

    /// <summary>The table in docs/attribution.md: each architecture, the operators on its gradient path, and its status, as these tests check them.</summary>
    [Fact]
    public void The_conformance_table_in_the_docs_is_the_tested_one()
    {
        var table = new System.Text.StringBuilder();
        table.AppendLine("| architecture (opset) | operators on the gradient path | logits, saliency and Grad-CAM |");
        table.AppendLine("|---|---|---|");
        foreach (var row in Models)
        {
            string name = (string)row[0];
            int opset = (int)row[1];
            var model = OnnxModel.Load(Fixture($"{name}-opset{opset}.onnx"));
            var ops = GradientGraph.PathOperators(model, model.SelectInput(null), "logits");
            Assert.All(ops, o => Assert.True(o.HasRule, $"{name}: {o.OpType} has no rule"));
            table.AppendLine($"| {name} ({opset}) | {string.Join(", ", ops.Select(o => o.OpType).Order(StringComparer.Ordinal))} | equal to autograd |");
        }
        string docs = File.ReadAllText(Path.Combine(TestFiles.Root, "docs", "attribution.md"));
        Assert.True(docs.Contains(table.ToString(), StringComparison.Ordinal), "docs/attribution.md should hold this table:\n" + table);
    }

    /// <summary>Equal to 1e-4 of the largest magnitude, and correlated ≥ 0.9999.</summary>
    internal static void AssertClose(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = expected.Max(v => Math.Abs((double)v));
        double worst = expected.Zip(actual, (e, a) => Math.Abs(e - (double)a)).Max();
        Assert.True(worst <= 1e-4 * scale, $"{what}: largest difference {worst:G3} against a scale of {scale:G3}");
        double me = expected.Average(v => (double)v), ma = actual.Average(v => (double)v);
        double sab = 0, saa = 0, sbb = 0;
        for (int i = 0; i < expected.Length; i++) { double a = expected[i] - me, b = actual[i] - ma; sab += a * b; saa += a * a; sbb += b * b; }
        // A class whose logit is cut by a final ReLU has no gradient at all: then the gradient must be zero too.
        if (scale == 0) { Assert.True(worst == 0, $"{what}: autograd's gradient is zero, Percept's is not"); return; }
        double correlation = sab / Math.Sqrt(Math.Max(saa * sbb, 1e-300));
        Assert.True(correlation >= 0.9999, $"{what}: correlation {correlation:F6}");
    }
}
