using System.Text;
using Percept.Data;
using Percept.Store;

namespace Percept.Tests.Data;

/// <summary>The one CSV reader: quoted fields, doubled quotes, line breaks inside quotes, CRLF, a BOM and tabs.</summary>
public class DelimitedTextTests
{
    /// <summary>Every row of a delimited file, as its cells.</summary>
    static List<string[]> Rows(string path)
    {
        using var reader = DelimitedText.Open(path, "test file");
        var rows = new List<string[]> { DelimitedText.Header(reader) };
        foreach (var row in reader)
        {
            if (DelimitedText.IsBlank(row)) continue;
            var cells = new string[row.ColCount];
            for (int i = 0; i < cells.Length; i++) cells[i] = row[i].ToString();
            rows.Add(cells);
        }
        return rows;
    }

    [Fact]
    public void Quoted_fields_keep_separators_quotes_and_line_breaks_across_crlf_and_a_bom()
    {
        using var dir = new TempDir();
        byte[] text = Encoding.UTF8.GetBytes("id, name ,notes\r\n1,a.png,\"two\r\nlines, and \"\"quotes\"\"\"\r\n\r\n2 , b.png ,\" padded \"\r\n");
        File.WriteAllBytes(dir["t.csv"], [0xEF, 0xBB, 0xBF, .. text]);
        var rows = Rows(dir["t.csv"]);
        Assert.Equal(["id", "name", "notes"], rows[0]);
        Assert.Equal(["1", "a.png", "two\r\nlines, and \"quotes\""], rows[1]);
        // Outside quotes cells are trimmed; inside they are the user's.
        Assert.Equal(["2", "b.png", " padded "], rows[2]);
        Assert.Equal(3, rows.Count);
    }

    [Fact]
    public void Tsv_files_split_on_tabs_and_keep_commas()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir["t.tsv"], "a\tb\n1,5\t\"x\ty\"\n");
        var rows = Rows(dir["t.tsv"]);
        Assert.Equal(["a", "b"], rows[0]);
        Assert.Equal(["1,5", "x\ty"], rows[1]);
        Assert.True(DelimitedText.IsTabSeparated(dir["t.tsv"]));
        Assert.False(DelimitedText.IsTabSeparated(dir["t.csv"]));
    }

    [Fact]
    public void An_empty_file_and_a_ragged_row_are_refused_with_their_place()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir["e.csv"], "");
        Assert.Equal($"test file {dir["e.csv"]} is empty", Assert.Throws<PerceptException>(() => DelimitedText.Open(dir["e.csv"], "test file")).Message);
        File.WriteAllText(dir["r.csv"], "a,b,label\n1,2,0\n\"3,4\",0\n");
        var e = Assert.Throws<PerceptException>(() => new CsvDataset(dir["r.csv"]));
        Assert.Equal($"CSV row 2 of {dir["r.csv"]} has 2 cells; the header has 3", e.Message);
        File.WriteAllText(dir["q.csv"], "a,b,label\n1,2,0\n\"3,4,0\n5,6,1\n");
        Assert.Equal($"CSV row 2 of {dir["q.csv"]} has 1 cells; the header has 3 (a quoted field runs over several lines: a quote not closed?)",
            Assert.Throws<PerceptException>(() => new CsvDataset(dir["q.csv"])).Message);
        // A column named twice (found by the readers' fuzzing): one line, naming the column.
        File.WriteAllText(dir["d.csv"], "a,b,c,c,label\n1,2,3,4,0\n");
        var d = Assert.Throws<PerceptException>(() => new CsvDataset(dir["d.csv"])).Message;
        Assert.StartsWith($"CSV file {dir["d.csv"]} has a header Percept cannot read:", d);
        Assert.Contains("'c'", d);
        Assert.DoesNotContain("\n", d);
        File.WriteAllText(dir["m.csv"], "index,x,x\n0,1,2\n");
        Assert.Contains("every column needs its own name", Assert.Throws<PerceptException>(() => new MetadataFile(dir["m.csv"])).Message);
    }

    [Fact]
    public void A_csv_table_reads_quoted_numbers_and_names_with_line_breaks()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir["t.csv"], "id,a,b,label\r\n\"r,1\",\"1.5\",2,\"big\r\ncat\"\r\nr2,-3,4e-1,dog\r\n");
        using var ds = new CsvDataset(dir["t.csv"]);
        Assert.Equal(["big\r\ncat", "dog"], ds.ClassNames);
        var b = ds.ReadBatches(1).Select(b => (b.Ids[0], b.Values[0], b.Values[1], b.Labels[0])).ToList();
        Assert.Equal([("r,1", 1.5f, 2f, 0), ("r2", -3f, 0.4f, 1)], b);
    }

    [Fact]
    public void Metadata_csv_goes_through_the_same_reader_and_gets_typed_columns()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir["m.csv"], "id,count,weight,ok,notes\na,1,0.5,true,\"one\nnote\"\nb,2,,false,\"say \"\"hi\"\"\"\n");
        var m = new MetadataFile(dir["m.csv"]);
        Assert.Equal(["count", "weight", "ok", "notes"], m.Columns);
        using var db = new DuckDB.NET.Data.DuckDBConnection("Data Source=:memory:");
        db.Open();
        using (var cmd = db.CreateCommand())
        {
            cmd.CommandText = "CREATE TABLE samples (\"index\" BIGINT, \"id\" VARCHAR); INSERT INTO samples VALUES (0, 'a'), (1, 'b')";
            cmd.ExecuteNonQuery();
        }
        Assert.Equal(["count", "weight", "ok", "notes"], m.JoinInto(db, ["index", "id"], null));
        using var q = db.CreateCommand();
        q.CommandText = "SELECT typeof(count), typeof(weight), typeof(ok), typeof(notes), count, weight, ok, notes FROM samples ORDER BY \"index\"";
        using var r = q.ExecuteReader();
        Assert.True(r.Read());
        Assert.Equal(["BIGINT", "DOUBLE", "BOOLEAN", "VARCHAR"], new[] { r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3) });
        Assert.Equal((1L, 0.5, true, "one\nnote"), (r.GetInt64(4), r.GetDouble(5), r.GetBoolean(6), r.GetString(7)));
        Assert.True(r.Read());
        Assert.True(r.IsDBNull(5));
        Assert.Equal("say \"hi\"", r.GetString(7));
    }
}
