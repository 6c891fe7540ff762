using nietras.SeparatedValues;

namespace Percept.Data;

/// <summary>
/// The one reader of delimited text in Percept — CSV tables, manifests and metadata files all go through it: Sep
/// (nietras), with quoted fields unescaped (separators, doubled quotes and line breaks inside quotes), CRLF or LF line
/// ends, a UTF-8 byte-order mark, blank lines skipped, and a comma between fields, or a tab for <c>.tsv</c> and
/// <c>.tab</c> files. Cells are trimmed outside quotes. A row whose cell count differs from the header's is refused
/// with its number (<see cref="CheckCells"/>), never read shifted.
/// </summary>
public static class DelimitedText
{
    /// <summary>Whether <paramref name="path"/> names a tab-separated file (<c>.tsv</c> or <c>.tab</c>).</summary>
    public static bool IsTabSeparated(string path) =>
        Path.GetExtension(path).ToLowerInvariant() is ".tsv" or ".tab";

    /// <summary>Whether <paramref name="path"/> names a delimited text file Percept reads (<c>.csv</c>, <c>.tsv</c>, <c>.tab</c>).</summary>
    public static bool IsDelimited(string path) =>
        IsTabSeparated(path) || Path.GetExtension(path).Equals(".csv", StringComparison.OrdinalIgnoreCase);

    /// <summary>Opens <paramref name="path"/> with its header read; the caller disposes the reader.</summary>
    /// <param name="what">What the file is, for messages ("CSV file", "manifest", "metadata file").</param>
    /// <exception cref="PerceptException">The file is missing, has no header, or names a column twice.</exception>
    public static SepReader Open(string path, string what)
    {
        if (!File.Exists(path)) throw new PerceptException($"{what} not found: {path}");
        SepReader reader;
        try
        {
            reader = Sep.New(IsTabSeparated(path) ? '\t' : ',')
                .Reader(o => o with { Unescape = true, Trim = SepTrim.Outer, DisableColCountCheck = true })
                .FromFile(path);
        }
        catch (ArgumentException e)
        {
            // Sep refuses a header that names a column twice (its message names the column and where).
            throw new PerceptException($"{what} {path} has a header Percept cannot read: {e.Message.Split('\n')[0].TrimEnd('.')}; every column needs its own name");
        }
        if (reader.Header.IsEmpty)
        {
            reader.Dispose();
            throw new PerceptException($"{what} {path} is empty");
        }
        return reader;
    }

    /// <summary>The header's column names, in order.</summary>
    public static string[] Header(SepReader reader) => [.. reader.Header.ColNames];

    /// <summary>Whether <paramref name="row"/> is a blank line (one empty cell), which readers skip.</summary>
    public static bool IsBlank(SepReader.Row row) => row.ColCount == 1 && row[0].Span.IsEmpty;

    /// <summary>Refuses a row whose cell count is not the header's.</summary>
    /// <param name="dataRow">The row's number among the data rows, from 1 (as messages name rows).</param>
    /// <exception cref="PerceptException">The counts differ.</exception>
    public static void CheckCells(SepReader.Row row, int headerCells, int dataRow, string path, string what)
    {
        if (row.ColCount == headerCells) return;
        // A quote opened and never closed takes the following lines into its field: say so, it is the likely mistake.
        bool runOn = row.ColCount < headerCells && row.Span.ContainsAny('\n', '\r');
        throw new PerceptException($"{what} row {dataRow} of {path} has {row.ColCount} cells; the header has {headerCells}"
                                   + (runOn ? " (a quoted field runs over several lines: a quote not closed?)" : ""));
    }
}
