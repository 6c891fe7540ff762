using Percept.Data;
using Percept.IO;
using Percept.Model;
using Percept.Perception;
using Percept.Store;

namespace Percept.Attribution;

/// <summary>
/// What makes two samples alike to the model (Fetch Similar): the cosine similarity of their perception vectors,
/// built exactly as the run built them (standardised, weighted, concatenated, projected), differentiated back through
/// the mean pooling of every perception layer to each sample's input, and shown as gradient × input.
/// </summary>
public static class Similarity
{
    /// <summary>
    /// Maps <c>[2, height, width]</c>: for sample <paramref name="a"/> (what in it resembles b) and for b; the cosine;
    /// and the two inputs averaged over channels (<c>[2, height, width]</c>), to draw the maps on.
    /// </summary>
    public static (AttributionResult Maps, float Cosine, float[] Inputs) Explain(Run run, int a, int b)
    {
        var m = run.Manifest;
        if (a < 0 || a >= run.Count || b < 0 || b >= run.Count)
            throw new PerceptException($"samples {a} and {b} must be between 0 and {run.Count - 1}");
        if (m.Perception.Pooling != "mean") throw new PerceptException("similarity maps need a run made with mean pooling");
        var model = OnnxModel.Load(m.Model.Path);
        var input = model.SelectInput(m.Model.Input);
        var (dataset, pre) = run.OpenData();
        using var datasetScope = dataset;
        var layers = m.Perception.Layers;
        var tensors = layers.Select(l => l.Tensor).Distinct().ToArray();
        using var graph = GradientGraph.Build(model, input, pre.InputShape, m.Model.Output, [], tensors);
        var embedding = run.ReadMatrix("embedding", out _, out int width);
        var va = embedding.AsSpan(a * width, width).ToArray();
        var vb = embedding.AsSpan(b * width, width).ToArray();
        float cosine = Cosine(va, vb);
        var xa = ReadInput(dataset, pre, a);
        var xb = ReadInput(dataset, pre, b);
        var (h, w) = pre.InputShape.Length == 1 ? (1, pre.InputShape[0]) : (Data.Preprocessor.ImageAxes(pre.InputShape, Data.InputLayout.Auto).H, Data.Preprocessor.ImageAxes(pre.InputShape, Data.InputLayout.Auto).W);
        var maps = new float[2 * h * w];
        Attribute(graph, model, run, layers, tensors, xa, va, vb, cosine, maps.AsSpan(0, h * w), pre.InputShape);
        Attribute(graph, model, run, layers, tensors, xb, vb, va, cosine, maps.AsSpan(h * w, h * w), pre.InputShape);
        var targets = new[] { new AttributionTarget("similarity", a), new AttributionTarget("similarity", b) };
        var gray = new float[2 * h * w];
        var (ch, _, _, first) = pre.InputShape.Length == 1 ? (1, 1, pre.InputShape[0], true) : Data.Preprocessor.ImageAxes(pre.InputShape, Data.InputLayout.Auto);
        for (int k = 0; k < 2; k++)
            for (int pix = 0; pix < h * w; pix++)
            {
                var xs = k == 0 ? xa : xb;
                float v = 0;
                for (int c = 0; c < ch; c++) v += xs[first ? c * h * w + pix : pix * ch + c];
                gray[k * h * w + pix] = v / ch;
            }
        return (new AttributionResult(maps, h, w, targets, [cosine, cosine]), cosine, gray);
    }

    static float Cosine(float[] x, float[] y)
    {
        double dot = 0, nx = 0, ny = 0;
        for (int i = 0; i < x.Length; i++) { dot += x[i] * y[i]; nx += x[i] * x[i]; ny += y[i] * y[i]; }
        return (float)(dot / Math.Sqrt(Math.Max(nx * ny, 1e-300)));
    }

    static float[] ReadInput(Data.IDataset dataset, Data.Preprocessor pre, int index)
    {
        var (raw, _, _) = dataset.ReadSample(index);
        var x = new float[pre.InputLength];
        pre.Apply(raw, raw.Length, 1, x);
        return x;
    }

    /// <summary>Gradient × input of cos(v_self, v_other) with respect to this sample's input, summed over channels.</summary>
    static void Attribute(GradientGraph graph, OnnxModel model, Run run, IReadOnlyList<RunManifest.LayerEntry> layers, string[] tensors,
        float[] x, float[] self, float[] other, float cosine, Span<float> map, int[] inputShape)
    {
        // ∂cos/∂v = other/(|v||o|) − cos · v/|v|².
        double ns = Math.Sqrt(self.Sum(v => (double)v * v)), no = Math.Sqrt(other.Sum(v => (double)v * v));
        var dv = new float[self.Length];
        for (int i = 0; i < dv.Length; i++) dv[i] = (float)(other[i] / Math.Max(ns * no, 1e-300) - cosine * self[i] / Math.Max(ns * ns, 1e-300));
        var p = run.Manifest.Perception;
        var dz = dv;
        if (p.Projected)
        {
            dz = new float[p.ConcatenatedWidth];
            new SparseRandomProjection(p.ConcatenatedWidth, p.Width, p.Seed).ProjectTranspose(dv, dz);
        }
        var seeds = graph.ExtraSeeds.Select(s => new float[s.Shape.Aggregate(1L, (q, r) => q * r)]).ToArray();
        int offset = 0;
        foreach (var layer in layers)
        {
            var stats = Npy.ReadFloat32(run.PathOf(layer.StatsFile), out _);
            int e = Array.IndexOf(tensors, layer.Tensor);
            var shape = graph.ExtraSeeds[e].Shape;
            bool channelsLast = model.FindLayer(layer.Name).ChannelsLast;
            int channels = layer.Width;
            long perSample = shape.Aggregate(1L, (q, r) => q * r);
            int spatial = (int)(perSample / channels);
            for (int c = 0; c < channels; c++)
            {
                float std = stats[channels + c];
                float g = std > PerceptionVectorBuilder.ConstantFeatureStd ? dz[offset + c] * layer.Weight / std / spatial : 0f;
                for (int s = 0; s < spatial; s++) seeds[e][channelsLast ? s * channels + c : c * spatial + s] += g;
            }
            offset += channels;
        }
        var grad = graph.Run((float[])x.Clone(), new float[graph.OutputShape.Aggregate(1L, (q, r) => q * r)], 1, seeds).InputGradient;
        var (ch, h, w, first) = inputShape.Length == 1 ? (1, 1, inputShape[0], true) : Data.Preprocessor.ImageAxes(inputShape, Data.InputLayout.Auto);
        int plane = h * w;
        for (int pix = 0; pix < plane; pix++)
        {
            float v = 0;
            for (int c = 0; c < ch; c++) { int i = first ? c * plane + pix : pix * ch + c; v += grad[i] * x[i]; }
            map[pix] = v;
        }
    }
}
