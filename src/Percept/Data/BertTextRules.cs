using System.Globalization;
using System.Text;
using Microsoft.ML.Tokenizers;

namespace Percept.Data;

/// <summary>
/// BERT's text normalizer, as Hugging Face's <c>BertNormalizer</c> applies it: control characters dropped and every
/// whitespace made a space (<c>clean_text</c>), CJK ideographs spaced apart (<c>handle_chinese_chars</c>), accents
/// stripped (NFD, then the non-spacing marks dropped) and lowercasing. (Microsoft.ML.Tokenizers keeps its own internal.)
/// </summary>
internal sealed class BertTextNormalizer(bool lowercase, bool spaceChinese, bool stripAccents) : Normalizer
{
    public override string Normalize(string original) => Normalize(original.AsSpan());

    public override string Normalize(ReadOnlySpan<char> original)
    {
        var text = new StringBuilder(original.Length + 8);
        foreach (var rune in original.EnumerateRunes())
        {
            int cp = rune.Value;
            if (cp == 0 || cp == 0xFFFD) continue;
            if (cp is '\t' or '\n' or '\r' || Rune.IsWhiteSpace(rune)) { text.Append(' '); continue; }
            var category = Rune.GetUnicodeCategory(rune);
            if (category is UnicodeCategory.Control or UnicodeCategory.Format) continue;
            if (spaceChinese && IsChinese(cp)) text.Append(' ').Append(rune.ToString()).Append(' ');
            else text.Append(rune.ToString());
        }
        string result = text.ToString();
        if (stripAccents) result = StripAccents(result);
        return lowercase ? result.ToLowerInvariant() : result;
    }

    /// <summary>
    /// NFD, then the non-spacing marks dropped. Where the runtime has no Unicode normalisation (globalization-invariant
    /// mode, as Percept runs), precomposed Latin letters (U+00C0–U+024F, U+1E00–U+1EFF) map to their base letters from
    /// tables made with Python's <c>unicodedata</c>, so "café" and "Über" still become "cafe" and "Uber".
    /// </summary>
    internal static string StripAccents(string text)
    {
        string decomposed;
        try { decomposed = text.Normalize(NormalizationForm.FormD); }
        catch (PlatformNotSupportedException) { decomposed = text; }
        var stripped = new StringBuilder(decomposed.Length);
        foreach (char c in decomposed)
        {
            if (CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.NonSpacingMark) continue;
            char b = c is >= '\u00C0' and < '\u0250' ? LatinBases[c - 0xC0] : c is >= '\u1E00' and < '\u1F00' ? ExtendedBases[c - 0x1E00] : '\0';
            stripped.Append(b != '\0' ? b : c);
        }
        return stripped.ToString();
    }

    /// <summary>The base letter of each of U+00C0–U+024F that decomposes to one plus marks ('\0' where none).</summary>
    const string LatinBases =
        "AAAAAA\0CEEEEIIII\0NOOOOO\0\0UUUUY\0\0aaaaaa\0ceeeeiiii"
        + "\0nooooo\0\0uuuuy\0yAaAaAaCcCcCcCcDd\0\0EeEeEeEeEeGgGg"
        + "GgGgHh\0\0IiIiIiIiI\0\0\0JjKk\0LlLlLl\0\0\0\0NnNnNn\0\0\0OoOo"
        + "Oo\0\0RrRrRrSsSsSsSsTtTt\0\0UuUuUuUuUuUuWwYyYZzZzZz\0"
        + "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0Oo\0\0\0\0\0\0\0\0\0\0\0\0\0U"
        + "u\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0AaIiOoUuUuUuUuUu\0Aa"
        + "AaÆæ\0\0GgKkOoOoƷ\0j\0\0\0Gg\0\0NnAaÆæØøAaAaEeEeIiIiOoOo"
        + "RrRrUuUuSsTt\0\0Hh\0\0\0\0\0\0AaEeOoOoOoOoYy\0\0\0\0\0\0\0\0\0\0\0\0"
        + "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";

    /// <summary>The same for Latin Extended Additional, U+1E00–U+1EFF.</summary>
    const string ExtendedBases =
        "AaBbBbBbCcDdDdDdDdDdEeEeEeEeEeFfGgHhHhHhHhHhIiIi"
        + "KkKkKkLlLlLlLlMmMmMmNnNnNnNnOoOoOoOoPpPpRrRrRrRr"
        + "SsSsSsSsSsTtTtTtTtUuUuUuUuUuVvVvWwWwWwWwWwXxXxYy"
        + "ZzZzZzhtwy\0ſ\0\0\0\0AaAaAaAaAaAaAaAaAaAaAaAaEeEeEeEe"
        + "EeEeEeEeIiIiOoOoOoOoOoOoOoOoOoOoOoOoUuUuUuUuUuUu"
        + "UuYyYyYyYy\0\0\0\0\0\0";

    /// <summary>The CJK ideograph blocks BERT spaces apart.</summary>
    static bool IsChinese(int cp) =>
        cp is >= 0x4E00 and <= 0x9FFF or >= 0x3400 and <= 0x4DBF or >= 0x20000 and <= 0x2A6DF or >= 0x2A700 and <= 0x2B73F
            or >= 0x2B740 and <= 0x2B81F or >= 0x2B820 and <= 0x2CEAF or >= 0xF900 and <= 0xFAFF or >= 0x2F800 and <= 0x2FA1F;
}

/// <summary>
/// BERT's pre-tokenizer, as Hugging Face's <c>BertPreTokenizer</c> splits: at whitespace, and every punctuation
/// character (ASCII symbols and Unicode punctuation) a word of its own.
/// </summary>
internal sealed class BertWordSplitter : PreTokenizer
{
    public override IEnumerable<(int Offset, int Length)> PreTokenize(string text) => Split(text.AsSpan());

    public override IEnumerable<(int Offset, int Length)> PreTokenize(ReadOnlySpan<char> text) => Split(text);

    static List<(int Offset, int Length)> Split(ReadOnlySpan<char> text)
    {
        var words = new List<(int, int)>();
        int start = -1;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (char.IsWhiteSpace(c))
            {
                if (start >= 0) words.Add((start, i - start));
                start = -1;
            }
            else if (IsPunctuation(c))
            {
                if (start >= 0) words.Add((start, i - start));
                words.Add((i, 1));
                start = -1;
            }
            else if (start < 0) start = i;
        }
        if (start >= 0) words.Add((start, text.Length - start));
        return words;
    }

    static bool IsPunctuation(char c) =>
        c is >= '!' and <= '/' or >= ':' and <= '@' or >= '[' and <= '`' or >= '{' and <= '~'
        || CharUnicodeInfo.GetUnicodeCategory(c) is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation
            or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
            or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation;
}
