using Percept.Attribution;
using Percept.Model;
using Percept.Perception;

namespace Percept.Tests.Attribution;

public class OcclusionTests
{
    [Fact]
    public void On_a_linear_model_one_pixel_occlusion_is_weight_times_pixel_and_the_loss_map_matches_a_direct_computation()
    {
        using var dir = new TempDir();
        int size = 5, classes = 3;
        var model = OnnxModel.Load(TinyModels.LinearImage(dir["lin.onnx"], size, classes, out var w, out var b));
        using var runner = new ModelRunner(model, model.Inputs[0], [1, size, size], [new Fetch("y")]);
        var rng = new Random(3);
        var x = Enumerable.Range(0, size * size).Select(_ => (float)rng.NextDouble()).ToArray();
        int label = 2;
        var targets = new List<AttributionTarget> { new("class", 0), new("class", 1), new("loss", label) };
        var result = Occlusion.Explain(runner, x, [1, size, size], targets, isProbability: false, patch: 1, stride: 1, batchSize: 7);
        Assert.Equal((size, size), (result.Height, result.Width));

        float[] Logits(float[] input) => Enumerable.Range(0, classes).Select(c => b[c] + Enumerable.Range(0, size * size).Sum(p => w[c * size * size + p] * input[p])).ToArray();
        float Loss(float[] input) => ClassScores.Compute(Logits(input), false, label, new float[classes]).Loss;
        float lossAll = Loss(x);
        for (int p = 0; p < size * size; p++)
        {
            Assert.Equal(w[p] * x[p], result.Maps[p], 1e-4);
            Assert.Equal(w[size * size + p] * x[p], result.Maps[size * size + p], 1e-4);
            var occluded = (float[])x.Clone();
            occluded[p] = 0;
            Assert.Equal(lossAll - Loss(occluded), result.Maps[2 * size * size + p], 1e-4);
        }
        Assert.Equal(lossAll, result.Scores[2], 1e-4);
    }

    [Fact]
    public void Larger_patches_average_the_windows_covering_each_pixel()
    {
        using var dir = new TempDir();
        int size = 6;
        var model = OnnxModel.Load(TinyModels.LinearImage(dir["lin.onnx"], size, 2, out var w, out _));
        using var runner = new ModelRunner(model, model.Inputs[0], [1, size, size], [new Fetch("y")]);
        var x = Enumerable.Repeat(1f, size * size).ToArray();
        var result = Occlusion.Explain(runner, x, [1, size, size], [new("class", 1)], false, patch: 3, stride: 3);
        // Non-overlapping 3x3 windows: each pixel gets the sum of its window's weights.
        for (int y = 0; y < size; y++)
            for (int xx = 0; xx < size; xx++)
            {
                int wy = y / 3 * 3, wx = xx / 3 * 3;
                double expected = 0;
                for (int a = wy; a < wy + 3; a++) for (int c = wx; c < wx + 3; c++) expected += w[size * size + a * size + c];
                Assert.Equal(expected, result.Maps[y * size + xx], 1e-4);
            }
    }
}
