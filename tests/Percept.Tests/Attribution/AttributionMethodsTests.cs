using Percept.Attribution;
using Percept.Model;

namespace Percept.Tests.Attribution;

public class AttributionMethodsTests
{
    [Fact]
    public void The_registry_names_each_method_once_and_finds_it_by_name()
    {
        Assert.Equal(AttributionMethods.All.Count, AttributionMethods.Names.Distinct().Count());
        foreach (var m in AttributionMethods.All) Assert.Same(m, AttributionMethods.Get(m.Name));
        Assert.Null(AttributionMethods.Find("gradcam++"));
        var e = Assert.Throws<PerceptException>(() => AttributionMethods.Get("gradcam++"));
        Assert.Contains("gradcam, layercam", e.Message);
        // A model without class scores can only be occluded.
        Assert.Equal([AttributionMethods.Occlusion], AttributionMethods.For(classScores: false));
    }

    [Fact]
    public void Cam_layers_are_the_convolutions_with_channels_first()
    {
        var model = OnnxModel.Load(TestFiles.DemoModel);
        Assert.Equal(["conv1", "conv2", "conv3"], AttributionMethods.CamLayers(model).Select(l => l.Name));
        Assert.Equal("conv3", AttributionMethods.CamLayer(model, null).Name);
        var e = Assert.Throws<PerceptException>(() => AttributionMethods.CamLayer(model, "fc1"));
        Assert.Contains("such as 'conv3'", e.Message);
    }
}
