using System.Text.Json;
using Percept.Data;

namespace Percept.Tests.Data;

/// <summary>
/// The tokenizer against Hugging Face's own: tests/fixtures/text/bert-tiny/golden-ids.txt holds the ids the Rust
/// tokenizers library gives each sentence of sentences.txt with tokenizer.json (tools/make_text_fixtures.cs writes them).
/// </summary>
public class TextTokenizerTests
{
    static string Tiny(string file) => Path.Combine(TestFiles.Root, "tests", "fixtures", "text", "bert-tiny", file);

    static (string Sentence, int[] Ids)[] Golden()
    {
        var sentences = File.ReadAllLines(Tiny("sentences.txt")).Select(l => JsonSerializer.Deserialize<string>(l)!).ToArray();
        var ids = File.ReadAllLines(Tiny("golden-ids.txt")).Select(l => l.Split(' ').Select(int.Parse).ToArray()).ToArray();
        Assert.Equal(sentences.Length, ids.Length);
        return sentences.Zip(ids).ToArray();
    }

    public static TheoryData<string> Files => new() { "tokenizer.json", "vocab.txt" };

    [Theory]
    [MemberData(nameof(Files))]
    public void Ids_are_those_of_the_hugging_face_tokenizer(string file)
    {
        var tokenizer = TextTokenizer.Load(Tiny(file));
        foreach (var (sentence, expected) in Golden())
        {
            var ids = new int[32];
            var (length, truncated) = tokenizer.Encode(sentence, ids);
            Assert.False(truncated);
            Assert.Equal(expected, ids[..length]);
            Assert.All(ids[length..], id => Assert.Equal(0, id));
        }
    }

    [Theory]
    [InlineData("tokenizer.json", "golden-ids.txt")]
    [InlineData("tokenizer-prefix-space.json", "golden-ids-prefix-space.txt")]
    public void Byte_level_bpe_ids_are_those_of_the_hugging_face_tokenizer(string file, string golden)
    {
        string Bpe(string name) => Path.Combine(TestFiles.Root, "tests", "fixtures", "text", "bpe-tiny", name);
        var sentences = File.ReadAllLines(Bpe("sentences.txt")).Select(l => JsonSerializer.Deserialize<string>(l)!).ToArray();
        var expected = File.ReadAllLines(Bpe(golden)).Select(l => l.Split(' ').Select(int.Parse).ToArray()).ToArray();
        var tokenizer = TextTokenizer.Load(Bpe(file));
        Assert.Equal(1, tokenizer.PadId);
        Assert.StartsWith("BPE tokenizer.json", tokenizer.Description);
        for (int s = 0; s < sentences.Length; s++)
        {
            var ids = new int[16];
            var (length, _) = tokenizer.Encode(sentences[s], ids);
            Assert.Equal(expected[s], ids[..length]);
            Assert.All(ids[length..], id => Assert.Equal(1, id));
        }
    }

    [Fact]
    public void Unigram_ids_are_those_of_the_hugging_face_tokenizer()
    {
        string Unigram(string name) => Path.Combine(TestFiles.Root, "tests", "fixtures", "text", "unigram-tiny", name);
        var sentences = File.ReadAllLines(Unigram("sentences.txt")).Select(l => JsonSerializer.Deserialize<string>(l)!).ToArray();
        var expected = File.ReadAllLines(Unigram("golden-ids.txt")).Select(l => l.Split(' ').Select(int.Parse).ToArray()).ToArray();
        var tokenizer = TextTokenizer.Load(Unigram("tokenizer.json"));
        Assert.Equal(0, tokenizer.PadId);
        Assert.Equal("▁cat", tokenizer.Vocabulary[5]);
        for (int s = 0; s < sentences.Length; s++)
        {
            var ids = new int[16];
            var (length, _) = tokenizer.Encode(sentences[s], ids);
            Assert.Equal(expected[s], ids[..length]);
        }
    }

    [Fact]
    public void Known_wordpiece_splits_hold_as_checked_by_hand()
    {
        // "The café was unbelievable!": lowercased, the accent stripped, "unbelievable" in three pieces, "!" a word.
        var tokenizer = TextTokenizer.Load(Tiny("tokenizer.json"));
        var ids = new int[12];
        var (length, _) = tokenizer.Encode("The café was unbelievable!", ids);
        string Words(int n) => string.Join(' ', ids[..n].Select(i => tokenizer.Vocabulary[i]));
        Assert.Equal("[CLS] the cafe was un ##believ ##able ! [SEP]", Words(length));
        // A word whose pieces are not all in the vocabulary is one [UNK], as WordPiece has it ("greatly": no "##ly").
        (length, _) = tokenizer.Encode("greatly greater", ids);
        Assert.Equal("[CLS] [UNK] great ##er [SEP]", Words(length));
    }

    [Fact]
    public void Accents_are_stripped_without_the_runtimes_unicode_normalisation()
    {
        // Percept runs globalization-invariant, where string.Normalize does not decompose: the tables do.
        Assert.Equal("ete uber naive ørsted ca va", new BertTextNormalizer(true, true, true).Normalize("ÉTÉ Über naïve Ørsted ça\tva"));
        Assert.Equal("Ete Uber", new BertTextNormalizer(false, true, true).Normalize("Ète Ü\u0301ber"));
        Assert.Equal("a 中 文 b", new BertTextNormalizer(true, true, false).Normalize("A中文B").Replace("  ", " "));
    }

    [Fact]
    public void A_long_text_is_cut_before_its_sep_and_a_short_one_padded()
    {
        var tokenizer = TextTokenizer.Load(Tiny("tokenizer.json"));
        var (sentence, full) = Golden().First(g => g.Sentence.StartsWith("good good", StringComparison.Ordinal));
        var ids = new int[6];
        var (length, truncated) = tokenizer.Encode(sentence, ids);
        Assert.True(truncated);
        Assert.Equal(6, length);
        Assert.Equal([.. full[..5], 3], ids);
        Assert.Equal(0, tokenizer.PadId);
        Assert.Equal(2, tokenizer.SpecialTokens);
        Assert.Throws<PerceptException>(() => tokenizer.Encode("good", new int[1]));
    }

    [Fact]
    public void The_pad_id_comes_from_the_files_padding_or_its_pad_token()
    {
        using var dir = new TempDir();
        var json = File.ReadAllText(Tiny("tokenizer.json")).Replace("\"padding\": null", "\"padding\": {\"pad_id\": 4, \"pad_token\": \"[MASK]\"}");
        File.WriteAllText(dir["t.json"], json);
        var tokenizer = TextTokenizer.Load(dir["t.json"]);
        Assert.Equal(4, tokenizer.PadId);
        var ids = new int[6];
        Assert.Equal((3, false), tokenizer.Encode("film", ids));
        Assert.Equal([2, 29, 3, 4, 4, 4], ids);
        Assert.Equal(1, TextTokenizer.Load(Path.Combine(TestFiles.Root, "tests", "fixtures", "text", "reviews-tokenizer.json")).Encode("x", new int[2]).Length);
    }

    [Theory]
    [InlineData("{\"version\": \"1.0\"}", "has no 'model' section")]
    [InlineData("{\"model\": {\"type\": \"WordLevel\", \"vocab\": {\"a\": 0}}}", "Percept reads WordPiece, BPE and Unigram")]
    [InlineData("{\"model\": {\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\", \"vocab\": {\"[UNK]\": 0, \"a\": 2}}}", "skips ids")]
    [InlineData("{\"model\": {\"type\": \"WordPiece\", \"unk_token\": \"<unk>\", \"vocab\": {\"[UNK]\": 0, \"a\": 1}}}", "'<unk>' is not in the vocabulary")]
    [InlineData("{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"[UNK]\": 0}}, \"post_processor\": {\"type\": \"BertProcessing\", \"cls\": 1}}", "not a [token, id] pair")]
    [InlineData("{\"model\": ", "is not valid JSON")]
    [InlineData("the\ncat\n", "has no [UNK] token")]
    public void A_file_that_is_not_a_tokenizer_is_refused_in_one_line(string content, string message)
    {
        using var dir = new TempDir();
        File.WriteAllText(dir["t"], content);
        var e = Assert.Throws<PerceptException>(() => TextTokenizer.Load(dir["t"]));
        Assert.Contains(message, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Binary_bytes_are_neither_kind_of_tokenizer()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir["t.bin"], [0x89, 0x50, 0x4E, 0x47, 0xFF, 0xFE, 0x00, 0x01]);
        Assert.Contains("neither a tokenizer.json nor a vocab.txt", Assert.Throws<PerceptException>(() => TextTokenizer.Load(dir["t.bin"])).Message);
        Assert.Contains("not found", Assert.Throws<PerceptException>(() => TextTokenizer.Load(dir["none.json"])).Message);
    }
}
