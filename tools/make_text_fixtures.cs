#!/usr/bin/env -S dotnet run
// Writes the text datasets and tokenizers the tests read:
//
//     dotnet run tools/make_text_fixtures.cs                       (from the repository root)
//
//   tests/fixtures/text/reviews.csv             the 600 reviews of tests/fixtures/text/tokens.npy (tools/make_text_fixture.py)
//                                               as text: id, text (words of the ids, some capitalised, doubled spaces),
//                                               label (class names) and site (a field); tokenized with
//                                               reviews-tokenizer.json they are exactly tokens.npy's rows
//   tests/fixtures/text/reviews-tokenizer.json  a BERT-style tokenizer.json (BertNormalizer lowercasing, BertPreTokenizer,
//                                               WordPiece) over the model's vocabulary (vocab.txt: <pad> = 0, <unk> = 1),
//                                               no post-processor (the model was trained without [CLS] and [SEP])
//   tests/fixtures/text/bert-tiny/              a BERT tokenizer of 40 tokens with ## pieces: tokenizer.json (with
//                                               [CLS] $A [SEP]), the same vocab.txt, sentences.txt and golden-ids.txt: the
//                                               ids Hugging Face's own tokenizers library (Rust, through Tokenizers.DotNet)
//                                               gives each sentence, one line each
//   tests/fixtures/text/bpe-tiny/               a byte-level BPE tokenizer as GPT-2 and RoBERTa save theirs (the 256 byte
//                                               symbols, 15 merges, <s> … </s>): tokenizer.json, tokenizer-prefix-space.json
//                                               (add_prefix_space), sentences.txt and both golden-ids files, as above
//   tests/fixtures/text/unigram-tiny/           a Unigram tokenizer as T5 and XLM-R save theirs (25 scored pieces,
//                                               Metaspace "▁", $A </s>): tokenizer.json, sentences.txt, golden-ids.txt
//
// Deterministic: the same inputs give the same files.
#:package Tokenizers.DotNet@1.4.1
#:package Tokenizers.DotNet.runtime.linux-x64@1.4.1
#:property PublishAot=false
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

string root = Directory.GetCurrentDirectory();
string text = Path.Combine(root, "tests", "fixtures", "text");
if (!File.Exists(Path.Combine(text, "tokens.npy"))) throw new InvalidOperationException("run from the repository root");

// The reviews as text.
var vocabulary = File.ReadAllLines(Path.Combine(text, "vocab.txt"));
var classes = File.ReadAllLines(Path.Combine(text, "classes.txt"));
var (tokens, shape) = ReadInt64(Path.Combine(text, "tokens.npy"));
var (labels, _) = ReadInt64(Path.Combine(text, "labels.npy"));
var csv = new StringBuilder("id,text,label,site\n");
for (int s = 0; s < shape[0]; s++)
{
    var words = new List<string>();
    for (int t = 0; t < shape[1]; t++)
        if (tokens[s * shape[1] + t] is var id && id != 0) words.Add(vocabulary[id]);
    // Capitals and doubled spaces, which the tokenizer's normalizer and pre-tokenizer take away again.
    if (s % 3 == 0) words[0] = char.ToUpperInvariant(words[0][0]) + words[0][1..];
    if (s % 7 == 0) words[^1] = words[^1].ToUpperInvariant();
    string sentence = string.Join(s % 5 == 0 ? "  " : " ", words);
    csv.Append($"r{s:D3},\"{sentence}\",{classes[labels[s]]},{(s % 2 == 0 ? "site-a" : "site-b")}\n");
}
File.WriteAllText(Path.Combine(text, "reviews.csv"), csv.ToString());
File.WriteAllText(Path.Combine(text, "reviews-tokenizer.json"), Tokenizer(vocabulary, "<unk>", post: null));

// A tiny BERT tokenizer and what Hugging Face's tokenizers make of a few sentences with it.
string tiny = Path.Combine(text, "bert-tiny");
Directory.CreateDirectory(tiny);
string[] bert =
[
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cafe", "was", "un", "##believ", "##able", "!", ",", ".", "'", "good", "movie",
    "play", "##ing", "##s", "a", "it", "s", "中", "文", "very", "bad", "and", "##y", "film", "?", "-", "well", "made", "is", "not", "(", ")",
    "great", "##er",
];
File.WriteAllText(Path.Combine(tiny, "vocab.txt"), string.Join('\n', bert) + "\n");
string tinyJson = Path.Combine(tiny, "tokenizer.json");
File.WriteAllText(tinyJson, Tokenizer(bert, "[UNK]", post: ("[CLS]", 2, "[SEP]", 3)));
string[] sentences =
[
    "The café was unbelievable!",
    "Playing movies, a GOOD movie.",
    "It's 中文 text",
    "   a\tfilm\nand  a   film   ",
    "Well-made (very) greater film? Not bad, not greatly playable.",
    "ÉTÉ Über naïve",
    "good good good good good good good good good good good good",
    "",
];
File.WriteAllText(Path.Combine(tiny, "sentences.txt"), string.Join('\n', sentences.Select(s => JsonSerializer.Serialize(s))) + "\n");
using (var reference = new Tokenizers.DotNet.Tokenizer(tinyJson))
    File.WriteAllText(Path.Combine(tiny, "golden-ids.txt"),
        string.Join('\n', sentences.Select(s => string.Join(' ', reference.Encode(s)))) + "\n");
// A tiny byte-level BPE and what Hugging Face's tokenizers make of the same kind of sentences with it.
string bpe = Path.Combine(text, "bpe-tiny");
Directory.CreateDirectory(bpe);
string[] bpeSentences = ["the cat sat on the mat", "The cat is on the mat!", "héllo 12 cats", "  the  cat  ", "it's the cat's mat", ""];
File.WriteAllText(Path.Combine(bpe, "sentences.txt"), string.Join('\n', bpeSentences.Select(s => JsonSerializer.Serialize(s))) + "\n");
foreach (var (file, golden, prefixSpace) in new[] { ("tokenizer.json", "golden-ids.txt", false), ("tokenizer-prefix-space.json", "golden-ids-prefix-space.txt", true) })
{
    string path = Path.Combine(bpe, file);
    File.WriteAllText(path, ByteLevelBpe(prefixSpace));
    using var reference = new Tokenizers.DotNet.Tokenizer(path);
    File.WriteAllText(Path.Combine(bpe, golden), string.Join('\n', bpeSentences.Select(s => string.Join(' ', reference.Encode(s)))) + "\n");
}
string unigram = Path.Combine(text, "unigram-tiny");
Directory.CreateDirectory(unigram);
string[] unigramSentences = ["the cat sat on the mat", "The cat is on the mat!", "hello cats", "  the  cat  ", " the mat", ""];
File.WriteAllText(Path.Combine(unigram, "sentences.txt"), string.Join('\n', unigramSentences.Select(s => JsonSerializer.Serialize(s))) + "\n");
File.WriteAllText(Path.Combine(unigram, "tokenizer.json"), Unigram());
using (var reference = new Tokenizers.DotNet.Tokenizer(Path.Combine(unigram, "tokenizer.json")))
    File.WriteAllText(Path.Combine(unigram, "golden-ids.txt"), string.Join('\n', unigramSentences.Select(s => string.Join(' ', reference.Encode(s)))) + "\n");
Console.WriteLine($"wrote {Path.Combine(text, "reviews.csv")}, reviews-tokenizer.json, bert-tiny/, bpe-tiny/ and unigram-tiny/");

// A Unigram tokenizer.json: <pad> </s> <unk>, then scored pieces; Metaspace splits words; </s> ends every text.
static string Unigram()
{
    (string Piece, double Score)[] pieces =
    [
        ("<pad>", 0), ("</s>", 0), ("<unk>", 0), ("▁", -2), ("▁the", -3), ("▁cat", -4), ("▁c", -6), ("at", -5), ("▁sat", -4.5), ("▁on", -4),
        ("▁mat", -4.2), ("s", -3.5), ("t", -4), ("h", -4), ("e", -3.8), ("a", -3.7), ("m", -4.1), ("o", -4), ("n", -4), ("c", -4.3), ("▁is", -4),
        ("i", -4), ("!", -5), ("▁he", -5.5), ("llo", -7),
    ];
    var metaspace = new JsonObject { ["type"] = "Metaspace", ["replacement"] = "▁", ["prepend_scheme"] = "always", ["split"] = true };
    var json = new JsonObject
    {
        ["version"] = "1.0",
        ["truncation"] = null,
        ["padding"] = null,
        ["added_tokens"] = new JsonArray(new[] { "<pad>", "</s>", "<unk>" }.Select((s, i) => (JsonNode)new JsonObject { ["id"] = i, ["content"] = s,
            ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false, ["normalized"] = false, ["special"] = true }).ToArray()),
        ["normalizer"] = null,
        ["pre_tokenizer"] = metaspace,
        ["post_processor"] = new JsonObject
        {
            ["type"] = "TemplateProcessing",
            ["single"] = new JsonArray(new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "A", ["type_id"] = 0 } },
                new JsonObject { ["SpecialToken"] = new JsonObject { ["id"] = "</s>", ["type_id"] = 0 } }),
            ["pair"] = new JsonArray(),
            ["special_tokens"] = new JsonObject { ["</s>"] = new JsonObject { ["id"] = "</s>", ["ids"] = new JsonArray(1), ["tokens"] = new JsonArray("</s>") } },
        },
        ["decoder"] = metaspace.DeepClone(),
        ["model"] = new JsonObject { ["type"] = "Unigram", ["unk_id"] = 2,
            ["vocab"] = new JsonArray(pieces.Select(p => (JsonNode)new JsonArray(p.Piece, p.Score)).ToArray()), ["byte_fallback"] = false },
    };
    return json.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n";
}

// A byte-level BPE tokenizer.json: <s> <pad> </s> <unk>, GPT-2's 256 byte symbols in byte order, then the merges' tokens.
static string ByteLevelBpe(bool prefixSpace)
{
    var printable = Enumerable.Range('!', '~' - '!' + 1).Concat(Enumerable.Range(0xA1, 0xAC - 0xA1 + 1)).Concat(Enumerable.Range(0xAE, 0xFF - 0xAE + 1)).ToHashSet();
    var symbol = new Dictionary<int, char>();
    int shifted = 0;
    for (int b = 0; b < 256; b++) symbol[b] = printable.Contains(b) ? (char)b : (char)(256 + shifted++);
    var vocab = new JsonObject();
    int id = 0;
    string[] specials = ["<s>", "<pad>", "</s>", "<unk>"];
    foreach (var s in specials) vocab[s] = id++;
    for (int b = 0; b < 256; b++) vocab[symbol[b].ToString()] = id++;
    string[] merges = ["h e", "t he", "Ġ the", "a t", "c at", "Ġ cat", "s at", "Ġ sat", "o n", "Ġ on", "m at", "Ġ mat", "Ġ t", "i s", "Ġ is"];
    foreach (var m in merges) if (!vocab.ContainsKey(m.Replace(" ", ""))) vocab[m.Replace(" ", "")] = id++;
    var byteLevel = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = prefixSpace, ["trim_offsets"] = true, ["use_regex"] = true };
    var json = new JsonObject
    {
        ["version"] = "1.0",
        ["truncation"] = null,
        ["padding"] = null,
        ["added_tokens"] = new JsonArray(specials.Select((s, i) => (JsonNode)new JsonObject { ["id"] = i, ["content"] = s, ["single_word"] = false, ["lstrip"] = false,
            ["rstrip"] = false, ["normalized"] = false, ["special"] = true }).ToArray()),
        ["normalizer"] = null,
        ["pre_tokenizer"] = byteLevel,
        ["post_processor"] = new JsonObject { ["type"] = "RobertaProcessing", ["sep"] = new JsonArray("</s>", 2), ["cls"] = new JsonArray("<s>", 0), ["trim_offsets"] = true,
            ["add_prefix_space"] = prefixSpace },
        ["decoder"] = byteLevel.DeepClone(),
        ["model"] = new JsonObject { ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = null, ["continuing_subword_prefix"] = "", ["end_of_word_suffix"] = "",
            ["fuse_unk"] = false, ["byte_fallback"] = false, ["ignore_merges"] = false, ["vocab"] = vocab, ["merges"] = new JsonArray(merges.Select(m => (JsonNode)m).ToArray()) },
    };
    return json.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n";
}

// A tokenizer.json as Hugging Face's BertTokenizerFast saves one.
static string Tokenizer(string[] vocab, string unknown, (string Cls, int ClsId, string Sep, int SepId)? post)
{
    var specials = new JsonArray();
    foreach (var (token, id) in vocab.Select((t, i) => (t, i)).Where(p => p.t.StartsWith('[') || p.t.StartsWith('<')))
        specials.Add(new JsonObject { ["id"] = id, ["content"] = token, ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false,
            ["normalized"] = false, ["special"] = true });
    var model = new JsonObject { ["type"] = "WordPiece", ["unk_token"] = unknown, ["continuing_subword_prefix"] = "##", ["max_input_chars_per_word"] = 100 };
    var entries = new JsonObject();
    for (int i = 0; i < vocab.Length; i++) entries[vocab[i]] = i;
    model["vocab"] = entries;
    JsonNode? processor = null;
    if (post is var (cls, clsId, sep, sepId))
        processor = new JsonObject
        {
            ["type"] = "TemplateProcessing",
            ["single"] = new JsonArray(Special(cls), new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "A", ["type_id"] = 0 } }, Special(sep)),
            ["pair"] = new JsonArray(Special(cls), new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "A", ["type_id"] = 0 } }, Special(sep),
                new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "B", ["type_id"] = 1 } }, Special(sep, 1)),
            ["special_tokens"] = new JsonObject
            {
                [cls] = new JsonObject { ["id"] = cls, ["ids"] = new JsonArray(clsId), ["tokens"] = new JsonArray(cls) },
                [sep] = new JsonObject { ["id"] = sep, ["ids"] = new JsonArray(sepId), ["tokens"] = new JsonArray(sep) },
            },
        };
    var json = new JsonObject
    {
        ["version"] = "1.0",
        ["truncation"] = null,
        ["padding"] = null,
        ["added_tokens"] = specials,
        ["normalizer"] = new JsonObject { ["type"] = "BertNormalizer", ["clean_text"] = true, ["handle_chinese_chars"] = true, ["strip_accents"] = null, ["lowercase"] = true },
        ["pre_tokenizer"] = new JsonObject { ["type"] = "BertPreTokenizer" },
        ["post_processor"] = processor,
        ["decoder"] = new JsonObject { ["type"] = "WordPiece", ["prefix"] = "##", ["cleanup"] = true },
        ["model"] = model,
    };
    return json.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n";

    static JsonObject Special(string token, int type = 0) => new() { ["SpecialToken"] = new JsonObject { ["id"] = token, ["type_id"] = type } };
}

// A little-endian int64 .npy, C order.
static (long[] Values, int[] Shape) ReadInt64(string path)
{
    var bytes = File.ReadAllBytes(path);
    int headerLength = BitConverter.ToUInt16(bytes, 8);
    string header = Encoding.ASCII.GetString(bytes, 10, headerLength);
    if (!header.Contains("'<i8'")) throw new InvalidOperationException($"{path} is not int64");
    string dims = header[(header.IndexOf('(') + 1)..header.IndexOf(')')];
    var shape = dims.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(int.Parse).ToArray();
    var values = new long[shape.Aggregate(1, (a, b) => a * b)];
    Buffer.BlockCopy(bytes, 10 + headerLength, values, 0, values.Length * 8);
    return (values, shape);
}
