using Percept.Attribution;
using Percept.Data;
using Percept.IO;
using Percept.Model;

namespace Percept.Tests.Attribution;

/// <summary>A small ResNet exported by PyTorch (tools/make_resnet_fixture.py): residual Add, BatchNormalization, GlobalAveragePool, Gemm.</summary>
public class ResNetTests
{
    static string Fixture(string name) => Path.Combine(TestFiles.Root, "tests", "fixtures", name);

    [Fact]
    public void A_resnet_runs_end_to_end_analysis_and_gradients_match_pytorch()
    {
        using var dir = new TempDir();
        var run = Analysis.Run(new AnalysisOptions
        {
            ModelPath = Fixture("resnet-tiny.onnx"),
            Data = new DataSource { Path = Fixture("resnet-tiny-inputs.npy") },
            OutputDirectory = dir["run"],
            Map = new() { Method = Percept.Projection.MapMethod.None },
        });
        var logits = run.ReadMatrix("logits", out int rows, out int classes);
        Assert.Equal((4, 5), (rows, classes));
        var golden = Npy.ReadFloat32(Fixture("resnet-tiny-logits.npy"), out _);
        for (int i = 0; i < golden.Length; i++) Assert.Equal(golden[i], logits[i], 1e-4);
        // Conv → BatchNormalization → Relu is one perception layer, read after the Relu.
        Assert.All(run.Manifest.Perception.Layers.Where(l => l.Op == "Conv"), l => Assert.Matches(@"/Relu(_\d+)?_output_0$", l.Tensor));

        var model = OnnxModel.Load(Fixture("resnet-tiny.onnx"));
        using var plain = GradientGraph.Build(model, model.Inputs[0], [3, 16, 16], "logits", []);
        // Residual Add, BatchNormalization, GlobalAveragePool and Flatten keep the batch axis first: one forward pass can serve all classes.
        using var shared = GradientGraph.Build(model, model.Inputs[0], [3, 16, 16], "logits", [], sharedForward: true);
        Assert.True(shared.SharedForward);
        var inputs = Npy.ReadFloat32(Fixture("resnet-tiny-inputs.npy"), out _);
        var saliency = Npy.ReadFloat32(Fixture("resnet-tiny-saliency.npy"), out _);
        int len = 3 * 16 * 16;
        foreach (var graph in new[] { plain, shared })
        {
            for (int s = 0; s < 4; s++)
            {
                var x = inputs[(s * len)..((s + 1) * len)];
                var output = GradientMethods.Forward(graph, x);
                var g = GradientMethods.InputGradients(graph, x, Enumerable.Range(0, 5).Select(c => new AttributionTarget("class", c)).ToArray(), output, false);
                for (int c = 0; c < 5; c++)
                {
                    var expected = saliency.AsSpan((s * 5 + c) * len, len);
                    float scale = 0;
                    foreach (var v in expected) scale = Math.Max(scale, Math.Abs(v));
                    for (int i = 0; i < len; i++)
                        Assert.True(Math.Abs(expected[i] - g[c * len + i]) <= 1e-4 * scale, $"sample {s} class {c} [{i}]: {expected[i]} vs {g[c * len + i]}");
                }
            }
        }
        using var cam = GradientGraph.Build(model, model.Inputs[0], [3, 16, 16], "logits", [model.PerceptionLayers.Last(l => l.OpType == "Conv").ActivationTensor!], sharedForward: true);
        var (maps, h, w) = GradientMethods.Cam(cam, inputs[..len], [new("class", 2)], GradientMethods.Forward(cam, inputs[..len]), false, false);
        Assert.Equal((8, 8), (h, w));
        Assert.All(maps, v => Assert.True(float.IsFinite(v) && v >= 0));
    }
}
