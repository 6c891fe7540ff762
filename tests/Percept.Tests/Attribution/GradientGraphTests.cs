using Percept.Attribution;
using Percept.Model;

namespace Percept.Tests.Attribution;

public class GradientGraphTests
{
    /// <summary>Forward score of class <paramref name="cls"/> for one sample.</summary>
    static float Score(ModelRunner runner, float[] x, int cls)
    {
        using var r = runner.Run((float[])x.Clone(), 1);
        return r[0].GetTensorDataAsSpan<float>()[cls];
    }

    /// <summary>Central finite differences in double steps against the graph's input gradient, at the given positions.</summary>
    static (int Checked, int Agreeing) CompareWithFiniteDifferences(string modelPath, int[] sampleShape, float[] x, int cls, IEnumerable<int> positions, float eps, double tolerance)
    {
        var model = OnnxModel.Load(modelPath);
        using var graph = GradientGraph.Build(model, model.Inputs[0], sampleShape, model.OutputNames[0], []);
        int classes = (int)graph.OutputShape[0];
        var seed = new float[classes];
        seed[cls] = 1;
        var g = graph.Run((float[])x.Clone(), seed, 1).InputGradient;
        using var runner = new ModelRunner(model, model.Inputs[0], sampleShape, [new Fetch(model.OutputNames[0])]);
        int checkedCount = 0, agreeing = 0;
        foreach (int p in positions)
        {
            var plus = (float[])x.Clone(); plus[p] += eps;
            var minus = (float[])x.Clone(); minus[p] -= eps;
            double fd = (Score(runner, plus, cls) - Score(runner, minus, cls)) / (2.0 * eps);
            checkedCount++;
            if (Math.Abs(fd - g[p]) <= tolerance * Math.Max(1, Math.Abs(fd))) agreeing++;
        }
        return (checkedCount, agreeing);
    }

    [Fact]
    public void Mlp_gradients_agree_with_finite_differences()
    {
        using var dir = new TempDir();
        string path = TinyModels.Mlp(dir["m.onnx"], 7, 9, 4, seed: 11);
        var rng = new Random(2);
        var x = Enumerable.Range(0, 7).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var (n, ok) = CompareWithFiniteDifferences(path, [7], x, 2, Enumerable.Range(0, 7), 1e-2f, 2e-3);
        Assert.Equal(n, ok);
    }

    [Fact]
    public void Conv_net_gradients_agree_with_finite_differences()
    {
        using var dir = new TempDir();
        string path = TinyModels.ConvNet(dir["c.onnx"], 3, 7, 5, 4, seed: 3);
        var rng = new Random(4);
        var x = Enumerable.Range(0, 3 * 7 * 7).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var (n, ok) = CompareWithFiniteDifferences(path, [3, 7, 7], x, 1, Enumerable.Range(0, 3 * 49).Where(i => i % 5 == 0), 1e-2f, 2e-3);
        Assert.True(ok == n, $"{ok} of {n} positions agree");
    }

    [Fact]
    public void Demo_model_input_gradients_agree_with_finite_differences()
    {
        var (all, _) = global::Percept.Tests.Neighbors.NeighborsTests.Fashion(1);
        var rng = new Random(5);
        var positions = Enumerable.Range(0, 784).Where(p => all.Data[p] > 0.05f).OrderBy(_ => rng.Next()).Take(40).ToArray();
        var (n, ok) = CompareWithFiniteDifferences(TestFiles.DemoModel, [1, 28, 28], all.Data, 9, positions, 1e-3f, 2e-2);
        // ReLU and max-pooling kinks can sit inside a finite-difference step; almost every position must agree.
        Assert.True(ok == n, $"{ok} of {n} positions agree");
    }
}
