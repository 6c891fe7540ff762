using Google.Protobuf;
using Onnx;

namespace Percept.Model;

public sealed partial class OnnxModel
{
    /// <summary>
    /// Serialises a copy of the model whose graph also outputs the given tensors; a fetch with pooling gets a
    /// GlobalAveragePool or GlobalMaxPool node on its tensor, so ONNX Runtime reduces the activation inside the graph
    /// and hands back only <c>[N, C, 1, …]</c>. ONNX Runtime infers the added outputs' types.
    /// </summary>
    public byte[] WithOutputs(IEnumerable<Fetch> fetches)
    {
        var copy = _proto.Clone();
        var existing = copy.Graph.Output.Select(o => o.Name).ToHashSet();
        foreach (var f in fetches)
        {
            if (!existing.Add(f.OutputName)) continue;
            if (f.Pooling != GraphPooling.None)
            {
                var node = new NodeProto { OpType = f.Pooling == GraphPooling.GlobalAverage ? "GlobalAveragePool" : "GlobalMaxPool", Name = f.OutputName };
                node.Input.Add(f.Tensor);
                node.Output.Add(f.OutputName);
                copy.Graph.Node.Add(node);
            }
            copy.Graph.Output.Add(new ValueInfoProto { Name = f.OutputName });
        }
        return copy.ToByteArray();
    }

    /// <summary>
    /// Shape of every node output (and of the input) for one sample, batch axis 1, from one run of a zero input with
    /// every node output exposed.
    /// </summary>
    public Dictionary<string, long[]> ProbeShapes(ModelInput input, int[] sampleShape)
    {
        var names = AllNodeOutputs.Distinct().ToList();
        using var runner = new ModelRunner(this, input, sampleShape, names.Select(n => new Fetch(n)).ToArray());
        var x = new float[(runner.FixedBatch ?? 1) * sampleShape.Aggregate(1, (a, b) => a * b)];
        using var r = runner.Run(x, 1);
        var shapes = new Dictionary<string, long[]> { [input.Name] = [1, .. sampleShape.Select(d => (long)d)] };
        for (int i = 0; i < names.Count; i++) shapes[names[i]] = r[i].GetTensorTypeAndShape().Shape;
        return shapes;
    }

    /// <summary>
    /// The values of integer tensors (such as the bounds of a Slice computed from a tensor's shape) on a zero input, kept
    /// only where they are the same for one sample and for two, so that they hold for any batch.
    /// </summary>
    public Dictionary<string, long[]> ProbeIntegers(ModelInput input, int[] sampleShape, IReadOnlyCollection<string> tensors)
    {
        var values = new Dictionary<string, long[]>(StringComparer.Ordinal);
        if (tensors.Count == 0) return values;
        var names = tensors.ToList();
        using var runner = new ModelRunner(this, input, sampleShape, names.Select(n => new Fetch(n)).ToArray());
        int length = sampleShape.Aggregate(1, (a, b) => a * b);
        long[]?[] Run(int count)
        {
            var x = new float[(runner.FixedBatch ?? count) * length];
            using var r = runner.Run(x, runner.FixedBatch ?? count);
            return names.Select((_, i) => r[i].GetTensorTypeAndShape().ElementDataType == Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Int64
                ? r[i].GetTensorDataAsSpan<long>().ToArray() : null).ToArray();
        }
        var one = Run(1);
        var two = runner.FixedBatch == null ? Run(2) : one;
        for (int i = 0; i < names.Count; i++)
            if (one[i] is { } a && two[i] is { } b && a.AsSpan().SequenceEqual(b)) values[names[i]] = a;
        return values;
    }

    /// <summary>
    /// The batch axis of each of <paramref name="tensors"/>: the axis whose size follows the number of samples, from runs of
    /// one and two zero samples (−1: no axis does). Sequence-first layers (attention inside a Transformer exported by
    /// PyTorch) keep the batch on axis 1. Empty when the model's batch size is fixed.
    /// </summary>
    public Dictionary<string, int> BatchAxes(ModelInput input, int[] sampleShape, IReadOnlyList<string> tensors)
    {
        var axes = new Dictionary<string, int>(StringComparer.Ordinal);
        // A model whose batch size is fixed has nothing to probe (and a session spared: a second copy of its weights).
        if (tensors.Count == 0 || input.Shape[0] > 0) return axes;
        using var runner = new ModelRunner(this, input, sampleShape, tensors.Select(t => new Fetch(t)).ToArray());
        int length = sampleShape.Aggregate(1, (a, b) => a * b);
        long[][] Shapes(int count)
        {
            using var r = runner.Run(new float[count * length], count);
            return tensors.Select((_, i) => r[i].GetTensorTypeAndShape().Shape).ToArray();
        }
        var one = Shapes(1);
        var two = Shapes(2);
        for (int i = 0; i < tensors.Count; i++)
        {
            int axis = -1;
            for (int a = 0; a < Math.Min(one[i].Length, two[i].Length) && axis < 0; a++)
                if (one[i][a] == 1 && two[i][a] == 2) axis = a;
            axes[tensors[i]] = axis;
        }
        return axes;
    }
}
