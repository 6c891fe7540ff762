namespace Percept.Model;

/// <summary>A graph input of a model: its name, element type and shape (-1 marks a free axis).</summary>
/// <param name="IsTokenIds">The model takes integer token ids here; Percept feeds them as float and the graph casts them back (<see cref="TokenInputs"/>).</param>
public sealed record ModelInput(string Name, string ElementType, long[] Shape, bool IsTokenIds = false)
{
    public string ShapeText => "[" + string.Join(", ", Shape.Select(d => d < 0 ? "?" : d.ToString())) + "]";
}

/// <summary>How a fetched tensor is reduced inside the graph before ONNX Runtime returns it.</summary>
public enum GraphPooling { None, GlobalAverage, GlobalMax }

/// <summary>A tensor to fetch from a model run, optionally pooled over its spatial axes inside the graph.</summary>
public sealed record Fetch(string Tensor, GraphPooling Pooling = GraphPooling.None)
{
    /// <summary>Name of the graph output that carries the fetched value.</summary>
    public string OutputName => Pooling == GraphPooling.None ? Tensor : $"percept/{Pooling}/{Tensor}";
}

/// <summary>One node of the graph as Percept shows it.</summary>
/// <param name="Name">Short, unique name (<c>conv1</c> for a node called <c>/conv1/Conv</c>); what <c>--layers</c> takes.</param>
/// <param name="NodeName">The node's name in the ONNX graph.</param>
/// <param name="OpType">ONNX operator.</param>
/// <param name="Output">The node's first output tensor.</param>
/// <param name="ParameterCount">Elements of the initializers the node consumes (weights, biases).</param>
/// <param name="ActivationTensor">For layers with learned parameters: the tensor Percept records, after the following nonlinearity where there is one.</param>
/// <param name="ChannelsLast">The recorded tensor has its channel (feature) axis last (MatMul/Gemm) rather than second (Conv).</param>
public sealed record LayerInfo(string Name, string NodeName, string OpType, string Output, long ParameterCount,
    string? ActivationTensor, bool ChannelsLast)
{
    /// <summary>Whether Percept records this layer in perception vectors by default.</summary>
    public bool IsPerceptionLayer => ActivationTensor != null;
}
