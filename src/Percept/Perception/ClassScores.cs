using System.Numerics.Tensors;

namespace Percept.Perception;

/// <summary>What the model's output says about one sample.</summary>
public struct SampleScores
{
    public int Prediction { get; set; }
    public float Confidence { get; set; }
    /// <summary>Top-1 minus top-2 probability.</summary>
    public float Margin { get; set; }
    /// <summary>Entropy of the predicted distribution, in nats.</summary>
    public float Entropy { get; set; }
    /// <summary>Cross-entropy against the label, NaN when the sample has none.</summary>
    public float Loss { get; set; }
}

/// <summary>
/// Per-sample results from a class-score output: probabilities (softmax of logits, or the output itself when the
/// model already ends in Softmax), prediction, confidence, margin, entropy and cross-entropy loss.
/// </summary>
internal static class ClassScores
{
    /// <summary>Smallest probability used in a logarithm, so a confident mistake costs a finite loss.</summary>
    public const float MinProbability = 1e-12f;

    /// <summary>
    /// Computes probabilities into <paramref name="probabilities"/> and returns the per-sample results for one row.
    /// </summary>
    /// <param name="scores">The model's output for one sample (logits or probabilities).</param>
    /// <param name="isProbability">The scores are already probabilities.</param>
    /// <param name="label">The sample's label, or -1.</param>
    public static SampleScores Compute(ReadOnlySpan<float> scores, bool isProbability, int label, Span<float> probabilities)
    {
        int c = scores.Length;
        var p = probabilities[..c];
        float loss = float.NaN;
        if (isProbability)
        {
            scores.CopyTo(p);
            if (label >= 0) loss = -MathF.Log(MathF.Max(p[label], MinProbability));
        }
        else
        {
            // log-softmax with the max subtracted, so large logits neither overflow nor lose the loss's precision.
            float max = TensorPrimitives.Max(scores);
            double sum = 0;
            for (int i = 0; i < c; i++) sum += Math.Exp(scores[i] - max);
            float logSum = max + (float)Math.Log(sum);
            for (int i = 0; i < c; i++) p[i] = MathF.Exp(scores[i] - logSum);
            if (label >= 0) loss = logSum - scores[label];
        }
        int best = TensorPrimitives.IndexOfMax(p);
        float top1 = p[best], top2 = 0, entropy = 0;
        for (int i = 0; i < c; i++)
        {
            if (i != best && p[i] > top2) top2 = p[i];
            if (p[i] > 0) entropy -= p[i] * MathF.Log(p[i]);
        }
        return new SampleScores { Prediction = best, Confidence = top1, Margin = top1 - top2, Entropy = entropy, Loss = loss };
    }
}
