using Percept.Model;

namespace Percept.Attribution;

/// <summary>
/// The gradient graphs of one model and input shape, each built on first use and kept: one for input gradients, one per
/// Grad-CAM layer (which stops at its layer). Not thread-safe; <see cref="RunExplainer"/> serves one request at a time.
/// </summary>
internal sealed class GradientGraphs(OnnxModel model, ModelInput input, string output, int[] inputShape) : IDisposable
{
    readonly Dictionary<string, GradientGraph> _layers = [];
    GradientGraph? _input, _targets;

    public OnnxModel Model => model;
    public int[] InputShape => inputShape;

    /// <summary>For a model that takes token ids: its embedding lookup, where the graphs take their gradients.</summary>
    public TokenEmbedding? Embedding { get; } = model.FindTokenEmbedding(input);

    /// <summary>The token ids of the sample being explained (graphs over an embedding output read them); set per sample.</summary>
    public float[]? Tokens { get; set; }

    GradientGraph WithTokens(GradientGraph graph) { graph.Tokens = Tokens; return graph; }

    /// <summary>The graph that returns the gradient with respect to the input, for batches of different inputs (integrated gradients).</summary>
    public GradientGraph Input => WithTokens(_input ??= GradientGraph.Build(model, input, inputShape, output, []));

    /// <summary>The graph that returns the input gradients of several targets of one sample from its one forward pass (saliency and kin).</summary>
    public GradientGraph Targets => WithTokens(_targets ??= GradientGraph.Build(model, input, inputShape, output, [], sharedForward: true));

    /// <summary>The graph that returns the value and gradient of <paramref name="tensor"/> and stops there, for the targets of one sample.</summary>
    public GradientGraph Layer(string tensor)
    {
        if (!_layers.TryGetValue(tensor, out var graph))
            _layers[tensor] = graph = GradientGraph.Build(model, input, inputShape, output, [tensor], inputGradient: false, sharedForward: true);
        return WithTokens(graph);
    }

    public void Dispose()
    {
        _input?.Dispose();
        _targets?.Dispose();
        foreach (var g in _layers.Values) g.Dispose();
    }
}
