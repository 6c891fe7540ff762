using Percept.Model;

namespace Percept.Tests.Model;

public class OnnxModelTests
{
    [Fact]
    public void Demo_model_layers_are_named_after_their_modules_and_record_the_activation_after_relu()
    {
        var m = OnnxModel.Load(TestFiles.DemoModel);
        Assert.Equal(new[] { "conv1", "conv2", "conv3", "fc1", "fc2" }, m.PerceptionLayers.Select(l => l.Name));
        Assert.Equal("/relu1/Relu_output_0", m.FindLayer("conv1").ActivationTensor);
        Assert.Equal("logits", m.FindLayer("fc2").ActivationTensor);
        Assert.Equal(16 * 9 + 16, m.FindLayer("conv1").ParameterCount);
        Assert.True(m.FindLayer("fc1").ChannelsLast);
        Assert.False(m.FindLayer("conv2").ChannelsLast);
        Assert.Same(m.FindLayer("conv2"), m.FindLayer("/conv2/Conv"));
        Assert.Contains("conv1, conv2", Assert.Throws<PerceptException>(() => m.FindLayer("conv9")).Message);
        Assert.False(m.IsProbabilityOutput("logits"));
    }

    [Fact]
    public void Bad_models_fail_with_clear_messages()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir["x.onnx"], "definitely not protobuf \u0001\u0002");
        Assert.Contains("not an ONNX model", Assert.Throws<PerceptException>(() => OnnxModel.Load(dir["x.onnx"])).Message);
        Assert.Contains("not found", Assert.Throws<PerceptException>(() => OnnxModel.Load(dir["none.onnx"])).Message);

        var two = OnnxModel.Load(TinyModels.TwoInputs(dir["two.onnx"], 4));
        Assert.Contains("--input", Assert.Throws<PerceptException>(() => two.SelectInput(null)).Message);
        Assert.Equal("b", two.SelectInput("b").Name);

        var odd = OnnxModel.Load(TinyModels.UnknownOp(dir["odd.onnx"], 4));
        var e = Assert.Throws<PerceptException>(() => new ModelRunner(odd, odd.Inputs[0], [4], [new Fetch("y")]));
        Assert.Contains("TotallyMadeUpOp", e.Message);
        Assert.DoesNotContain("\n", e.Message);
    }

    [Fact]
    public void Softmax_outputs_are_recognised_as_probabilities()
    {
        using var dir = new TempDir();
        var m = OnnxModel.Load(TinyModels.Mlp(dir["m.onnx"], 4, 6, 3, softmax: true));
        Assert.True(m.IsProbabilityOutput("y"));
        Assert.Equal(new[] { "hidden", "head" }, m.PerceptionLayers.Select(l => l.Name));
        Assert.Equal("a", m.FindLayer("hidden").ActivationTensor);
    }
}
