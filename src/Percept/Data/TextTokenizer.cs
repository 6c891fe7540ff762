using System.Text;
using System.Text.Json;
using Microsoft.ML.Tokenizers;

namespace Percept.Data;

/// <summary>
/// A text model's tokenizer, read from a Hugging Face <c>tokenizer.json</c> or a BERT <c>vocab.txt</c>, built on
/// Microsoft.ML.Tokenizers: the model section of the file (WordPiece, BPE or Unigram) becomes that library's tokenizer,
/// the normalizer its normalizer (BERT's lowercasing and accent stripping), and the post-processor (<c>[CLS] $A [SEP]</c>,
/// BERT's or RoBERTa's) the ids put around every text. <see cref="Encode"/> gives a text's ids cut to a length and padded
/// with <see cref="PadId"/>, as the tokenizer's own <c>truncation</c> and <c>padding</c> would: the special tokens are
/// kept and the text's own tokens cut at the end.
/// </summary>
public sealed partial class TextTokenizer
{
    readonly Tokenizer _inner;
    readonly int[] _prefix;
    readonly int[] _suffix;
    // Byte-level BPE with add_prefix_space: a text that does not start with a space gets one, so its first word is
    // tokenized as the others are.
    bool _prefixSpace;
    // Unigram (SentencePiece) prepends its "▁" to every text, where Hugging Face's Metaspace leaves a text that starts
    // with a space as it is: one leading space goes, so that both give the same pieces.
    bool _dropLeadingSpace;

    /// <summary>Every token by id (an id the file leaves out is <c>null</c>): the words a run shows for its token ids.</summary>
    public IReadOnlyList<string?> Vocabulary { get; }

    /// <summary>The id that pads a text to the model's length (<c>[PAD]</c>, <c>&lt;pad&gt;</c>, or the file's padding id; 0 when it names none).</summary>
    public int PadId { get; }

    /// <summary>Special tokens added around each text: at least this many ids precede and follow its own.</summary>
    public int SpecialTokens => _prefix.Length + _suffix.Length;

    /// <summary>One line: the kind of tokenizer, its vocabulary and what it adds, for the run's description.</summary>
    public string Description { get; }

    TextTokenizer(Tokenizer inner, string?[] vocabulary, int padId, int[] prefix, int[] suffix, string description)
    {
        _inner = inner;
        Vocabulary = vocabulary;
        PadId = padId;
        _prefix = prefix;
        _suffix = suffix;
        Description = description;
    }

    /// <summary>
    /// Reads a tokenizer: a Hugging Face <c>tokenizer.json</c> (any file whose content is JSON), or a BERT <c>vocab.txt</c>
    /// (one token a line; then WordPiece with BERT's lowercasing and <c>[CLS]</c>/<c>[SEP]</c>, as <c>BertTokenizer</c> does by default).
    /// </summary>
    /// <exception cref="PerceptException">The file is missing, is neither, or holds a kind of tokenizer Percept cannot build.</exception>
    public static TextTokenizer Load(string path)
    {
        if (!File.Exists(path)) throw new PerceptException($"tokenizer file not found: {path}");
        byte[] bytes = File.ReadAllBytes(path);
        int start = bytes.Length >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF ? 3 : 0;
        while (start < bytes.Length && bytes[start] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n') start++;
        if (start < bytes.Length && bytes[start] == '{') return FromJson(path, bytes);
        return FromVocabularyFile(path, bytes);
    }

    /// <summary>
    /// Writes the ids of <paramref name="text"/> into <paramref name="ids"/> (its whole length): the special tokens around
    /// the text's own tokens, those cut to fit, then padding.
    /// </summary>
    /// <returns>The ids that are not padding, and whether the text's tokens were cut to fit.</returns>
    public (int Length, bool Truncated) Encode(string text, Span<int> ids)
    {
        int room = ids.Length - _prefix.Length - _suffix.Length;
        if (room < 0) throw new PerceptException($"a length of {ids.Length} tokens leaves no room for a text between the tokenizer's {SpecialTokens} special tokens");
        if (_prefixSpace && text.Length > 0 && !char.IsWhiteSpace(text[0])) text = " " + text;
        if (_dropLeadingSpace && text.StartsWith(' ')) text = text[1..];
        var own = _inner.EncodeToIds(text, considerPreTokenization: true, considerNormalization: true);
        int kept = Math.Min(room, own.Count);
        _prefix.CopyTo(ids);
        for (int i = 0; i < kept; i++) ids[_prefix.Length + i] = own[i];
        _suffix.CopyTo(ids[(_prefix.Length + kept)..]);
        int length = _prefix.Length + kept + _suffix.Length;
        ids[length..].Fill(PadId);
        return (length, own.Count > kept);
    }

    /// <summary>A BERT vocabulary file: one token a line, line number = id.</summary>
    static TextTokenizer FromVocabularyFile(string path, byte[] bytes)
    {
        string content;
        try { content = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes); }
        catch (DecoderFallbackException) { throw new PerceptException($"tokenizer {path} is neither a tokenizer.json nor a vocab.txt (it is not UTF-8 text)"); }
        var tokens = content.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        if (tokens.Count > 0 && tokens[^1].Length == 0) tokens.RemoveAt(tokens.Count - 1);
        if (tokens.Count == 0 || tokens.Any(t => t.Length == 0 || t.Any(char.IsControl)))
            throw new PerceptException($"tokenizer {path} is neither a tokenizer.json nor a vocab.txt (one token a line, none blank)");
        var vocabulary = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < tokens.Count; i++) vocabulary.TryAdd(tokens[i], i);
        foreach (var special in new[] { "[UNK]", "[CLS]", "[SEP]" })
            if (!vocabulary.ContainsKey(special))
                throw new PerceptException($"tokenizer {path} has no {special} token: a BERT vocab.txt holds [PAD], [UNK], [CLS] and [SEP] (or give the model's tokenizer.json)");
        var specials = new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" }.Where(vocabulary.ContainsKey).ToDictionary(t => t, t => vocabulary[t]);
        var inner = WordPiece(tokens, path, lowercase: true, chinese: true, stripAccents: true, "[UNK]", "##", 100, specials);
        int pad = vocabulary.TryGetValue("[PAD]", out int p) ? p : 0;
        return new TextTokenizer(inner, [.. tokens], pad, [vocabulary["[CLS]"]], [vocabulary["[SEP]"]],
            $"BERT vocab.txt {Path.GetFileName(path)} (WordPiece, {tokens.Count:N0} tokens, lowercased, [CLS] … [SEP])");
    }

    static TextTokenizer FromJson(string path, byte[] bytes)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(bytes, new JsonDocumentOptions { AllowTrailingCommas = true }); }
        catch (JsonException e) { throw new PerceptException($"tokenizer {path} is not valid JSON: {e.Message.Split('\n')[0]}"); }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object)
                throw new PerceptException($"tokenizer {path} is not a Hugging Face tokenizer.json: it has no 'model' section");
            string type = model.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()!
                : model.TryGetProperty("merges", out _) ? "BPE"
                : model.TryGetProperty("vocab", out var v) && v.ValueKind == JsonValueKind.Array ? "Unigram"
                : model.TryGetProperty("continuing_subword_prefix", out _) ? "WordPiece" : "";
            var added = AddedTokens(root, path);
            var normalizer = Normalization.Of(root.TryGetProperty("normalizer", out var n) ? n : default);
            (Tokenizer inner, string?[] vocabulary) = type switch
            {
                "WordPiece" => WordPieceFromJson(model, normalizer, added, path),
                "BPE" => BpeFromJson(root, model, normalizer, added, path),
                "Unigram" => UnigramFromJson(bytes, model, added, path),
                _ => throw new PerceptException($"tokenizer {path} has a model of type '{type}'; Percept reads WordPiece, BPE and Unigram tokenizers"),
            };
            var index = new Dictionary<string, int>(StringComparer.Ordinal);
            for (int i = 0; i < vocabulary.Length; i++)
                if (vocabulary[i] is { } token) index.TryAdd(token, i);
            var (prefix, suffix) = PostProcessor(root.TryGetProperty("post_processor", out var post) ? post : default, index, path);
            int pad = root.TryGetProperty("padding", out var padding) && padding.ValueKind == JsonValueKind.Object
                      && padding.TryGetProperty("pad_id", out var padId) && padId.TryGetInt32(out int pid) ? pid
                : index.TryGetValue("[PAD]", out int bert) ? bert : index.TryGetValue("<pad>", out int angle) ? angle : 0;
            string specials = prefix.Length + suffix.Length == 0 ? "no special tokens"
                : string.Join(" … ", new[] { string.Join(" ", prefix.Select(i => vocabulary[i])), string.Join(" ", suffix.Select(i => vocabulary[i])) }.Where(s => s.Length > 0));
            string description = $"{type} tokenizer.json {Path.GetFileName(path)} ({vocabulary.Count(s => s != null):N0} tokens"
                                 + (normalizer.Lowercase ? ", lowercased" : "") + $", {specials})";
            var pre = root.TryGetProperty("pre_tokenizer", out var p) ? p : default;
            return new TextTokenizer(inner, vocabulary, pad, prefix, suffix, description) {
                _prefixSpace = type == "BPE" && IsByteLevel(pre) && AddsPrefixSpace(pre), _dropLeadingSpace = type == "Unigram",
            };
        }
    }

    /// <summary>The normalizer's effects Percept reproduces: lowercasing, accent stripping and BERT's CJK spacing.</summary>
    readonly record struct Normalization(bool Lowercase, bool StripAccents, bool Chinese, bool Bert)
    {
        public static Normalization Of(JsonElement normalizer)
        {
            var result = new Normalization(false, false, false, false);
            if (normalizer.ValueKind != JsonValueKind.Object) return result;
            string? type = normalizer.TryGetProperty("type", out var t) ? t.GetString() : null;
            switch (type)
            {
                case "BertNormalizer":
                    bool lower = !normalizer.TryGetProperty("lowercase", out var l) || l.ValueKind != JsonValueKind.False;
                    // strip_accents null means "as lowercase" (the Hugging Face default).
                    bool strip = normalizer.TryGetProperty("strip_accents", out var s) && s.ValueKind is JsonValueKind.True or JsonValueKind.False
                        ? s.ValueKind == JsonValueKind.True : lower;
                    bool chinese = !normalizer.TryGetProperty("handle_chinese_chars", out var c) || c.ValueKind != JsonValueKind.False;
                    return new Normalization(lower, strip, chinese, true);
                case "Lowercase": return result with { Lowercase = true };
                case "StripAccents": return result with { StripAccents = true };
                case "Sequence" when normalizer.TryGetProperty("normalizers", out var list) && list.ValueKind == JsonValueKind.Array:
                    foreach (var step in list.EnumerateArray())
                    {
                        var inner = Of(step);
                        result = new Normalization(result.Lowercase || inner.Lowercase, result.StripAccents || inner.StripAccents,
                            result.Chinese || inner.Chinese, result.Bert || inner.Bert);
                    }
                    return result;
                default: return result;
            }
        }

        public Normalizer? Build() => Lowercase || StripAccents || Chinese || Bert ? new BertTextNormalizer(Lowercase, Chinese, StripAccents) : null;
    }

    /// <summary>The special tokens the file adds to its vocabulary (<c>added_tokens</c> with <c>special</c>), by content.</summary>
    static Dictionary<string, int> AddedTokens(JsonElement root, string path)
    {
        var added = new Dictionary<string, int>(StringComparer.Ordinal);
        if (!root.TryGetProperty("added_tokens", out var list) || list.ValueKind != JsonValueKind.Array) return added;
        foreach (var token in list.EnumerateArray())
            if (token.ValueKind == JsonValueKind.Object && token.TryGetProperty("content", out var c) && c.GetString() is { } content
                && token.TryGetProperty("id", out var id) && id.TryGetInt32(out int value)
                && (!token.TryGetProperty("special", out var s) || s.ValueKind == JsonValueKind.True))
                added[content] = value;
        return added;
    }

    static (Tokenizer, string?[]) WordPieceFromJson(JsonElement model, Normalization normalizer, Dictionary<string, int> added, string path)
    {
        var vocabulary = ModelVocabulary(model, path);
        if (vocabulary.Any(t => t == null))
            throw new PerceptException($"tokenizer {path}: the WordPiece vocabulary skips ids (ids 0 to {vocabulary.Length - 1}, one token each, are needed)");
        string unknown = model.TryGetProperty("unk_token", out var u) && u.GetString() is { } ut ? ut : "[UNK]";
        string prefix = model.TryGetProperty("continuing_subword_prefix", out var p) && p.GetString() is { } pt ? pt : "##";
        int maxChars = model.TryGetProperty("max_input_chars_per_word", out var m) && m.TryGetInt32(out int mc) ? mc : 100;
        if (!vocabulary.Contains(unknown)) throw new PerceptException($"tokenizer {path}: the unknown token '{unknown}' is not in the vocabulary");
        var inner = WordPiece(vocabulary!, path, normalizer.Lowercase, normalizer.Chinese, normalizer.StripAccents, unknown, prefix, maxChars, added);
        return (inner, vocabulary);
    }

    static Tokenizer WordPiece(IReadOnlyList<string> tokens, string path, bool lowercase, bool chinese, bool stripAccents, string unknown, string prefix,
        int maxChars, IReadOnlyDictionary<string, int> specials)
    {
        // WordPieceTokenizer reads a vocab.txt: one token a line, line number = id.
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(string.Join('\n', tokens) + "\n"));
        try
        {
            return WordPieceTokenizer.Create(stream, new WordPieceOptions
            {
                Normalizer = new BertTextNormalizer(lowercase, chinese, stripAccents),
                PreTokenizer = new BertWordSplitter(),
                SpecialTokens = specials.Count > 0 ? specials : null,
                UnknownToken = unknown,
                ContinuingSubwordPrefix = prefix,
                MaxInputCharsPerWord = maxChars,
            });
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException)
        {
            throw new PerceptException($"tokenizer {path}: its WordPiece vocabulary cannot be built ({e.Message.Split('\n')[0]})");
        }
    }

    static (Tokenizer, string?[]) BpeFromJson(JsonElement root, JsonElement model, Normalization normalizer, Dictionary<string, int> added, string path)
    {
        var vocabulary = ModelVocabulary(model, path);
        var merges = new List<string>();
        if (model.TryGetProperty("merges", out var m) && m.ValueKind == JsonValueKind.Array)
            foreach (var merge in m.EnumerateArray())
                merges.Add(merge.ValueKind == JsonValueKind.Array ? string.Join(' ', merge.EnumerateArray().Select(x => x.GetString())) : merge.GetString() ?? "");
        var pre = root.TryGetProperty("pre_tokenizer", out var p) ? p : default;
        bool byteLevel = IsByteLevel(pre);
        var options = new BpeOptions(vocabulary.Select((token, id) => (token, id)).Where(x => x.token != null).Select(x => new KeyValuePair<string, int>(x.token!, x.id)))
        {
            Merges = merges,
            SpecialTokens = added.Count > 0 ? added : null,
            Normalizer = normalizer.Build(),
            // Byte-level BPE (GPT-2, RoBERTa) splits words with GPT-2's pattern, a word taking the space before it.
            PreTokenizer = byteLevel ? new RegexPreTokenizer(Gpt2Words(), added.Count > 0 ? added : null) : PreTokenizer.CreateWordOrNonWord(added.Count > 0 ? added : null),
            UnknownToken = model.TryGetProperty("unk_token", out var u) ? u.GetString() : null,
            FuseUnknownTokens = model.TryGetProperty("fuse_unk", out var f) && f.ValueKind == JsonValueKind.True,
            ContinuingSubwordPrefix = model.TryGetProperty("continuing_subword_prefix", out var c) ? c.GetString() : null,
            EndOfWordSuffix = model.TryGetProperty("end_of_word_suffix", out var e) ? e.GetString() : null,
            ByteLevel = byteLevel,
        };
        try { return (BpeTokenizer.Create(options), vocabulary); }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or FormatException)
        {
            throw new PerceptException($"tokenizer {path}: its BPE model cannot be built ({ex.Message.Split('\n')[0]})");
        }
    }

    /// <summary>GPT-2's split of text into words (Hugging Face's ByteLevel pre-tokenizer with <c>use_regex</c>).</summary>
    [System.Text.RegularExpressions.GeneratedRegex(@"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+")]
    private static partial System.Text.RegularExpressions.Regex Gpt2Words();

    static bool AddsPrefixSpace(JsonElement pre) =>
        pre.ValueKind == JsonValueKind.Object
        && ((pre.TryGetProperty("add_prefix_space", out var a) && a.ValueKind == JsonValueKind.True)
            || (pre.TryGetProperty("pretokenizers", out var list) && list.ValueKind == JsonValueKind.Array && list.EnumerateArray().Any(AddsPrefixSpace)));

    static bool IsByteLevel(JsonElement pre) =>
        pre.ValueKind == JsonValueKind.Object && pre.TryGetProperty("type", out var t)
        && (t.GetString() == "ByteLevel"
            || (t.GetString() == "Sequence" && pre.TryGetProperty("pretokenizers", out var list) && list.ValueKind == JsonValueKind.Array
                && list.EnumerateArray().Any(IsByteLevel)));

    static (Tokenizer, string?[]) UnigramFromJson(byte[] bytes, JsonElement model, Dictionary<string, int> added, string path)
    {
        var vocabulary = ModelVocabulary(model, path);
        try
        {
            // The library reads a Unigram tokenizer.json itself; the special tokens are added by the post-processor here.
            using var stream = new MemoryStream(bytes, writable: false);
            return (SentencePieceTokenizer.CreateFromTokenizerJson(stream, addBeginningOfSentence: false, addEndOfSentence: false,
                specialTokens: added.Count > 0 ? added : null), vocabulary);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException or JsonException or NotSupportedException)
        {
            throw new PerceptException($"tokenizer {path}: its Unigram model cannot be built ({e.Message.Split('\n')[0]})");
        }
    }

    /// <summary>The model's vocabulary by id: a <c>{token: id}</c> object (WordPiece, BPE) or a <c>[[piece, score], …]</c> list (Unigram).</summary>
    static string?[] ModelVocabulary(JsonElement model, string path)
    {
        if (!model.TryGetProperty("vocab", out var vocab)) throw new PerceptException($"tokenizer {path}: its model has no vocabulary ('vocab')");
        var pairs = new List<(string Token, int Id)>();
        if (vocab.ValueKind == JsonValueKind.Object)
        {
            foreach (var p in vocab.EnumerateObject())
                if (p.Value.TryGetInt32(out int id) && id >= 0) pairs.Add((p.Name, id));
                else throw new PerceptException($"tokenizer {path}: the id of '{p.Name}' in its vocabulary is not a non-negative integer");
        }
        else if (vocab.ValueKind == JsonValueKind.Array)
        {
            int id = 0;
            foreach (var entry in vocab.EnumerateArray())
            {
                if (entry.ValueKind != JsonValueKind.Array || entry.GetArrayLength() == 0 || entry[0].GetString() is not { } piece)
                    throw new PerceptException($"tokenizer {path}: entry {id} of its vocabulary is not a [piece, score] pair");
                pairs.Add((piece, id++));
            }
        }
        else throw new PerceptException($"tokenizer {path}: its vocabulary is neither an object of ids nor a list of pieces");
        if (pairs.Count == 0) throw new PerceptException($"tokenizer {path}: its vocabulary is empty");
        var tokens = new string?[pairs.Max(p => p.Id) + 1];
        foreach (var (token, id) in pairs) tokens[id] = token;
        return tokens;
    }

    /// <summary>
    /// The ids a post-processor puts before and after a single text: <c>TemplateProcessing</c>'s <c>single</c> template,
    /// <c>BertProcessing</c>'s and <c>RobertaProcessing</c>'s <c>cls</c> and <c>sep</c>, or a <c>Sequence</c> holding one of them.
    /// </summary>
    static (int[] Prefix, int[] Suffix) PostProcessor(JsonElement post, Dictionary<string, int> index, string path)
    {
        if (post.ValueKind != JsonValueKind.Object || !post.TryGetProperty("type", out var t)) return ([], []);
        switch (t.GetString())
        {
            case "BertProcessing" or "RobertaProcessing":
                return ([Pair(post, "cls", path)], [Pair(post, "sep", path)]);
            case "TemplateProcessing":
            {
                if (!post.TryGetProperty("single", out var single) || single.ValueKind != JsonValueKind.Array) return ([], []);
                var specials = post.TryGetProperty("special_tokens", out var s) && s.ValueKind == JsonValueKind.Object ? s : default;
                List<int> prefix = [], suffix = [];
                bool seen = false;
                foreach (var piece in single.EnumerateArray())
                {
                    if (piece.TryGetProperty("Sequence", out _)) { seen = true; continue; }
                    if (!piece.TryGetProperty("SpecialToken", out var special) || special.GetProperty("id").GetString() is not { } name) continue;
                    var ids = specials.ValueKind == JsonValueKind.Object && specials.TryGetProperty(name, out var entry) && entry.TryGetProperty("ids", out var list)
                        ? list.EnumerateArray().Select(i => i.GetInt32()).ToArray()
                        : index.TryGetValue(name, out int id) ? [id]
                        : throw new PerceptException($"tokenizer {path}: its post-processor adds '{name}', which is not in its vocabulary");
                    (seen ? suffix : prefix).AddRange(ids);
                }
                return ([.. prefix], [.. suffix]);
            }
            case "Sequence" when post.TryGetProperty("processors", out var list) && list.ValueKind == JsonValueKind.Array:
                foreach (var step in list.EnumerateArray())
                    if (PostProcessor(step, index, path) is var (p, s) && p.Length + s.Length > 0) return (p, s);
                return ([], []);
            default:
                return ([], []);
        }
    }

    /// <summary>A <c>["[CLS]", 101]</c> pair of BertProcessing: its id.</summary>
    static int Pair(JsonElement post, string key, string path) =>
        post.TryGetProperty(key, out var pair) && pair.ValueKind == JsonValueKind.Array && pair.GetArrayLength() == 2 && pair[1].TryGetInt32(out int id) ? id
            : throw new PerceptException($"tokenizer {path}: its post-processor's '{key}' is not a [token, id] pair");
}
