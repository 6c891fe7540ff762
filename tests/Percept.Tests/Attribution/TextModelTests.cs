using Percept.Attribution;
using Percept.Data;
using Percept.IO;
using Percept.Model;

namespace Percept.Tests.Attribution;

/// <summary>
/// A text classifier taking int64 token ids (tests/fixtures/text/, written by tools/make_text_fixture.py with PyTorch):
/// Percept feeds the ids, attributes at the embedding output, and its gradients equal PyTorch autograd's there, for the
/// model that takes the ids alone and for the one that takes what a tokenizer gives (ids, attention mask, type ids).
/// </summary>
public class TextModelTests
{
    static string Fixture(string file) => Path.Combine(TestFiles.Root, "tests", "fixtures", "text", file);

    static DataSource Data => new() { Path = Fixture("tokens.npy"), LabelsPath = Fixture("labels.npy"), ClassNamesPath = Fixture("classes.txt") };

    [Theory]
    [InlineData("model.onnx", "golden-logits.npy", "golden-embedding-grad.npy")]
    [InlineData("model-tokenizer-inputs.onnx", "golden-tokenizer-inputs-logits.npy", "golden-tokenizer-inputs-embedding-grad.npy")]
    public void Saliency_at_the_embedding_output_equals_autograd(string modelFile, string logitsFile, string gradFile)
    {
        var logits = Npy.ReadFloat32(Fixture(logitsFile), out _);
        var embedding = Npy.ReadFloat32(Fixture("golden-embedding.npy"), out _);
        var grads = Npy.ReadFloat32(Fixture(gradFile), out _); // [4 samples, 3 classes, 16 tokens, 24 dims]
        int classes = 3, plane = 16 * 24;
        using var explainer = new RunExplainer(Fixture(modelFile), Data);
        var model = OnnxModel.Load(Fixture(modelFile));
        Assert.Single(model.Inputs);
        Assert.True(model.Inputs[0].IsTokenIds);
        for (int s = 0; s < 4; s++)
        {
            var e = explainer.Explain(s, AttributionMethods.Saliency, p => Enumerable.Range(0, classes).Select(c => new AttributionTarget("class", c)).ToArray());
            ConformanceTests.AssertClose(logits[(s * classes)..((s + 1) * classes)], e.Prediction.Scores, $"sample {s} logits");
            ConformanceTests.AssertClose(embedding[(s * plane)..((s + 1) * plane)], e.Prediction.Embedding!, $"sample {s} embedding");
            Assert.Equal([classes, 16, 24], e.RawShape!);
            ConformanceTests.AssertClose(grads[(s * classes * plane)..((s + 1) * classes * plane)], e.Raw!, $"sample {s} gradient at the embedding output");
            // One score per token: the largest |gradient| over the embedding's dimensions.
            Assert.Equal((1, 16), (e.Result.Height, e.Result.Width));
            for (int t = 0; t < 16; t++)
                Assert.Equal(Enumerable.Range(0, 24).Max(d => Math.Abs(e.Raw![t * 24 + d])), e.Result.Maps[t], 6);
            // The background is the sample's token ids.
            Assert.Equal(Npy.ReadInt64(Fixture("tokens.npy"), out _).Skip(s * 16).Take(16).Select(v => (float)v), e.Background);
        }
    }

    [Fact]
    public void Gradient_times_input_and_integrated_gradients_give_one_score_per_token()
    {
        using var explainer = new RunExplainer(Fixture("model.onnx"), Data);
        var pred = RunExplainer.AllTargets;
        var saliency = explainer.Explain(2, AttributionMethods.Saliency, p => [new AttributionTarget("class", p.Summary.Prediction)]);
        var gxi = explainer.Explain(2, AttributionMethods.GradientTimesInput, p => [new AttributionTarget("class", p.Summary.Prediction)]);
        var emb = gxi.Prediction.Embedding!;
        for (int t = 0; t < 16; t++)
        {
            double expected = 0;
            for (int d = 0; d < 24; d++) expected += saliency.Raw![t * 24 + d] * emb[t * 24 + d];
            Assert.Equal(expected, gxi.Result.Maps[t], 4);
        }
        var lines = new List<string>();
        var ig = explainer.Explain(2, AttributionMethods.IntegratedGradients, p => [new AttributionTarget("class", p.Summary.Prediction)], log: lines.Add);
        Assert.Equal(16, ig.Result.Maps.Length);
        // Completeness: the token scores add up to the logit's change from an all-zero embedding (within the reported gap).
        Assert.Contains(lines, l => l.Contains("completeness gap", StringComparison.Ordinal));
        var tokens = ig.Prediction.Input;
        for (int t = 0; t < 16; t++)
            if (tokens[t] == 0) Assert.Equal(0, ig.Result.Maps[t]); // padding is masked out: it cannot matter
    }

    [Theory]
    [InlineData("gradcam")]
    [InlineData("occlusion")]
    public void Image_only_methods_say_why_they_do_not_apply(string method)
    {
        using var explainer = new RunExplainer(Fixture("model.onnx"), Data);
        var e = Assert.Throws<PerceptException>(() => explainer.Explain(0, method));
        Assert.Contains("text model", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_text_model_is_analysed_and_mapped()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"percept-text-{Guid.NewGuid():N}");
        var warnings = new List<string>();
        try
        {
            var run = Analysis.Run(new AnalysisOptions { ModelPath = Fixture("model.onnx"), Data = Data, OutputDirectory = dir }, warn: warnings.Add);
            Assert.Equal(600, run.Manifest.Data.Count);
            Assert.Equal(3, run.Manifest.NumClasses);
            // Attention projections are sequence-first ([tokens, N, F]); they are left out, the batch-first layers are kept.
            Assert.Contains(warnings, w => w.Contains("sequence-first", StringComparison.Ordinal));
            Assert.Contains(run.Manifest.Perception.Layers, l => l.Name.Contains("linear1", StringComparison.Ordinal));
            var map = Npy.ReadFloat32(Path.Combine(dir, "map.npy"), out var shape);
            Assert.Equal([600L, 2L], shape);
            Assert.All(map, v => Assert.True(float.IsFinite(v)));
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, true); }
    }

    [Fact]
    public void Token_ids_outside_the_vocabulary_are_a_clear_error()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"percept-text-bad-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            var tokens = Npy.ReadInt64(Fixture("tokens.npy"), out _).Take(4 * 16).ToArray();
            tokens[5] = 1000;
            string path = Path.Combine(dir, "tokens.npy");
            Npy.Write(path, tokens.AsSpan(), 4, 16);
            var e = Assert.Throws<PerceptException>(() => Analysis.Run(new AnalysisOptions
            { ModelPath = Fixture("model.onnx"), Data = new DataSource { Path = path }, OutputDirectory = Path.Combine(dir, "run") }));
            Assert.Contains("value 1000 at position 5 of a sample is not a token id", e.Message, StringComparison.Ordinal);
            Assert.False(Directory.Exists(Path.Combine(dir, "run")));
        }
        finally { Directory.Delete(dir, true); }
    }
}
