using Percept.Perception;

namespace Percept.Tests.Perception;

public class ClassScoresTests
{
    [Fact]
    public void Logits_give_softmax_probabilities_and_cross_entropy_computed_by_hand()
    {
        float[] logits = [2.0f, 1.0f, 0.1f];
        var p = new float[3];
        var s = ClassScores.Compute(logits, isProbability: false, label: 1, p);
        double z = Math.Exp(2.0) + Math.Exp(1.0) + Math.Exp(0.1);
        double[] expected = [Math.Exp(2.0) / z, Math.Exp(1.0) / z, Math.Exp(0.1) / z];
        for (int i = 0; i < 3; i++) Assert.Equal(expected[i], p[i], 1e-6);
        Assert.Equal(0, s.Prediction);
        Assert.Equal(expected[0], s.Confidence, 1e-6);
        Assert.Equal(expected[0] - expected[1], s.Margin, 1e-6);
        Assert.Equal(-expected.Sum(q => q * Math.Log(q)), s.Entropy, 1e-5);
        Assert.Equal(-Math.Log(expected[1]), s.Loss, 1e-5);
    }

    [Fact]
    public void Extreme_logits_stay_finite_and_exact()
    {
        float[] logits = [1000f, -1000f, 0f];
        var p = new float[3];
        var s = ClassScores.Compute(logits, false, label: 1, p);
        Assert.Equal(2000f, s.Loss, 1e-2);
        Assert.Equal(1f, p[0]);
        Assert.True(float.IsFinite(s.Entropy));
    }

    [Fact]
    public void Probabilities_are_used_as_they_are_and_unlabelled_samples_have_no_loss()
    {
        float[] probs = [0.1f, 0.7f, 0.2f];
        var p = new float[3];
        var s = ClassScores.Compute(probs, isProbability: true, label: 2, p);
        Assert.Equal(probs, p);
        Assert.Equal(1, s.Prediction);
        Assert.Equal(-Math.Log(0.2), s.Loss, 1e-6);
        Assert.True(float.IsNaN(ClassScores.Compute(probs, true, -1, p).Loss));
        Assert.Equal(-Math.Log(ClassScores.MinProbability), ClassScores.Compute([1f, 0f, 0f], true, 2, p).Loss, 1e-3);
    }
}
