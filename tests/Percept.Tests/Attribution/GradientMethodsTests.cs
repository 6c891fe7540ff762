using Percept.Attribution;
using Percept.Data;
using Percept.IO;
using Percept.Model;

namespace Percept.Tests.Attribution;

/// <summary>The gradient methods on the demo model against PyTorch autograd (tools/make_attribution_golden.py).</summary>
public class GradientMethodsTests
{
    static readonly AttributionTarget[] AllClasses = Enumerable.Range(0, 10).Select(c => new AttributionTarget("class", c)).ToArray();

    static float[] Sample(int index)
    {
        using var ds = new IdxDataset(TestFiles.FashionImages);
        return ds.ReadSample(index).Raw.Select(v => v / 255f).ToArray();
    }

    static void AssertCloseRelative(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double relative, string what)
    {
        float scale = 0;
        foreach (var v in expected) scale = Math.Max(scale, Math.Abs(v));
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= relative * Math.Max(scale, 1e-6f), $"{what}[{i}]: expected {expected[i]}, got {actual[i]} (scale {scale})");
    }

    [Fact]
    public void Saliency_and_gradcam_equal_pytorch_autograd()
    {
        var samples = Npy.ReadInt64(TestFiles.Golden("attribution_samples.npy"), out _);
        var saliency = Npy.ReadFloat32(TestFiles.Golden("saliency.npy"), out _);
        var gradcam = Npy.ReadFloat32(TestFiles.Golden("gradcam.npy"), out _);
        var model = OnnxModel.Load(TestFiles.DemoModel);
        string conv3 = model.FindLayer("conv3").ActivationTensor!;
        // One copy of the sample per class, and one forward pass for all ten classes (the seeds as rows).
        using var plain = GradientGraph.Build(model, model.Inputs[0], [1, 28, 28], "logits", []);
        using var shared = GradientGraph.Build(model, model.Inputs[0], [1, 28, 28], "logits", [], sharedForward: true);
        Assert.False(plain.SharedForward);
        Assert.True(shared.SharedForward);
        // Grad-CAM's graph stops at its layer (no input gradient); the full graph must give the same maps.
        using var cam = GradientGraph.Build(model, model.Inputs[0], [1, 28, 28], "logits", [conv3], inputGradient: false);
        using var camShared = GradientGraph.Build(model, model.Inputs[0], [1, 28, 28], "logits", [conv3], inputGradient: false, sharedForward: true);
        using var full = GradientGraph.Build(model, model.Inputs[0], [1, 28, 28], "logits", [conv3]);
        for (int s = 0; s < samples.Length; s++)
        {
            var x = Sample((int)samples[s]);
            var output = GradientMethods.Forward(plain, x);
            foreach (var graph in new[] { plain, shared })
            {
                var g = GradientMethods.InputGradients(graph, x, AllClasses, output, false);
                for (int c = 0; c < 10; c++)
                    AssertCloseRelative(saliency.AsSpan((s * 10 + c) * 784, 784), g.AsSpan(c * 784, 784), 1e-4, $"saliency s{s} c{c}, shared forward {graph.SharedForward}");
            }
            var (maps, h, w) = GradientMethods.Cam(cam, x, AllClasses, output, false, layerCam: false);
            Assert.Equal((7, 7), (h, w));
            for (int c = 0; c < 10; c++)
                AssertCloseRelative(gradcam.AsSpan((s * 10 + c) * 49, 49), maps.AsSpan(c * 49, 49), 1e-4, $"gradcam s{s} c{c}");
            var (sharedMaps, _, _) = GradientMethods.Cam(camShared, x, AllClasses, output, false, layerCam: false);
            for (int c = 0; c < 10; c++)
                AssertCloseRelative(gradcam.AsSpan((s * 10 + c) * 49, 49), sharedMaps.AsSpan(c * 49, 49), 1e-4, $"gradcam s{s} c{c}, shared forward");
            Assert.Empty(cam.Run(x, new float[10], 1).InputGradient);
            var (fullMaps, _, _) = GradientMethods.Cam(full, x, AllClasses, output, false, layerCam: false);
            Assert.Equal(fullMaps, maps);
        }
        // A graph built for one shared forward pass runs one sample at a time, and integrated gradients (many inputs) need the other kind.
        Assert.Throws<ArgumentException>(() => shared.Run(new float[2 * 784], new float[20], 2));
        Assert.Throws<ArgumentException>(() => plain.Run(new float[784], new float[20], 1, seedRows: 2));
        Assert.Throws<ArgumentException>(() => GradientMethods.IntegratedGradients(shared, Sample(0), [new("class", 0)], false));
    }

    [Fact]
    public void Integrated_gradients_are_complete_within_one_percent_with_64_adaptive_steps()
    {
        var model = OnnxModel.Load(TestFiles.DemoModel);
        using var graph = GradientGraph.Build(model, model.Inputs[0], [1, 28, 28], "logits", []);
        // The predicted class's score; the loss (a softmax on top) needs more steps.
        foreach (int index in new[] { 0, 417, 5512, 979 })
        {
            var x = Sample(index);
            var output = GradientMethods.Forward(graph, x);
            int pred = Array.IndexOf(output, output.Max());
            var targets = new AttributionTarget[] { new("class", pred) };
            // Equal midpoint steps: with 64 the gap stays within a few percent on this ReLU model (kinks along the path);
            // with 512 it is under 1%. Adaptive quadrature gets under 1% with the same 64 gradients.
            var (_, gapEqual, diff, _) = GradientMethods.IntegratedGradients(graph, x, targets, false, 64, adaptive: false);
            Assert.True(Math.Abs(gapEqual[0]) < 0.05 * Math.Abs(diff[0]), $"sample {index}, 64 equal steps: gap {gapEqual[0]:G4} vs difference {diff[0]:G4}");
            var (_, gap512, _, _) = GradientMethods.IntegratedGradients(graph, x, targets, false, 512, adaptive: false);
            Assert.True(Math.Abs(gap512[0]) < 0.01 * Math.Abs(diff[0]), $"sample {index}, 512 equal steps: gap {gap512[0]:G4} vs difference {diff[0]:G4}");
            var (_, gap64, diff64, used64) = GradientMethods.IntegratedGradients(graph, x, targets, false, 64);
            Assert.Equal(diff[0], diff64[0], 1e-9);
            Assert.Equal(64, used64[0]);
            Assert.True(Math.Abs(gap64[0]) < 0.01 * Math.Abs(diff[0]), $"sample {index}, 64 adaptive steps: gap {gap64[0]:G4} vs difference {diff[0]:G4}");
            var (_, lossGap, lossDiff, _) = GradientMethods.IntegratedGradients(graph, x, [new("loss", pred)], false, 512);
            Assert.True(Math.Abs(lossGap[0]) < 0.01 * Math.Abs(lossDiff[0]), $"sample {index} loss, 512 steps: gap {lossGap[0]:G4} vs difference {lossDiff[0]:G4}");
        }
    }

    [Fact]
    public void Integrated_gradients_refine_past_the_budget_until_the_gap_is_within_the_tolerance()
    {
        var model = OnnxModel.Load(TestFiles.DemoModel);
        using var graph = GradientGraph.Build(model, model.Inputs[0], [1, 28, 28], "logits", []);
        // Test image 290: 64 adaptive gradients leave a gap of 2.1% of the output difference on its predicted class.
        var x = Sample(290);
        var output = GradientMethods.Forward(graph, x);
        var targets = new AttributionTarget[] { new("class", Array.IndexOf(output, output.Max())) };
        var (_, gap64, diff, used64) = GradientMethods.IntegratedGradients(graph, x, targets, false, 64);
        Assert.Equal(64, used64[0]);
        Assert.True(Math.Abs(gap64[0]) > 0.01 * Math.Abs(diff[0]), $"gap {gap64[0]:G4} vs difference {diff[0]:G4}: no longer a sample that needs more than 64");

        var (attr, gap, diff2, used) = GradientMethods.IntegratedGradients(graph, x, targets, false, 64, tolerance: 0.01, maxSteps: 256);
        Assert.InRange(used[0], 66, 256);
        Assert.True(Math.Abs(gap[0]) <= 0.01 * Math.Abs(diff2[0]), $"gap {gap[0]:G4} vs difference {diff2[0]:G4} after {used[0]} gradients");
        // The gap is measured: Σ attributions against the model's own outputs at the input and the baseline.
        var atZero = graph.Forward(new float[x.Length], 1);
        double difference = output[targets[0].Class] - atZero[targets[0].Class];
        Assert.Equal(difference, diff2[0], 1e-5);
        Assert.Equal(attr.Sum(v => (double)v) - difference, gap[0], 1e-5);

        // A tight cap stops the refinement where it is; a sample already within the tolerance spends only its budget.
        var (_, _, _, capped) = GradientMethods.IntegratedGradients(graph, x, targets, false, 64, tolerance: 1e-9, maxSteps: 70);
        Assert.Equal(70, capped[0]);
        var y = Sample(0);
        var yOut = GradientMethods.Forward(graph, y);
        var (_, _, _, easy) = GradientMethods.IntegratedGradients(graph, y, [new("class", Array.IndexOf(yOut, yOut.Max()))], false, 64, tolerance: 0.01, maxSteps: 256);
        Assert.Equal(64, easy[0]);
    }

    [Fact]
    public void Unsupported_operators_are_named()
    {
        using var dir = new TempDir();
        var model = OnnxModel.Load(TinyModels.Chain(dir["m.onnx"], [4], (g, _) =>
        {
            g.Node.Add(TinyModels.Node("Sin", "/odd/Sin", ["x"], ["s"]));
            return ("s", 4);
        }));
        var e = Assert.Throws<PerceptException>(() => GradientGraph.Build(model, model.Inputs[0], [4], "y", []));
        Assert.Contains("Sin", e.Message);
        Assert.Contains("/odd/Sin", e.Message);
        Assert.Contains("occlusion", e.Message);
    }
}
