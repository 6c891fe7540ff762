using Percept.Perception;

namespace Percept.Attribution;

/// <summary>Gradient-based heat maps on top of <see cref="GradientGraph"/>: saliency, gradient × input, integrated
/// gradients, SmoothGrad, Grad-CAM and LayerCAM. Every method batches its targets (and steps) into one run.</summary>
public static class GradientMethods
{
    /// <summary>∂target/∂output for one sample: a one-hot row for a class, softmax − one-hot(label) for the loss on logits.</summary>
    public static float[] Seed(AttributionTarget target, ReadOnlySpan<float> output, bool isProbability)
    {
        var seed = new float[output.Length];
        if (target.Kind != "loss") { seed[target.Class] = 1; return seed; }
        if (isProbability) { seed[target.Class] = -1f / MathF.Max(output[target.Class], ClassScores.MinProbability); return seed; }
        var p = new float[output.Length];
        ClassScores.Compute(output, false, target.Class, p);
        for (int c = 0; c < p.Length; c++) seed[c] = p[c] - (c == target.Class ? 1 : 0);
        return seed;
    }

    /// <summary>Output of one sample (one forward pass through the gradient graph with a zero seed).</summary>
    public static float[] Forward(GradientGraph graph, float[] x)
    {
        var seeds = new float[graph.OutputShape.Aggregate(1L, (a, b) => a * b)];
        return graph.Run((float[])x.Clone(), seeds, 1).Output;
    }

    /// <summary>One copy of the sample per target, with that target's seed: one batched run answers them all.</summary>
    static (float[] Inputs, float[] Seeds) PerTarget(float[] x, IReadOnlyList<AttributionTarget> targets, float[] output, bool isProbability)
    {
        int t = targets.Count, len = x.Length, classes = output.Length;
        var inputs = new float[t * len];
        var seeds = new float[t * classes];
        for (int k = 0; k < t; k++)
        {
            x.CopyTo(inputs, k * len);
            Seed(targets[k], output, isProbability).CopyTo(seeds, k * classes);
        }
        return (inputs, seeds);
    }

    /// <summary>Input gradients for each target: <c>[targets, input length]</c>.</summary>
    public static float[] InputGradients(GradientGraph graph, float[] x, IReadOnlyList<AttributionTarget> targets, float[] output, bool isProbability)
    {
        var (inputs, seeds) = PerTarget(x, targets, output, isProbability);
        return graph.Run(inputs, seeds, targets.Count).InputGradient;
    }

    /// <summary>
    /// Integrated gradients from a zero baseline with <paramref name="steps"/> midpoint steps (the Riemann rule, robust to the kinks of ReLU networks), batched; returns the
    /// attributions per target and, per target, the completeness gap (Σ attributions − (F(x) − F(0))).
    /// </summary>
    public static (float[] Attributions, double[] Gap, double[] Difference) IntegratedGradients(GradientGraph graph, float[] x,
        IReadOnlyList<AttributionTarget> targets, bool isProbability, int steps = 64)
    {
        int len = x.Length;
        var result = new float[targets.Count * len];
        var gap = new double[targets.Count];
        var diff = new double[targets.Count];
        var zero = new float[len];
        var outX = Forward(graph, x);
        var outZero = Forward(graph, zero);
        int classes = outX.Length;
        for (int k = 0; k < targets.Count; k++)
        {
            var inputs = new float[steps * len];
            var seeds = new float[steps * classes];
            for (int s = 0; s < steps; s++)
            {
                float alpha = (s + 0.5f) / steps;
                for (int i = 0; i < len; i++) inputs[s * len + i] = alpha * x[i];
            }
            // Each step needs its own seed: the loss's gradient depends on that step's output.
            var stepOutputs = targets[k].Kind == "loss" ? graph.Run((float[])inputs.Clone(), seeds, steps).Output : null;
            for (int s = 0; s < steps; s++)
                Seed(targets[k], stepOutputs != null ? stepOutputs.AsSpan(s * classes, classes) : outX, isProbability).CopyTo(seeds, s * classes);
            var grads = graph.Run(inputs, seeds, steps).InputGradient;
            double sum = 0;
            for (int i = 0; i < len; i++)
            {
                double g = 0;
                for (int s = 0; s < steps; s++) g += grads[s * len + i];
                float a = (float)(x[i] * g / steps);
                result[k * len + i] = a;
                sum += a;
            }
            double f(float[] o) => targets[k].Kind == "loss" ? ClassScores.Compute(o, isProbability, targets[k].Class, new float[classes]).Loss : o[targets[k].Class];
            diff[k] = f(outX) - f(outZero);
            gap[k] = sum - diff[k];
        }
        return (result, gap, diff);
    }

    /// <summary>SmoothGrad: the mean input gradient over noisy copies (σ = <paramref name="noise"/> × the input's range).</summary>
    public static float[] SmoothGrad(GradientGraph graph, float[] x, IReadOnlyList<AttributionTarget> targets, float[] output, bool isProbability,
        int samples = 25, float noise = 0.15f, ulong seed = 0)
    {
        int len = x.Length;
        float sigma = noise * (x.Max() - x.Min());
        var rng = new Random((int)seed);
        var sum = new double[targets.Count * len];
        for (int s = 0; s < samples; s++)
        {
            var noisy = x.Select(v => v + sigma * (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()))).ToArray();
            var g = InputGradients(graph, noisy, targets, output, isProbability);
            for (int i = 0; i < g.Length; i++) sum[i] += g[i];
        }
        return sum.Select(v => (float)(v / samples)).ToArray();
    }

    /// <summary>
    /// Grad-CAM (Selvaraju et al.): ReLU(Σ_c mean(∂target/∂A_c) · A_c), or LayerCAM (Jiang et al.):
    /// ReLU(Σ_c ReLU(∂target/∂A_c) ⊙ A_c), at the layer's own grid: <c>[targets, h, w]</c>.
    /// </summary>
    public static (float[] Maps, int Height, int Width) Cam(GradientGraph graph, float[] x, IReadOnlyList<AttributionTarget> targets, float[] output,
        bool isProbability, bool layerCam)
    {
        int t = targets.Count;
        var (inputs, seeds) = PerTarget(x, targets, output, isProbability);
        var (a, shape, g) = graph.Run(inputs, seeds, t).Activations[0];
        if (shape.Length != 4) throw new PerceptException($"Grad-CAM needs a layer with two spatial axes; this one has shape [{string.Join(", ", shape)}]");
        int c = (int)shape[1], h = (int)shape[2], w = (int)shape[3], plane = h * w;
        var maps = new float[t * plane];
        for (int k = 0; k < t; k++)
        {
            var cam = new double[plane];
            for (int ch = 0; ch < c; ch++)
            {
                int o = (k * c + ch) * plane;
                double alpha = 0;
                if (!layerCam) { for (int p = 0; p < plane; p++) alpha += g[o + p]; alpha /= plane; }
                for (int p = 0; p < plane; p++) cam[p] += (layerCam ? Math.Max(0, g[o + p]) : alpha) * a[o + p];
            }
            for (int p = 0; p < plane; p++) maps[k * plane + p] = (float)Math.Max(0, cam[p]);
        }
        return (maps, h, w);
    }

    /// <summary>Bilinear resize of <c>[count, h, w]</c> maps to <c>[count, H, W]</c> (align-corners off, as image resizing).</summary>
    public static float[] Resize(float[] maps, int count, int h, int w, int height, int width)
    {
        var result = new float[count * height * width];
        for (int k = 0; k < count; k++)
            for (int y = 0; y < height; y++)
            {
                float sy = Math.Clamp((y + 0.5f) * h / height - 0.5f, 0, h - 1);
                int y0 = (int)sy, y1 = Math.Min(h - 1, y0 + 1);
                float fy = sy - y0;
                for (int xx = 0; xx < width; xx++)
                {
                    float sx = Math.Clamp((xx + 0.5f) * w / width - 0.5f, 0, w - 1);
                    int x0 = (int)sx, x1 = Math.Min(w - 1, x0 + 1);
                    float fx = sx - x0;
                    int o = k * h * w;
                    float top = maps[o + y0 * w + x0] * (1 - fx) + maps[o + y0 * w + x1] * fx;
                    float bottom = maps[o + y1 * w + x0] * (1 - fx) + maps[o + y1 * w + x1] * fx;
                    result[(k * height + y) * width + xx] = top * (1 - fy) + bottom * fy;
                }
            }
        return result;
    }
}
