using Percept.Data;
using Percept.Model;
using Percept.Perception;

namespace Percept.Attribution;

/// <summary>Parameters of the methods that take any (defaults as in <see cref="AttributionMethods"/>).</summary>
/// <param name="Steps">Integrated gradients: the gradients spent on the path integral.</param>
/// <param name="Tolerance">Integrated gradients: while the completeness gap is above this fraction of the output difference, more
/// gradients are spent, up to <paramref name="MaxSteps"/> (0: four times <paramref name="Steps"/>); 0 spends exactly <paramref name="Steps"/>.</param>
/// <param name="Patch">Occlusion: the patch's side in pixels.</param>
/// <param name="Stride">Occlusion: the step between patches.</param>
public sealed record ExplainOptions(int Steps = AttributionMethods.DefaultSteps, double Tolerance = AttributionMethods.DefaultTolerance, int MaxSteps = 0,
    int Patch = AttributionMethods.DefaultPatch, int Stride = AttributionMethods.DefaultStride)
{
    public static readonly ExplainOptions Default = new();
}

/// <summary>
/// A gradient method's heat maps for one sample at the input's resolution: the one place that turns a method, a layer
/// and targets into maps from gradient graphs (<see cref="RunExplainer"/> adds the model, the data and occlusion).
/// </summary>
internal static class Explainer
{
    /// <summary>
    /// A gradient method's maps at the input's resolution (<c>[targets, H, W]</c>) and its raw form: every channel for
    /// saliency-type methods (<c>[targets, …input shape]</c>), the layer's own grid for Grad-CAM and LayerCAM.
    /// </summary>
    /// <param name="graphs">The model's gradient graphs, kept by the caller between samples (building one costs far more than running it).</param>
    /// <param name="log">Receives one line per fact worth telling (the Grad-CAM layer, integrated gradients' completeness gap).</param>
    /// <exception cref="PerceptException">A method without gradients, a layer without spatial axes, an operator without a gradient rule.</exception>
    public static (AttributionResult Result, float[] Raw, long[] RawShape) Gradient(GradientGraphs graphs, float[] x, float[] scores, bool isProbability,
        IReadOnlyList<AttributionTarget> targets, AttributionMethod method, string? layerName = null, ExplainOptions? options = null, Action<string>? log = null,
        IReadOnlyList<string>? names = null)
    {
        if (!method.NeedsGradients) throw new PerceptException($"{method.Label} needs no gradient; it is not a gradient method");
        options ??= ExplainOptions.Default;
        var (model, inputShape) = (graphs.Model, graphs.InputShape);
        int steps = options.Steps;
        double tolerance = Math.Round(options.Tolerance, 6);
        // Token ids: x is the embedding output [tokens, dimension]; each token is a "pixel" of a 1 × tokens map whose channels are the embedding's.
        var (channels, h, w, channelsFirst) = graphs.Embedding is { } embedding ? (embedding.Dimension, 1, inputShape.Aggregate(1, (a, b) => a * b), false)
            : inputShape.Length == 1 ? (1, 1, inputShape[0], true) : Preprocessor.ImageAxes(inputShape, InputLayout.Auto);
        long[] rawShape = graphs.Embedding is { } e ? [targets.Count, .. inputShape.Select(d => (long)d), e.Dimension] : [targets.Count, .. inputShape.Select(d => (long)d)];
        int plane = h * w;
        int Index(int c, int p) => channelsFirst ? c * plane + p : p * channels + c;
        var scoreOf = targets.Select(t => t.Kind == "loss" ? ClassScores.Compute(scores, isProbability, t.Class, new float[scores.Length]).Loss : scores[t.Class]).ToArray();
        if (method.NeedsLayer)
        {
            var layer = AttributionMethods.CamLayer(model, layerName);
            var (maps, lh, lw) = GradientMethods.Cam(graphs.Layer(layer.ActivationTensor ?? layer.Output), x, targets, scores, isProbability, method == AttributionMethods.LayerCam);
            log?.Invoke($"{method.Name} at layer {layer.Name} ({lh}x{lw})");
            return (new AttributionResult(GradientMethods.Resize(maps, targets.Count, lh, lw, h, w), h, w, targets, scoreOf), maps, [targets.Count, lh, lw]);
        }
        bool integrated = method == AttributionMethods.IntegratedGradients;
        // Integrated gradients batch points along the path; the others batch the targets of the one sample.
        var g = integrated ? graphs.Input : graphs.Targets;
        float[] perChannel;
        string?[]? notes = null;
        switch (method.Name)
        {
            case AttributionMethods.IntegratedGradientsName:
            {
                int cap = options.MaxSteps > 0 ? options.MaxSteps : 4 * steps;
                var (attr, gap, diff, used) = GradientMethods.IntegratedGradients(g, x, targets, isProbability, steps, tolerance: tolerance, maxSteps: cap);
                perChannel = attr;
                notes = new string?[targets.Count];
                for (int k = 0; k < targets.Count; k++)
                {
                    double ratio = Math.Abs(gap[k]) / Math.Max(Math.Abs(diff[k]), 1e-12);
                    string spent = used[k] > steps ? $"{steps} gradients (+{used[k] - steps} to reach the {100 * tolerance:0.###}% tolerance)" : $"{used[k]} gradients";
                    log?.Invoke($"integrated gradients, {spent}, {targets[k].Name(names)}: sum {diff[k] + gap[k]:G5}, output difference {diff[k]:G5}, completeness gap {gap[k]:G3} ({100 * ratio:F2}%)");
                    notes[k] = $"integrated gradients, {spent}: Σ attributions {diff[k] + gap[k]:G4}, output difference {diff[k]:G4}, completeness gap {100 * ratio:F2}%";
                    if (tolerance > 0 && ratio > tolerance)
                    {
                        double total = 0;
                        for (int i = 0; i < x.Length; i++) total += Math.Abs(attr[k * x.Length + i]);
                        // Where the output barely differs between the baseline and the sample, a small gap is a large fraction of it.
                        string scale = Math.Abs(diff[k]) < 0.1 * total
                            ? $"; the output differs little between the baseline (a black image; for text, a zero embedding) and this sample, and the gap is {100 * Math.Abs(gap[k]) / total:F2}% of Σ|attributions| ({total:G3})"
                            : "";
                        string warning = $"the gap is still above the {100 * tolerance:0.###}% tolerance after {used[k]} gradients";
                        log?.Invoke($"  {warning}; raise {Terms.Option("max-steps")} for a closer integral{scale}");
                        notes[k] += $" ({warning}{scale})";
                    }
                }
                break;
            }
            case AttributionMethods.SmoothGradName: perChannel = GradientMethods.SmoothGrad(g, x, targets, scores, isProbability); break;
            default: perChannel = GradientMethods.InputGradients(g, x, targets, scores, isProbability); break;
        }
        if (method == AttributionMethods.GradientTimesInput)
            for (int k = 0; k < targets.Count; k++) for (int i = 0; i < x.Length; i++) perChannel[k * x.Length + i] *= x[i];
        var result = new float[targets.Count * plane];
        for (int k = 0; k < targets.Count; k++)
            for (int p = 0; p < plane; p++)
            {
                float v = 0;
                for (int c = 0; c < channels; c++)
                {
                    float gv = perChannel[k * x.Length + Index(c, p)];
                    if (method.AbsoluteOverChannels) v = Math.Max(v, Math.Abs(gv)); else v += gv;
                }
                result[k * plane + p] = v;
            }
        return (new AttributionResult(result, h, w, targets, scoreOf, notes), perChannel, rawShape);
    }

    /// <summary>The preprocessed input averaged over channels, H × W, as a picture's background.</summary>
    public static float[] Gray(float[] x, int[] shape, int h, int w)
    {
        var g = new float[h * w];
        int channels = x.Length / (h * w);
        bool first = Preprocessor.ImageAxes(shape, InputLayout.Auto).ChannelsFirst;
        for (int p = 0; p < h * w; p++)
        {
            float s = 0;
            for (int c = 0; c < channels; c++) s += first ? x[c * h * w + p] : x[p * channels + c];
            g[p] = s / channels;
        }
        return g;
    }
}

