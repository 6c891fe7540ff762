using System.Globalization;
using Percept.Model;

namespace Percept.Attribution;

/// <summary>A parameter of an attribution method, with its default (as the CLI and the API spell it).</summary>
public sealed record MethodParameter(string Name, string Default, string Description);

/// <summary>
/// One way of making a heat map. <see cref="AttributionMethods.All"/> is the only list of them: the CLI checks names
/// against it, the server sends it to the dashboard, which draws its pickers from it.
/// </summary>
/// <param name="Name">What the CLI's <c>--method</c> and the API's <c>method=</c> take.</param>
/// <param name="Label">What the dashboard shows.</param>
/// <param name="NeedsLayer">Reads a convolutional layer (<see cref="AttributionMethods.CamLayers"/>).</param>
/// <param name="NeedsGradients">Differentiates the model (a gradient graph); false: any model ONNX Runtime runs.</param>
public sealed record AttributionMethod(string Name, string Label, bool NeedsLayer, bool NeedsGradients, string Description,
    IReadOnlyList<MethodParameter> Parameters)
{
    /// <summary>Whether the per-channel maps are reduced by the largest magnitude (saliency-type) rather than summed.</summary>
    internal bool AbsoluteOverChannels => Name is AttributionMethods.SaliencyName or AttributionMethods.SmoothGradName;
}

/// <summary>The registry of attribution methods and the one rule for which layers Grad-CAM-type methods read.</summary>
public static class AttributionMethods
{
    internal const string GradCamName = "gradcam", LayerCamName = "layercam", SaliencyName = "saliency", GradientTimesInputName = "gradxinput",
        IntegratedGradientsName = "ig", SmoothGradName = "smoothgrad", OcclusionName = "occlusion";

    /// <summary>Integrated gradients' defaults: gradients on the path, completeness tolerance.</summary>
    public const int DefaultSteps = 64;
    public const double DefaultTolerance = 0.01;
    /// <summary>Occlusion's defaults: patch side and stride, in input pixels.</summary>
    public const int DefaultPatch = 4, DefaultStride = 2;

    public static readonly AttributionMethod GradCam = new(GradCamName, "Grad-CAM", true, true,
        "Grad-CAM at a convolutional layer (default: the last), upsampled to the input", []);
    public static readonly AttributionMethod LayerCam = new(LayerCamName, "LayerCAM", true, true, "LayerCAM at a convolutional layer", []);
    public static readonly AttributionMethod Saliency = new(SaliencyName, "Saliency", false, true,
        "|∂target/∂input|, the largest over channels", []);
    public static readonly AttributionMethod GradientTimesInput = new(GradientTimesInputName, "Gradient × input", false, true,
        "∂target/∂input × input, summed over channels", []);
    public static readonly AttributionMethod IntegratedGradients = new(IntegratedGradientsName, "Integrated gradients", false, true,
        "integrated gradients from a black baseline, refined while the completeness gap is above the tolerance",
        [
            new("steps", DefaultSteps.ToString(CultureInfo.InvariantCulture), "gradients on the path"),
            new("tolerance", DefaultTolerance.ToString(CultureInfo.InvariantCulture), $"completeness gap, as a fraction of the output difference, below which refinement stops (0: exactly {Terms.Option("steps")})"),
            new("max-steps", "4 × steps", "most gradients spent"),
        ]);
    public static readonly AttributionMethod SmoothGrad = new(SmoothGradName, "SmoothGrad", false, true,
        "mean |gradient| over 25 noisy copies (σ = 15% of the input's range)", []);
    public static readonly AttributionMethod Occlusion = new(OcclusionName, "Occlusion", false, false,
        "slide a patch set to 0 over the input (gradient-free: any model)",
        [
            new("patch", DefaultPatch.ToString(CultureInfo.InvariantCulture), "patch side in pixels"),
            new("stride", DefaultStride.ToString(CultureInfo.InvariantCulture), "step between patches in pixels"),
        ]);

    /// <summary>Every method, gradient-based first.</summary>
    public static IReadOnlyList<AttributionMethod> All { get; } = [GradCam, LayerCam, Saliency, GradientTimesInput, IntegratedGradients, SmoothGrad, Occlusion];

    /// <summary>Every method's name, in the order of <see cref="All"/>.</summary>
    public static IReadOnlyList<string> Names { get; } = All.Select(m => m.Name).ToArray();

    /// <summary>The method called <paramref name="name"/>, or null.</summary>
    public static AttributionMethod? Find(string name) => All.FirstOrDefault(m => m.Name == name);

    /// <summary>The method called <paramref name="name"/>.</summary>
    /// <exception cref="PerceptException">No such method (the message lists them).</exception>
    public static AttributionMethod Get(string name) => Find(name) ?? throw new PerceptException(UnknownMethod(name));

    /// <summary>The one-line message for a method name that is not in the registry.</summary>
    public static string UnknownMethod(string name) => $"unknown method '{name}' ({string.Join(", ", Names)})";

    /// <summary>The methods a model supports: all of them for a class-score model, occlusion alone otherwise.</summary>
    public static IReadOnlyList<AttributionMethod> For(bool classScores) => classScores ? All : [Occlusion];

    static bool IsCamLayer(LayerInfo l) => l.OpType is "Conv" or "ConvTranspose" && !l.ChannelsLast;

    /// <summary>The layers Grad-CAM and LayerCAM can read: convolutions with channels first, in graph order (the default last).</summary>
    public static IReadOnlyList<LayerInfo> CamLayers(OnnxModel model) => model.PerceptionLayers.Where(IsCamLayer).ToArray();

    /// <summary>The layer Grad-CAM and LayerCAM read: <paramref name="name"/> (a layer or tensor name), or the last convolution.</summary>
    /// <exception cref="PerceptException">Unknown layer, or a layer without spatial axes (the message suggests one).</exception>
    public static LayerInfo CamLayer(OnnxModel model, string? name)
    {
        var layers = CamLayers(model);
        var layer = name != null ? model.FindLayer(name)
            : (layers.Count > 0 ? layers[^1] : null) ?? throw new PerceptException($"the model has no convolution; name a layer with spatial axes with {Terms.Option("layer")}");
        if (layer.ChannelsLast || layer.OpType is "Gemm" or "MatMul")
        {
            var conv = layers.Count > 0 ? layers[^1] : null;
            throw new PerceptException($"layer '{layer.Name}' ({layer.OpType}) has no spatial axes; Grad-CAM needs a convolutional layer{(conv != null ? $" such as '{conv.Name}'" : "")}");
        }
        return layer;
    }
}
