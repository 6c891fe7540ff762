using System.Text;
using Onnx;

namespace Percept.Attribution;

/// <summary>
/// Resize, Einsum and GroupNormalization: operators whose gradient is a fixed linear map (Resize), another Einsum, or the
/// normalisation gradient over each group. Each rule writes the gradient of a node's inputs from the gradient of its output.
/// </summary>
partial class GradientBuilder
{
    static void RegisterResampling(Dictionary<string, Rule> rules)
    {
        rules["Resize"] = (b, n, dy) => b.Resize(n, dy);
        rules["Upsample"] = (b, n, dy) => b.Resize(n, dy);
        rules["Einsum"] = (b, n, dy) => b.Einsum(n, dy);
        rules["GroupNormalization"] = (b, n, dy) => b.GroupNormalization(n, dy);
    }

    /// <summary>
    /// Resize (and the older Upsample) in nearest or linear mode over the last one or two axes: for fixed shapes it is
    /// y = R_h·x·R_wᵀ, so dx = R_hᵀ·dy·R_w, with the interpolation matrices R written as constants from the operator's
    /// coordinate transformation and rounding (every output position's weights on the input positions, which add up
    /// where several outputs read one input).
    /// </summary>
    void Resize(NodeProto n, string dy)
    {
        string x = n.Input[0], y = n.Output[0];
        long[] sx = _shapes[x], sy = _shapes[y];
        string mode = AttrString(n, "mode", "nearest");
        if (mode is not ("nearest" or "linear" or "bilinear")) throw Unsupported(n, $"mode '{mode}'");
        string transform = n.OpType == "Upsample" || Opset < 11 ? "asymmetric" : AttrString(n, "coordinate_transformation_mode", "half_pixel");
        if (transform is not ("half_pixel" or "pytorch_half_pixel" or "align_corners" or "asymmetric")) throw Unsupported(n, $"coordinate_transformation_mode '{transform}'");
        if (AttrInt(n, "antialias", 0) != 0) throw Unsupported(n, "antialias");
        if (Attr(n, "axes") != null) throw Unsupported(n, "axes");
        string rounding = AttrString(n, "nearest_mode", "round_prefer_floor");
        // The scales given, when they are: the coordinate transformation uses them rather than the ratio of the sizes.
        int scalesInput = n.OpType == "Upsample" || Opset < 11 ? 1 : 2;
        float[]? scales = n.Input.Count > scalesInput && n.Input[scalesInput].Length > 0 ? ConstantFloats(n.Input[scalesInput], out _) : null;
        if (scales is { Length: 0 }) scales = null;
        int rank = sx.Length;
        for (int a = 0; a < rank - 2; a++)
            if (sx[a] != sy[a] && a > 0) throw Unsupported(n, $"resizing axis {a} (only the last two axes are resized)");
        string g = dy;
        // The last axis: dx = dy·R_w.
        if (sx[^1] != sy[^1] || (scales != null && scales[^1] != 1f))
            g = Emit("MatMul", [g, Const(InterpolationMatrix(sx[^1], sy[^1], scales?[^1], mode, transform, rounding), sy[^1], sx[^1])]);
        // The second to last: dx = R_hᵀ·dy.
        if (rank >= 2 && (sx[^2] != sy[^2] || (scales != null && scales[^2] != 1f)))
        {
            var r = InterpolationMatrix(sx[^2], sy[^2], scales?[^2], mode, transform, rounding);
            long rows = sy[^2], columns = sx[^2];
            var t = new float[r.Length];
            for (long i = 0; i < rows; i++) for (long j = 0; j < columns; j++) t[j * rows + i] = r[i * columns + j];
            g = Emit("MatMul", [Const(t, columns, rows), g]);
        }
        Accumulate(x, g);
    }

    /// <summary>
    /// The <c>[out, in]</c> matrix of one axis of Resize: row o holds the weights of the input positions that output
    /// position o reads (one 1 for nearest, two weights for linear), as the ONNX operator defines them.
    /// </summary>
    internal static float[] InterpolationMatrix(long inLength, long outLength, float? givenScale, string mode, string transform, string rounding)
    {
        double scale = givenScale ?? (double)outLength / inLength;
        var m = new float[outLength * inLength];
        for (long o = 0; o < outLength; o++)
        {
            double original = transform switch
            {
                "half_pixel" => (o + 0.5) / scale - 0.5,
                "pytorch_half_pixel" => outLength > 1 ? (o + 0.5) / scale - 0.5 : 0,
                "align_corners" => outLength > 1 ? o * (double)(inLength - 1) / (outLength - 1) : 0,
                _ => o / scale,
            };
            if (mode == "nearest")
            {
                double fraction = original - Math.Floor(original);
                long i = rounding switch
                {
                    "floor" => (long)Math.Floor(original),
                    "ceil" => (long)Math.Ceiling(original),
                    "round_prefer_ceil" => fraction == 0.5 ? (long)Math.Ceiling(original) : (long)Math.Round(original, MidpointRounding.AwayFromZero),
                    _ => fraction == 0.5 ? (long)Math.Floor(original) : (long)Math.Round(original, MidpointRounding.AwayFromZero),
                };
                m[o * inLength + Math.Clamp(i, 0, inLength - 1)] += 1;
            }
            else
            {
                double c = Math.Clamp(original, 0, inLength - 1);
                long lo = (long)Math.Floor(c), hi = Math.Min(lo + 1, inLength - 1);
                double w = c - lo;
                m[o * inLength + lo] += (float)(1 - w);
                m[o * inLength + hi] += (float)w;
            }
        }
        return m;
    }

    static string AttrString(NodeProto n, string name, string fallback) => Attr(n, name) is { } a ? a.S.ToStringUtf8() : fallback;

    /// <summary>
    /// Einsum of one or two operands without ellipses or repeated letters within an operand: the gradient of operand k is
    /// the Einsum of the output's gradient with the other operand into k's letters. A letter of k found in neither the
    /// output nor the other operand (a sum over k alone) is not supported.
    /// </summary>
    void Einsum(NodeProto n, string dy)
    {
        string equation = AttrString(n, "equation", "").Replace(" ", "", StringComparison.Ordinal);
        if (equation.Contains("...", StringComparison.Ordinal)) throw Unsupported(n, "an ellipsis in the equation");
        var sides = equation.Split("->");
        var operands = sides[0].Split(',');
        if (operands.Length != n.Input.Count || operands.Length > 2) throw Unsupported(n, $"equation '{equation}'");
        string output = sides.Length > 1 ? sides[1]
            : new string([.. sides[0].Replace(",", "", StringComparison.Ordinal).GroupBy(c => c).Where(g => g.Count() == 1).Select(g => g.Key).Order()]);
        if (operands.Append(output).Any(o => o.Distinct().Count() != o.Length)) throw Unsupported(n, $"a letter repeated within one operand ('{equation}')");
        for (int k = 0; k < operands.Length; k++)
        {
            if (!Needs(n, k)) continue;
            string other = operands.Length == 2 ? operands[1 - k] : "";
            if (operands[k].Any(c => !output.Contains(c) && !other.Contains(c))) throw Unsupported(n, $"operand {k} summed over a letter of its own ('{equation}')");
            var spec = new StringBuilder(output);
            var inputs = new List<string> { dy };
            if (other.Length > 0) { spec.Append(',').Append(other); inputs.Add(n.Input[1 - k]); }
            spec.Append("->").Append(operands[k]);
            Accumulate(n.Input[k], Emit("Einsum", [.. inputs], [Str("equation", spec.ToString())]));
        }
    }

    /// <summary>
    /// GroupNormalization (opset 18 and 21): the channels of each sample normalised in groups, then scaled per channel
    /// (per group at opset 18): the normalisation gradient over each group of g = dy·scale, in the grouped layout.
    /// </summary>
    void GroupNormalization(NodeProto n, string dy)
    {
        if (n.Input.Skip(1).Any(_requires.Contains)) throw Unsupported(n, "a scale or bias that depends on the input");
        string x = n.Input[0];
        long[] sx = _shapes[x];
        long channels = sx[1], groups = AttrInt(n, "num_groups", 1);
        var given = ConstantFloats(n.Input[1], out _) ?? throw Unsupported(n, "a computed scale");
        // Opset 18 gives one scale per group; 21 one per channel.
        var scale = given.Length == channels ? given : Enumerable.Range(0, (int)channels).Select(c => given[(int)(c / (channels / groups))]).ToArray();
        string g = Emit("Mul", [dy, Const(scale, [1, channels, .. Enumerable.Repeat(1L, sx.Length - 2)])]);
        string Grouped(string t) => Emit("Reshape", [t, ConstLong([0, groups, -1], 3)]);
        string inner = NormalizedGradient(Grouped(x), Grouped(g), Const([1f]), [2], AttrFloat(n, "epsilon", 1e-5f));
        Accumulate(x, Emit("Reshape", [inner, ShapeOf(dy)]));
    }
}
