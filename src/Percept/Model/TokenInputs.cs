using Google.Protobuf;
using Onnx;

namespace Percept.Model;

/// <summary>
/// The token-id inputs of a text model, made feedable as float: Percept's data path carries float32 samples, so a graph
/// input of int64 (or int32) token ids of rank 2 or more becomes a float input of the same name followed by a Cast back
/// to the integer type (ids are exact in float32 up to 2^24, far beyond any vocabulary). Companion inputs that tokenizers
/// derive from the ids are computed inside the graph, so the model takes the ids alone: an attention mask (a name with
/// "mask": 1 where the id is not the pad id, else 0), token type or segment ids (zeros) and position ids
/// (0, 1, … along the sequence). For one text a sample these are exactly what a tokenizer gives with the ids (its mask is
/// 1 on every id it did not pad, its type ids all 0), so a model fed the ids alone computes as if fed all three.
/// </summary>
internal static class TokenInputs
{
    /// <summary>The id that marks padding by default (BERT's and Percept's text fixtures' convention); a tokenizer names its own.</summary>
    public const long PadId = 0;

    static readonly HashSet<int> IntegerTypes = [(int)TensorProto.Types.DataType.Int64, (int)TensorProto.Types.DataType.Int32];

    enum Companion { Ids, Mask, Zeros, Positions }

    static Companion KindOf(string name)
    {
        string n = name.ToLowerInvariant();
        if (n.Contains("mask", StringComparison.Ordinal)) return Companion.Mask;
        if (n.Contains("type", StringComparison.Ordinal) || n.Contains("segment", StringComparison.Ordinal)) return Companion.Zeros;
        if (n.Contains("position", StringComparison.Ordinal)) return Companion.Positions;
        return Companion.Ids;
    }

    /// <summary>Rewrites <paramref name="proto"/> in place; returns the inputs that now take token ids as float.</summary>
    /// <param name="padId">The id that pads a sequence: the derived attention mask is 0 there.</param>
    /// <exception cref="PerceptException">Integer inputs Percept cannot tell apart (several that look like token ids).</exception>
    public static HashSet<string> Rewrite(ModelProto proto, long padId = PadId)
    {
        var g = proto.Graph;
        var initializers = g.Initializer.Select(i => i.Name).ToHashSet();
        var integer = g.Input.Where(i => !initializers.Contains(i.Name) && i.Type?.TensorType is { } t && IntegerTypes.Contains(t.ElemType)
                                         && t.Shape?.Dim.Count >= 2).ToList();
        var ids = integer.Where(i => KindOf(i.Name) == Companion.Ids).ToList();
        if (ids.Count == 0) return [];
        if (ids.Count > 1)
            throw new PerceptException($"model has several integer inputs that look like token ids ({string.Join(", ", ids.Select(i => i.Name))}); Percept feeds one");
        var input = ids[0];
        int type = input.Type.TensorType.ElemType;
        string cast = input.Name + "/percept.ids";
        foreach (var n in g.Node)
            for (int k = 0; k < n.Input.Count; k++)
                if (n.Input[k] == input.Name) n.Input[k] = cast;
        input.Type.TensorType.ElemType = (int)TensorProto.Types.DataType.Float;
        var front = new List<NodeProto> { Node("Cast", [input.Name], cast, ("to", type)) };

        foreach (var companion in integer.Where(i => i != input))
        {
            int ctype = companion.Type.TensorType.ElemType;
            string name = companion.Name;
            switch (KindOf(name))
            {
                case Companion.Mask:
                    string pad = name + "/percept.pad", equal = name + "/percept.is_pad", not = name + "/percept.not_pad";
                    front.Add(Constant(pad, type, padId));
                    front.Add(Node("Equal", [cast, pad], equal));
                    front.Add(Node("Not", [equal], not));
                    front.Add(Node("Cast", [not], name, ("to", ctype)));
                    break;
                case Companion.Zeros:
                    string shape = name + "/percept.shape";
                    front.Add(Node("Shape", [cast], shape));
                    front.Add(Node("ConstantOfShape", [shape], name, ("value", Scalar(ctype, 0))));
                    break;
                case Companion.Positions:
                    string s = name + "/percept.shape", last = name + "/percept.length", zero = name + "/percept.zero", one = name + "/percept.one",
                        range = name + "/percept.range", expanded = name + "/percept.expanded", lastIndex = name + "/percept.last";
                    front.Add(Node("Shape", [cast], s));
                    front.Add(Constant(lastIndex, (int)TensorProto.Types.DataType.Int64, -1));
                    front.Add(Node("Gather", [s, lastIndex], last));
                    front.Add(Constant(zero, (int)TensorProto.Types.DataType.Int64, 0));
                    front.Add(Constant(one, (int)TensorProto.Types.DataType.Int64, 1));
                    front.Add(Node("Range", [zero, last, one], range));
                    front.Add(Node("Expand", [range, s], expanded));
                    front.Add(Node("Cast", [expanded], name, ("to", ctype)));
                    break;
                default:
                    throw new PerceptException($"model input '{name}' takes integers too; Percept feeds the token ids of '{input.Name}' and derives masks, token types and positions");
            }
            g.Input.Remove(companion);
        }
        for (int k = front.Count - 1; k >= 0; k--) g.Node.Insert(0, front[k]);
        return [input.Name];
    }

    /// <summary>
    /// Makes each rank-3 float output <c>[N, tokens, D]</c> of a rewritten text model (a transformer's
    /// <c>last_hidden_state</c>: one vector a token) one vector a sample: the tokens' vectors averaged over the attention
    /// mask (the ids that are not <paramref name="padId"/>), as sentence-transformers pools them. The output keeps its
    /// name; the tokens' vectors are renamed <c>NAME/percept.tokens</c> and stay reachable by it.
    /// </summary>
    /// <returns>The outputs now pooled.</returns>
    public static IReadOnlyList<string> PoolTokenOutputs(ModelProto proto, string idsInput, long padId)
    {
        var g = proto.Graph;
        var pooled = new List<string>();
        long opset = proto.OpsetImport.Where(o => o.Domain is "" or "ai.onnx").Select(o => o.Version).DefaultIfEmpty(0).Max();
        int idsType = (int)TensorProto.Types.DataType.Int64;
        string ids = idsInput + "/percept.ids";
        foreach (var output in g.Output.ToList())
        {
            if (output.Type?.TensorType is not { ElemType: (int)TensorProto.Types.DataType.Float } t || t.Shape?.Dim.Count != 3) continue;
            if (g.Input.Any(i => i.Name == output.Name)) continue;
            string name = output.Name, tokens = name + "/percept.tokens";
            foreach (var n in g.Node)
            {
                for (int k = 0; k < n.Output.Count; k++) if (n.Output[k] == name) n.Output[k] = tokens;
                for (int k = 0; k < n.Input.Count; k++) if (n.Input[k] == name) n.Input[k] = tokens;
            }
            string p = name + "/percept.pool.";
            var nodes = new List<NodeProto>
            {
                Node("Cast", [ids], p + "ids", ("to", idsType)),
                Constant(p + "pad", idsType, padId),
                Node("Equal", [p + "ids", p + "pad"], p + "is_pad"),
                Node("Not", [p + "is_pad"], p + "keep_bool"),
                Node("Cast", [p + "keep_bool"], p + "keep", ("to", (int)TensorProto.Types.DataType.Float)),
            };
            // keep [N, T] → [N, T, 1]; Σ_t h·keep / max(Σ_t keep, 1): the mean over the tokens kept (an all-padding row stays 0).
            nodes.AddRange(opset >= 13
                ? [Node("Constant", [], p + "axis2", ("value", Axes(2))), Node("Unsqueeze", [p + "keep", p + "axis2"], p + "keep3"),
                   Node("Mul", [tokens, p + "keep3"], p + "kept"),
                   Node("Constant", [], p + "axis1", ("value", Axes(1))),
                   Node("ReduceSum", [p + "kept", p + "axis1"], p + "sum", ("keepdims", 0)),
                   Node("ReduceSum", [p + "keep3", p + "axis1"], p + "count", ("keepdims", 0))]
                : [Node("Unsqueeze", [p + "keep"], p + "keep3", ("axes", new long[] { 2 })),
                   Node("Mul", [tokens, p + "keep3"], p + "kept"),
                   Node("ReduceSum", [p + "kept"], p + "sum", ("axes", new long[] { 1 }), ("keepdims", 0)),
                   Node("ReduceSum", [p + "keep3"], p + "count", ("axes", new long[] { 1 }), ("keepdims", 0))]);
            nodes.Add(Node("Constant", [], p + "one", ("value", FloatScalar(1f))));
            nodes.Add(Node("Max", [p + "count", p + "one"], p + "divisor"));
            nodes.Add(Node("Div", [p + "sum", p + "divisor"], name));
            g.Node.AddRange(nodes);
            var dims = t.Shape.Dim;
            var shape = new TensorShapeProto();
            shape.Dim.Add(dims[0].Clone());
            shape.Dim.Add(dims[2].Clone());
            output.Type.TensorType.Shape = shape;
            pooled.Add(name);
        }
        return pooled;
    }

    static TensorProto Axes(long axis)
    {
        var t = new TensorProto { DataType = (int)TensorProto.Types.DataType.Int64 };
        t.Dims.Add(1);
        t.Int64Data.Add(axis);
        return t;
    }

    static TensorProto FloatScalar(float value)
    {
        var t = new TensorProto { DataType = (int)TensorProto.Types.DataType.Float };
        t.FloatData.Add(value);
        return t;
    }

    static NodeProto Node(string op, string[] inputs, string output, params (string Name, object Value)[] attributes)
    {
        var n = new NodeProto { OpType = op, Name = output };
        n.Input.AddRange(inputs);
        n.Output.Add(output);
        foreach (var (key, value) in attributes)
            n.Attribute.Add(value switch
            {
                int i => new AttributeProto { Name = key, Type = AttributeProto.Types.AttributeType.Int, I = i },
                long[] ints => Ints(key, ints),
                TensorProto t => new AttributeProto { Name = key, Type = AttributeProto.Types.AttributeType.Tensor, T = t },
                _ => throw new ArgumentException("attribute type"),
            });
        return n;
    }

    static AttributeProto Ints(string key, long[] values)
    {
        var a = new AttributeProto { Name = key, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    static NodeProto Constant(string output, int type, long value) => Node("Constant", [], output, ("value", Scalar(type, value, scalar: true)));

    static TensorProto Scalar(int type, long value, bool scalar = false)
    {
        var t = new TensorProto { DataType = type };
        if (!scalar) t.Dims.Add(1);
        t.RawData = type == (int)TensorProto.Types.DataType.Int32
            ? ByteString.CopyFrom(BitConverter.GetBytes((int)value))
            : ByteString.CopyFrom(BitConverter.GetBytes(value));
        return t;
    }
}

/// <summary>
/// The embedding lookup of a text model: the Gather that reads rows of a weight matrix at the token ids. Attribution for
/// token inputs is taken at its output (a float tensor <c>[N, tokens, Dimension]</c>), where gradients exist.
/// </summary>
/// <param name="Tensor">The lookup's output tensor.</param>
/// <param name="Node">The Gather node's name.</param>
/// <param name="VocabularySize">Rows of the embedding matrix.</param>
/// <param name="Dimension">Columns of the embedding matrix.</param>
public sealed record TokenEmbedding(string Tensor, string Node, int VocabularySize, int Dimension);
