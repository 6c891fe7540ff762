using Percept.Attribution;
using Percept.Model;

namespace Percept.Tests.Attribution;

public class FaithfulnessTests
{
    [Fact]
    public void Rank_correlation_is_one_for_the_same_order_and_minus_one_for_the_reverse()
    {
        float[] a = [0.1f, 0.5f, 0.3f, 0.9f, 0.2f];
        Assert.Equal(1, Faithfulness.RankCorrelation(a, a.Select(v => v * 3 + 1).ToArray()), 1e-9);
        Assert.Equal(-1, Faithfulness.RankCorrelation(a, a.Select(v => -v).ToArray()), 1e-9);
    }

    [Fact]
    public void Occlusion_maps_of_the_demo_model_beat_a_random_order_and_depend_on_the_weights()
    {
        var (all, _) = global::Percept.Tests.Neighbors.NeighborsTests.Fashion(418);
        var x = all.Data[(417 * 784)..(418 * 784)];
        var model = OnnxModel.Load(TestFiles.DemoModel);
        using var runner = new ModelRunner(model, model.Inputs[0], [1, 28, 28], [new Fetch("logits")]);
        var target = new AttributionTarget("class", 1); // the sample is a trouser, predicted as one
        var map = Occlusion.Explain(runner, x, [1, 28, 28], [target], false);
        var f = Faithfulness.Curves(runner, x, [1, 28, 28], map.Maps, 28, 28, 1, false);
        Assert.True(f.Deletion < f.RandomDeletion, $"deletion {f.Deletion:F3} vs random {f.RandomDeletion:F3}");
        Assert.True(f.Insertion > f.RandomInsertion, $"insertion {f.Insertion:F3} vs random {f.RandomInsertion:F3}");

        using var dir = new TempDir();
        Faithfulness.RandomiseLastLayer(model, dir["random.onnx"]);
        var randomModel = OnnxModel.Load(dir["random.onnx"]);
        using var randomRunner = new ModelRunner(randomModel, randomModel.Inputs[0], [1, 28, 28], [new Fetch("logits")]);
        var randomMap = Occlusion.Explain(randomRunner, x, [1, 28, 28], [target], false);
        Assert.True(Faithfulness.RankCorrelation(map.Maps, randomMap.Maps) < 0.5);
    }
}
