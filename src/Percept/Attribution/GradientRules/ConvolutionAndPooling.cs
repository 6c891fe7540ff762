using Onnx;

namespace Percept.Attribution;

/// <summary>Convolutions and pooling. Each rule writes the gradient of a node's inputs from the gradient of its output.</summary>
partial class GradientBuilder
{
    static void RegisterConvolutionAndPooling(Dictionary<string, Rule> rules)
    {
        rules["Conv"] = (b, n, dy) => b.Conv(n, dy);
        rules["MaxPool"] = (b, n, dy) => b.MaxPool(n, dy);
        rules["GlobalAveragePool"] = (b, n, dy) => b.GlobalAveragePool(n, dy);
        rules["AveragePool"] = (b, n, dy) => b.AveragePool(n, dy);
        rules["ConvTranspose"] = (b, n, dy) => b.ConvTranspose(n, dy);
    }

    /// <summary>Conv with constant weights: the input gradient as a ConvTranspose, or as a flipped Conv where ONNX Runtime runs that faster.</summary>
    void Conv(NodeProto n, string dy)
    {
        string x = n.Input[0];
        string y = n.Output[0];
        if (Needs(n, 1)) throw Unsupported(n, "weights that depend on the input");
        if (Attr(n, "auto_pad") is { } ap && ap.S.ToStringUtf8() is not ("" or "NOTSET")) throw Unsupported(n, "auto_pad");
        var xs = _shapes[x]; var ys = _shapes[y]; var ws = _shapes.TryGetValue(n.Input[1], out var wsh) ? wsh : InitializerShape(n.Input[1]);
        int spatial = xs.Length - 2;
        var strides = AttrInts(n, "strides", Enumerable.Repeat(1L, spatial).ToArray());
        var dil = AttrInts(n, "dilations", Enumerable.Repeat(1L, spatial).ToArray());
        var pads = AttrInts(n, "pads", new long[2 * spatial]);
        var outPad = new long[spatial];
        for (int d = 0; d < spatial; d++)
            outPad[d] = xs[2 + d] - ((ys[2 + d] - 1) * strides[d] - pads[d] - pads[spatial + d] + dil[d] * (ws[2 + d] - 1) + 1);
        long group = AttrInt(n, "group", 1);
        if (FlippedConv(n, dy, ws, strides, dil, pads, outPad, group) is { } flipped) { Accumulate(x, flipped); return; }
        Accumulate(x, Emit("ConvTranspose", [dy, n.Input[1]],
            [Ints("strides", strides), Ints("dilations", dil), Ints("pads", pads), Int("group", group), Ints("output_padding", outPad)]));
    }

    /// <summary>MaxPool: MaxUnpool puts each window's gradient back where its maximum was (the pooling's own indices).</summary>
    void MaxPool(NodeProto n, string dy)
    {
        string x = n.Input[0];
        string y = n.Output[0];
        if (AttrInt(n, "storage_order", 0) != 0) throw Unsupported(n, "storage_order = 1");
        // MaxPool(Relu(z)): the Relu's mask at a window's maximum is (maximum > 0), so it is applied to the pooled
        // gradient (a quarter of the elements for 2×2 windows) and the Relu passes its gradient through.
        if (_producer.TryGetValue(x, out var relu) && relu.OpType == "Relu" && _consumers[x] == 1 && !_keep.Contains(x))
        {
            _premasked.Add(x);
            dy = Mask(dy, y);
        }
        string indices = n.Output.Count > 1 && n.Output[1].Length > 0 ? n.Output[1] : AddIndicesOutput(n);
        // MaxUnpool puts each output gradient back where its maximum came from (the pooling's own indices, which
        // count over the whole batch). With one forward sample and several gradient rows, row r's start is added.
        if (_shared)
        {
            long sampleSize = _shapes[x].Skip(1).Aggregate(1L, (a, b) => a * b);
            string rowStart = Emit("Reshape", [Emit("Mul", [RowIndex(), ConstLong([sampleSize])]),
                ConstLong([-1, .. Enumerable.Repeat(1L, _shapes[x].Length - 1)], _shapes[x].Length)]);
            indices = Emit("Add", [indices, rowStart]);
        }
        Accumulate(x, Unpool(n, dy, indices, GradShape(x)));
    }

    /// <summary>
    /// Each window's gradient added at the position of its maximum. MaxUnpool scatters, so where windows overlap (a 3×3
    /// window with stride 2, as in a ResNet's stem) a position that wins several windows would keep only one of their
    /// gradients. The output positions are therefore split into phases — along each axis, every P-th window, P the
    /// number of strides a window spans — whose windows never overlap; each phase is unpooled on its own and the phases
    /// are added. MaxUnpool is given the output shape and unit kernel and strides, so a ceil_mode pooling whose last
    /// windows run past the input is unpooled as well. Ties: ONNX Runtime's indices name a window's first maximum, as
    /// PyTorch's do.
    /// </summary>
    string Unpool(NodeProto n, string dy, string indices, string shape)
    {
        string x = n.Input[0], y = n.Output[0];
        int spatial = _shapes[x].Length - 2;
        var kernel = AttrInts(n, "kernel_shape", []);
        var strides = AttrInts(n, "strides", Enumerable.Repeat(1L, spatial).ToArray());
        var dilations = AttrInts(n, "dilations", Enumerable.Repeat(1L, spatial).ToArray());
        var phases = new long[spatial];
        for (int d = 0; d < spatial; d++)
        {
            long extent = (kernel[d] - 1) * dilations[d] + 1;
            // Phases only as many as there are output positions along the axis.
            phases[d] = Math.Min(Math.Max(1, (extent + strides[d] - 1) / strides[d]), _shapes[y][2 + d]);
        }
        AttributeProto[] unit = [Ints("kernel_shape", Enumerable.Repeat(1L, spatial)), Ints("strides", Enumerable.Repeat(1L, spatial)), Ints("pads", new long[2 * spatial])];
        if (phases.All(p => p == 1)) return Emit("MaxUnpool", [dy, indices, shape], unit);
        string? sum = null;
        long[] axes = [.. Enumerable.Range(2, spatial).Select(a => (long)a)];
        // Slice's constants only where Slice is used (a model of IR version 3 refuses initializers no node reads).
        string? axesConst = null, endsConst = null, stepsConst = null;
        if (Opset >= 10) (axesConst, endsConst, stepsConst) = (ConstLong(axes, spatial), ConstLong(Enumerable.Repeat(long.MaxValue, spatial).ToArray(), spatial), ConstLong(phases, spatial));
        long count = phases.Aggregate(1L, (a, b) => a * b);
        for (long k = 0; k < count; k++)
        {
            var start = new long[spatial];
            for (long rest = k, d = spatial - 1; d >= 0; d--) { start[d] = rest % phases[d]; rest /= phases[d]; }
            string? startsConst = Opset >= 10 ? ConstLong(start, spatial) : null;
            // Every P-th position from `start` along each spatial axis: a strided Slice, or before opset 10 (Slice has no
            // steps) a Gather of those positions per axis.
            string Phase(string t)
            {
                if (Opset >= 10) return Emit("Slice", [t, startsConst!, endsConst!, axesConst!, stepsConst!]);
                for (int d = 0; d < spatial; d++)
                {
                    long size = _shapes[y][2 + d];
                    var at = new List<long>();
                    for (long i = start[d]; i < size; i += phases[d]) at.Add(i);
                    t = Emit("Gather", [t, ConstLong([.. at], at.Count)], [Int("axis", 2 + d)]);
                }
                return t;
            }
            string part = Emit("MaxUnpool", [Phase(dy), Phase(indices), shape], unit);
            sum = sum == null ? part : Emit("Add", [sum, part]);
        }
        return sum!;
    }

    /// <summary>GlobalAveragePool: the gradient spread evenly over the spatial axes.</summary>
    void GlobalAveragePool(NodeProto n, string dy)
    {
        string x = n.Input[0];
        long area = _shapes[x].Skip(2).Aggregate(1L, (a, b) => a * b);
        Accumulate(x, Emit("Expand", [Emit("Mul", [dy, Const([1f / area])]), ShapeOf(x)]));
    }

    /// <summary>AveragePool with padding counted: a grouped ConvTranspose with a constant 1/area kernel.</summary>
    void AveragePool(NodeProto n, string dy)
    {
        string x = n.Input[0];
        string y = n.Output[0];
        var xs = _shapes[x]; var ys = _shapes[y];
        int spatial = xs.Length - 2;
        var kernel = AttrInts(n, "kernel_shape", []);
        var strides = AttrInts(n, "strides", Enumerable.Repeat(1L, spatial).ToArray());
        var pads = AttrInts(n, "pads", new long[2 * spatial]);
        if (pads.Any(v => v != 0) && AttrInt(n, "count_include_pad", 0) == 0) throw Unsupported(n, "padding that is not counted");
        if (Attr(n, "auto_pad") is { } ap && ap.S.ToStringUtf8() is not ("" or "NOTSET")) throw Unsupported(n, "auto_pad");
        long area = kernel.Aggregate(1L, (a, b) => a * b);
        long channels = xs[1];
        string w = Const(Enumerable.Repeat(1f / area, (int)(channels * area)).ToArray(), [channels, 1, .. kernel]);
        var outPad = new long[spatial];
        for (int d = 0; d < spatial; d++) outPad[d] = xs[2 + d] - ((ys[2 + d] - 1) * strides[d] - pads[d] - pads[spatial + d] + kernel[d]);
        Accumulate(x, Emit("ConvTranspose", [dy, w], [Ints("strides", strides), Ints("pads", pads), Int("group", channels), Ints("output_padding", outPad)]));
    }

    /// <summary>
    /// ConvTranspose with constant weights: the input gradient is a Conv of dy with the same weights (ConvTranspose's
    /// <c>[in, out/group, …]</c> layout is a Conv's <c>[out, in/group, …]</c> read the other way), strides, pads, dilations and groups.
    /// </summary>
    void ConvTranspose(NodeProto n, string dy)
    {
        if (Needs(n, 1)) throw Unsupported(n, "weights that depend on the input");
        if (Attr(n, "auto_pad") is { } ap && ap.S.ToStringUtf8() is not ("" or "NOTSET")) throw Unsupported(n, "auto_pad");
        if (Attr(n, "output_shape") != null) throw Unsupported(n, "output_shape");
        string x = n.Input[0];
        int spatial = _shapes[x].Length - 2;
        var strides = AttrInts(n, "strides", Enumerable.Repeat(1L, spatial).ToArray());
        var dilations = AttrInts(n, "dilations", Enumerable.Repeat(1L, spatial).ToArray());
        var pads = AttrInts(n, "pads", new long[2 * spatial]);
        long group = AttrInt(n, "group", 1);
        Accumulate(x, Emit("Conv", [dy, n.Input[1]], [Ints("strides", strides), Ints("dilations", dilations), Ints("pads", pads), Int("group", group)]));
    }
}
