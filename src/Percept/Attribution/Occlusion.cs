using Percept.Data;
using Percept.Model;
using Percept.Perception;

namespace Percept.Attribution;

/// <summary>
/// Occlusion attribution (Zeiler and Fergus, 2014): slides a patch over the input, sets it to a baseline (0 in the
/// model's input space), runs every occluded copy through the model in batches, and credits each pixel with the mean
/// drop of the target's score over the windows that covered it. Gradient-free, so it works for any model ONNX Runtime
/// can run. For the loss target the sign is the loss's rise: positive pixels are those whose presence raises the loss.
/// </summary>
public static class Occlusion
{
    /// <param name="runner">A runner fetching the class-score output first.</param>
    /// <param name="input">One preprocessed sample in the model's layout.</param>
    /// <param name="inputShape">Its shape (no batch axis).</param>
    /// <param name="targets">Targets to explain.</param>
    /// <param name="isProbability">The output already holds probabilities.</param>
    /// <param name="patch">Side of the occluding square, in input pixels.</param>
    /// <param name="stride">Step between windows.</param>
    public static AttributionResult Explain(ModelRunner runner, float[] input, int[] inputShape, IReadOnlyList<AttributionTarget> targets,
        bool isProbability, int patch = 4, int stride = 2, int batchSize = 128, CancellationToken cancellationToken = default)
    {
        var (channels, h, w, channelsFirst) = inputShape.Length == 1 ? (1, 1, inputShape[0], true) : Preprocessor.ImageAxes(inputShape, InputLayout.Auto);
        if (h <= 0 || w <= 0) throw new PerceptException($"occlusion needs an image or vector input; this model takes {string.Join("x", inputShape)}");
        patch = Math.Clamp(patch, 1, Math.Max(h, w));
        stride = Math.Max(1, stride);
        int pw = Math.Min(patch, w), ph = Math.Min(patch, h);
        var ys = Positions(h, ph, stride);
        var xs = Positions(w, pw, stride);
        int windows = ys.Length * xs.Length, len = input.Length;
        if (runner.FixedBatch is int fixedBatch) batchSize = fixedBatch;

        float[] Score(ReadOnlySpan<float> output, int classes)
        {
            var probs = new float[classes];
            var result = new float[targets.Count];
            for (int t = 0; t < targets.Count; t++)
            {
                var tg = targets[t];
                if (tg.Kind == "loss") result[t] = ClassScores.Compute(output, isProbability, tg.Class, probs).Loss;
                else result[t] = output[tg.Class];
            }
            return result;
        }

        // The unoccluded score first.
        var buffer = new float[batchSize * len];
        input.CopyTo(buffer, 0);
        float[] original;
        int numClasses;
        using (var r = runner.Run(buffer, 1))
        {
            var shape = r[0].GetTensorTypeAndShape().Shape;
            numClasses = (int)shape.Skip(1).Aggregate(1L, (a, b) => a * b);
            foreach (var t in targets)
                if (t.Class < 0 || t.Class >= numClasses) throw new PerceptException($"target class {t.Class} is outside the model's {numClasses} classes");
            original = Score(r[0].GetTensorDataAsSpan<float>()[..numClasses], numClasses);
        }

        var sums = new double[targets.Count * h * w];
        var counts = new int[h * w];
        for (int start = 0; start < windows; start += batchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int count = Math.Min(batchSize, windows - start);
            for (int b = 0; b < count; b++)
            {
                var dst = buffer.AsSpan(b * len, len);
                input.CopyTo(dst);
                int y0 = ys[(start + b) / xs.Length], x0 = xs[(start + b) % xs.Length];
                for (int c = 0; c < channels; c++)
                    for (int y = y0; y < y0 + ph; y++)
                        for (int x = x0; x < x0 + pw; x++)
                            dst[channelsFirst ? (c * h + y) * w + x : (y * w + x) * channels + c] = 0f;
            }
            using var r = runner.Run(buffer, count);
            var output = r[0].GetTensorDataAsSpan<float>();
            for (int b = 0; b < count; b++)
            {
                var s = Score(output.Slice(b * numClasses, numClasses), numClasses);
                int y0 = ys[(start + b) / xs.Length], x0 = xs[(start + b) % xs.Length];
                for (int y = y0; y < y0 + ph; y++)
                    for (int x = x0; x < x0 + pw; x++)
                    {
                        if (targets.Count > 0) counts[y * w + x]++;
                        for (int t = 0; t < targets.Count; t++)
                        {
                            // Credit = what hiding the window takes away: a class's score, or the loss (a region
                            // that drives the error lowers the loss when hidden).
                            sums[(t * h + y) * w + x] += original[t] - s[t];
                        }
                    }
            }
        }
        var maps = new float[targets.Count * h * w];
        for (int t = 0; t < targets.Count; t++)
            for (int p = 0; p < h * w; p++)
                maps[t * h * w + p] = counts[p] == 0 ? 0 : (float)(sums[t * h * w + p] / counts[p]);
        return new AttributionResult(maps, h, w, targets, original);
    }

    /// <summary>Window starts covering 0..size with the given stride, the last flush with the edge.</summary>
    static int[] Positions(int size, int patch, int stride)
    {
        var p = new List<int>();
        for (int s = 0; s + patch <= size; s += stride) p.Add(s);
        if (p.Count == 0 || p[^1] + patch < size) p.Add(size - patch);
        return [.. p];
    }
}
