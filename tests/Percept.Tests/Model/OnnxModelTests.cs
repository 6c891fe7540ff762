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
        // The library names its own option; the command line names its flag (CliTests, the corpus).
        Assert.Contains("AnalysisOptions.InputName", Assert.Throws<PerceptException>(() => two.SelectInput(null)).Message);
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

public class ExternalDataTests
{
    [Fact]
    public void A_model_with_external_data_runs_from_any_working_folder()
    {
        using var dir = new TempDir();
        string plain = TinyModels.Mlp(dir["plain.onnx"], 4, 6, 3);
        // The same model as PyTorch ≥ 2 writes large ones: every weight in model.onnx.data, at its offset.
        var proto = Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(plain));
        Directory.CreateDirectory(dir["export"]);
        using (var data = File.Create(dir["export/model.onnx.data"]))
            foreach (var t in proto.Graph.Initializer)
            {
                var bytes = t.FloatData.Count > 0 ? t.FloatData.SelectMany(BitConverter.GetBytes).ToArray() : t.RawData.ToByteArray();
                long offset = data.Position;
                data.Write(bytes);
                t.FloatData.Clear();
                t.RawData = Google.Protobuf.ByteString.Empty;
                t.DataLocation = Onnx.TensorProto.Types.DataLocation.External;
                foreach (var (k, v) in new[] { ("location", "model.onnx.data"), ("offset", offset.ToString(System.Globalization.CultureInfo.InvariantCulture)), ("length", bytes.Length.ToString(System.Globalization.CultureInfo.InvariantCulture)) })
                    t.ExternalData.Add(new Onnx.StringStringEntryProto { Key = k, Value = v });
            }
        File.WriteAllBytes(dir["export/model.onnx"], Google.Protobuf.MessageExtensions.ToByteArray(proto));

        // Loaded by its path from another folder (the test's working folder is not the model's).
        Assert.NotEqual(dir["export"], Environment.CurrentDirectory);
        var a = OnnxModel.Load(plain);
        var b = OnnxModel.Load(dir["export/model.onnx"]);
        Assert.Equal(a.Layers.Select(l => (l.Name, l.ParameterCount)), b.Layers.Select(l => (l.Name, l.ParameterCount)));
        var x = Enumerable.Range(0, 8).Select(i => (float)Math.Sin(i)).ToArray();
        using var ra = new ModelRunner(a, a.Inputs[0], [4], [new Fetch("y")]);
        using var rb = new ModelRunner(b, b.Inputs[0], [4], [new Fetch("y")]);
        using var ya = ra.Run(x, 2);
        using var yb = rb.Run(x, 2);
        Assert.Equal(ya[0].GetTensorDataAsSpan<float>().ToArray(), yb[0].GetTensorDataAsSpan<float>().ToArray());

        // A data file that is gone, or too short, is one clear error.
        File.WriteAllBytes(dir["export/model.onnx.data"], new byte[10]);
        Assert.Contains("lies past the end of model.onnx.data", Assert.Throws<PerceptException>(() => OnnxModel.Load(dir["export/model.onnx"])).Message);
        File.Delete(dir["export/model.onnx.data"]);
        Assert.Contains("keeps its weights in model.onnx.data", Assert.Throws<PerceptException>(() => OnnxModel.Load(dir["export/model.onnx"])).Message);
    }
}
