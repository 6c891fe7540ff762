using Percept.Data;
using Percept.Perception;
using Percept.Store;

namespace Percept.Tests.Model;

/// <summary>
/// A text encoder's <c>last_hidden_state</c> [N, tokens, D] read as one vector a sample: the mean of its tokens' vectors
/// over the attention mask (the ids the tokenizer did not pad), held to the mean computed here from the model's weights.
/// </summary>
public class TokenPoolingTests
{
    const int Dimension = 6;
    static string Tiny(string file) => Path.Combine(TestFiles.Root, "tests", "fixtures", "text", "bert-tiny", file);

    static readonly string[] Sentences =
    [
        "The café was unbelievable!", "a good movie", "a very bad film", "Well-made (very) greater film?", "it's good", "not great, not bad",
        "playing films and movies", "the film was well made",
    ];

    static (Run Run, float[] Expected, int Vocabulary) Analyse(TempDir dir, string tokenizerPath, int? maxLength, string name)
    {
        string model = TinyModels.TokenEncoder(dir["encoder.onnx"], 40, Dimension, out var embedding, out var types, out var weight);
        File.WriteAllText(dir["texts.csv"], "text,label\n" + string.Join('\n', Sentences.Select((s, i) => $"\"{s}\",{(i % 2 == 0 ? "even" : "odd")}")) + "\n");
        var run = Analysis.Run(new AnalysisOptions
        {
            ModelPath = model,
            Data = new DataSource { Path = dir["texts.csv"], TextColumn = "text", TokenizerPath = tokenizerPath, MaxLength = maxLength },
            OutputDirectory = dir[name],
            Map = new Percept.Projection.MapOptions { Method = Percept.Projection.MapMethod.Pca },
        });
        // The reference: tanh((E[id] + T[0]) · W) averaged over each text's unpadded ids.
        var tokenizer = TextTokenizer.Load(tokenizerPath);
        var expected = new float[Sentences.Length * Dimension];
        var ids = new int[maxLength ?? DataSource.DefaultMaxLength];
        for (int s = 0; s < Sentences.Length; s++)
        {
            var (length, _) = tokenizer.Encode(Sentences[s], ids);
            for (int t = 0; t < length; t++)
                for (int j = 0; j < Dimension; j++)
                {
                    double h = 0;
                    for (int k = 0; k < Dimension; k++) h += (embedding[ids[t] * Dimension + k] + types[k]) * weight[k * Dimension + j];
                    expected[s * Dimension + j] += (float)Math.Tanh(h) / length;
                }
        }
        return (run, expected, 40);
    }

    [Fact]
    public void The_tokens_vectors_are_averaged_over_the_mask_into_the_outputs_field()
    {
        using var dir = new TempDir();
        var (run, expected, _) = Analyse(dir, Tiny("tokenizer.json"), 10, "run");
        Assert.Equal("embedding", run.Manifest.Model.OutputKind);
        Assert.Equal([-1, Dimension], run.Manifest.Model.OutputShape);
        Assert.Null(run.Manifest.Summary!.Accuracy);
        Assert.Equal(10, run.Manifest.Text!.Tokens);
        var outputs = run.ReadFloat32(PerceptionFields.Outputs);
        Assert.Equal(expected.Length, outputs.Length);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], outputs[i], 5);
    }

    [Fact]
    public void The_mask_follows_the_tokenizers_pad_id()
    {
        // Padding with [MASK] (id 4) instead of [PAD] (0): the mean must leave the id-4 positions out all the same.
        using var dir = new TempDir();
        File.WriteAllText(dir["pad4.json"], File.ReadAllText(Tiny("tokenizer.json")).Replace("\"padding\": null", "\"padding\": {\"pad_id\": 4}"));
        var (run, expected, _) = Analyse(dir, dir["pad4.json"], 12, "run");
        Assert.Equal(4, run.Manifest.Text!.PadId);
        var outputs = run.ReadFloat32(PerceptionFields.Outputs);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], outputs[i], 5);
    }

    [Fact]
    public void A_free_sequence_length_defaults_to_128_tokens()
    {
        using var dir = new TempDir();
        var (run, expected, _) = Analyse(dir, Tiny("vocab.txt"), null, "run");
        Assert.Equal(DataSource.DefaultMaxLength, run.Manifest.Text!.Tokens);
        Assert.Contains("BERT vocab.txt vocab.txt (WordPiece, 40 tokens, lowercased, [CLS] … [SEP]); 128 tokens", run.Manifest.Data.Description);
        var outputs = run.ReadFloat32(PerceptionFields.Outputs);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], outputs[i], 5);
    }
}
