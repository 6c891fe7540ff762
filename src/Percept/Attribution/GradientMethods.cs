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

    /// <summary>Output of one sample (a forward pass through the gradient graph's forward part).</summary>
    public static float[] Forward(GradientGraph graph, float[] x) => graph.Forward((float[])x.Clone(), 1);

    /// <summary>
    /// One run for all targets of a sample, a seed row per target: the sample's one forward pass serves every row where the
    /// graph allows it (<see cref="GradientGraph.SharedForward"/>), else one copy of the sample per target.
    /// </summary>
    static GradientResult RunTargets(GradientGraph graph, float[] x, IReadOnlyList<AttributionTarget> targets, float[] output, bool isProbability)
    {
        int t = targets.Count, len = x.Length, classes = output.Length;
        var seeds = new float[t * classes];
        for (int k = 0; k < t; k++) Seed(targets[k], output, isProbability).CopyTo(seeds, k * classes);
        if (graph.SharedForward) return graph.Run((float[])x.Clone(), seeds, 1, seedRows: t);
        var inputs = new float[t * len];
        for (int k = 0; k < t; k++) x.CopyTo(inputs, k * len);
        return graph.Run(inputs, seeds, t);
    }

    /// <summary>Input gradients for each target: <c>[targets, input length]</c>.</summary>
    public static float[] InputGradients(GradientGraph graph, float[] x, IReadOnlyList<AttributionTarget> targets, float[] output, bool isProbability)
        => RunTargets(graph, x, targets, output, isProbability).InputGradient;

    /// <summary>
    /// Integrated gradients from a zero baseline with a budget of <paramref name="steps"/> gradient evaluations, batched; returns the
    /// attributions per target and, per target, the completeness gap (Σ attributions − (F(x) − F(0))), the output difference and the
    /// number of gradients spent.
    /// </summary>
    /// <remarks>
    /// The path integral ∫₀¹ ∇F(αx)·x dα is computed by adaptive midpoint quadrature. A third of the budget (rounded so that the rest is even) goes to
    /// equal intervals; the rest refines, in rounds that each take a quarter of what is left, the intervals whose midpoint estimate disagrees most with the
    /// interval's true output change F(b·x) − F(a·x) (known from forward passes, which cost a fraction of a gradient).
    /// A refined interval is cut in three, so its old midpoint stays the midpoint of the middle third and every
    /// gradient computed is used (<paramref name="adaptive"/> false: plain midpoint rule on equal steps). On ReLU networks F is piecewise linear along the path and the estimate is exact on
    /// intervals without a kink, so refinement goes where the kinks are. The gap reported is measured, not enforced.
    /// With a <paramref name="tolerance"/> above 0, refinement goes on past the budget, a few intervals at a time, while the gap
    /// is above that fraction of the output difference and fewer than <paramref name="maxSteps"/> gradients have been spent
    /// (as an adaptive integrator with an error tolerance does); the gap stays a measurement, since each interval's estimate is still
    /// its gradient times its width.
    /// </remarks>
    public static (float[] Attributions, double[] Gap, double[] Difference, int[] Gradients) IntegratedGradients(GradientGraph graph, float[] x,
        IReadOnlyList<AttributionTarget> targets, bool isProbability, int steps = 64, bool adaptive = true, double tolerance = 0, int maxSteps = 0)
    {
        if (steps < 1) throw new PerceptException("integrated gradients need at least one step");
        if (graph.SharedForward) throw new ArgumentException("integrated gradients run many points of the path in one batch: build the graph without sharedForward");
        if (tolerance < 0 || double.IsNaN(tolerance)) throw new PerceptException("the completeness tolerance must be 0 or more");
        int len = x.Length;
        var result = new float[targets.Count * len];
        var gap = new double[targets.Count];
        var diff = new double[targets.Count];
        var spent = new int[targets.Count];
        int classes = (int)graph.OutputShape.Aggregate(1L, (a, b) => a * b);
        for (int k = 0; k < targets.Count; k++)
        {
            var target = targets[k];
            double F(ReadOnlySpan<float> o) => target.Kind == "loss"
                ? ClassScores.Compute(o, isProbability, target.Class, new float[classes]).Loss : o[target.Class];

            // Forward values of the target at path points α (memoised: refinement reuses every endpoint).
            var values = new Dictionary<double, double>();
            void Evaluate(IEnumerable<double> alphas)
            {
                var todo = alphas.Where(a => !values.ContainsKey(a)).Distinct().ToArray();
                if (todo.Length == 0) return;
                var outputs = graph.Forward(Scaled(x, todo), todo.Length);
                for (int i = 0; i < todo.Length; i++) values[todo[i]] = F(outputs.AsSpan(i * classes, classes));
            }

            // Intervals [a, b] with the input gradient at their midpoint; the estimate of the interval's integral is g·x·(b − a),
            // and Error is that estimate minus the interval's output change (signed: the errors add up to the gap).
            var intervals = new List<(double A, double B, float[] Gradient, double Error)>();
            int used = 0;
            void Add(IReadOnlyList<(double A, double B)> pieces, IReadOnlyDictionary<double, float[]>? known = null)
            {
                var needed = pieces.Select(p => (p.A + p.B) / 2).Where(m => known == null || !known.ContainsKey(m)).ToArray();
                var grads = Gradients(graph, x, needed, target, isProbability, classes);
                used += needed.Length;
                Evaluate(pieces.SelectMany(p => new[] { p.A, p.B }));
                foreach (var (a, b) in pieces)
                {
                    double m = (a + b) / 2;
                    var g = known != null && known.TryGetValue(m, out var kg) ? kg : grads[m];
                    double estimate = 0;
                    for (int i = 0; i < len; i++) estimate += g[i] * x[i];
                    intervals.Add((a, b, g, estimate * (b - a) - (values[b] - values[a])));
                }
            }
            // One refinement round: the worst intervals (by |error|) cut into thirds, two new gradients each.
            bool Refine(int splits)
            {
                var worst = intervals.OrderByDescending(i => Math.Abs(i.Error)).Take(splits).Where(i => i.Error != 0).ToList();
                if (worst.Count == 0) return false;
                var pieces = new List<(double, double)>();
                var known = new Dictionary<double, float[]>();
                foreach (var w in worst)
                {
                    intervals.Remove(w);
                    double third = (w.B - w.A) / 3, lo = w.A + third, hi = w.B - third;
                    pieces.Add((w.A, lo));
                    pieces.Add((lo, hi));
                    pieces.Add((hi, w.B));
                    known[(lo + hi) / 2] = w.Gradient; // the key Add computes for the middle piece, bit for bit
                }
                Add(pieces, known);
                return true;
            }

            // A third of the budget on the first grid, one more when that leaves an odd number (refinement spends gradients in pairs).
            int initial = adaptive ? Math.Max(1, steps / 3) : steps;
            if (adaptive && (steps - initial) % 2 == 1) initial++;
            Add(Enumerable.Range(0, initial).Select(i => ((double)i / initial, (double)(i + 1) / initial)).ToArray());
            while (steps - used >= 2 && Refine(Math.Max(1, (steps - used) / 4))) { }
            Evaluate([0.0, 1.0]);
            diff[k] = values[1.0] - values[0.0];
            if (tolerance > 0)
            {
                int cap = Math.Max(maxSteps, steps);
                int round = Math.Max(1, steps / 32);
                while (Math.Abs(intervals.Sum(i => i.Error)) > tolerance * Math.Abs(diff[k]) && cap - used >= 2
                       && Refine(Math.Min(round, (cap - used) / 2))) { }
            }

            var sum = new double[len];
            foreach (var (a, b, g, _) in intervals)
                for (int i = 0; i < len; i++) sum[i] += g[i] * (b - a);
            double total = 0;
            for (int i = 0; i < len; i++)
            {
                float attribution = (float)(x[i] * sum[i]);
                result[k * len + i] = attribution;
                total += attribution;
            }
            gap[k] = total - diff[k];
            spent[k] = used;
        }
        return (result, gap, diff, spent);
    }

    /// <summary>Copies of <paramref name="x"/> scaled by each α, one after another.</summary>
    static float[] Scaled(float[] x, IReadOnlyList<double> alphas)
    {
        var inputs = new float[alphas.Count * x.Length];
        for (int s = 0; s < alphas.Count; s++)
            for (int i = 0; i < x.Length; i++) inputs[s * x.Length + i] = (float)alphas[s] * x[i];
        return inputs;
    }

    /// <summary>Input gradients of one target at α·x for each α, in one batch (the loss's seed depends on each point's own output).</summary>
    static Dictionary<double, float[]> Gradients(GradientGraph graph, float[] x, IReadOnlyList<double> alphas, AttributionTarget target, bool isProbability, int classes)
    {
        var result = new Dictionary<double, float[]>();
        if (alphas.Count == 0) return result;
        int n = alphas.Count, len = x.Length;
        var inputs = Scaled(x, alphas);
        var outputs = target.Kind == "loss" ? graph.Forward(inputs, n) : null;
        var seeds = new float[n * classes];
        for (int s = 0; s < n; s++)
            Seed(target, outputs != null ? outputs.AsSpan(s * classes, classes) : new float[classes], isProbability).CopyTo(seeds, s * classes);
        var grads = graph.Run(inputs, seeds, n).InputGradient;
        for (int s = 0; s < n; s++) result[alphas[s]] = grads.AsSpan(s * len, len).ToArray();
        return result;
    }

    /// <summary>SmoothGrad: the mean input gradient over noisy copies (σ = <paramref name="noise"/> × the input's range).</summary>
    public static float[] SmoothGrad(GradientGraph graph, float[] x, IReadOnlyList<AttributionTarget> targets, float[] output, bool isProbability,
        int samples = 25, float noise = 0.15f, ulong seed = 0)
    {
        int len = x.Length;
        float sigma = noise * (x.Max() - x.Min());
        var rng = new SplitMix64(seed);
        var sum = new double[targets.Count * len];
        for (int s = 0; s < samples; s++)
        {
            var noisy = new float[len];
            for (int i = 0; i < len; i++) noisy[i] = x[i] + sigma * (float)rng.NextGaussian();
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
        var (a, shape, g) = RunTargets(graph, x, targets, output, isProbability).Activations[0];
        return Cam(a, shape, g, targets.Count, layerCam);
    }

    /// <summary>
    /// Grad-CAM or LayerCAM from a layer's activation <paramref name="a"/> (<c>[1 or rows, C, h, w]</c>: one row shared by
    /// every gradient row, or a row each) and its gradients <paramref name="g"/> (<c>[rows, C, h, w]</c>, one row per target):
    /// <c>[rows, h, w]</c>. The one reduction behind class heat maps and similarity maps.
    /// </summary>
    public static (float[] Maps, int Height, int Width) Cam(float[] a, long[] shape, float[] g, int rows, bool layerCam)
    {
        if (shape.Length != 4) throw new PerceptException($"Grad-CAM needs a layer with two spatial axes; this one has shape [{string.Join(", ", shape)}]");
        int c = (int)shape[1], h = (int)shape[2], w = (int)shape[3], plane = h * w;
        bool oneValueRow = shape[0] == 1; // the activation of the one forward pass, its gradient a row per target
        var maps = new float[rows * plane];
        for (int k = 0; k < rows; k++)
        {
            var cam = new double[plane];
            for (int ch = 0; ch < c; ch++)
            {
                int o = (k * c + ch) * plane, oa = oneValueRow ? ch * plane : o;
                double alpha = 0;
                if (!layerCam) { for (int p = 0; p < plane; p++) alpha += g[o + p]; alpha /= plane; }
                for (int p = 0; p < plane; p++) cam[p] += (layerCam ? Math.Max(0, g[o + p]) : alpha) * a[oa + p];
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
