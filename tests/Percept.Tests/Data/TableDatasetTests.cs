using DuckDB.NET.Data;
using Percept.Data;
using SkiaSharp;

namespace Percept.Tests.Data;

/// <summary>
/// Parquet and Arrow datasets (tests/fixtures/tables/, written by tools/make_table_fixtures.cs from the first 64 images of
/// the Fashion-MNIST test split): the same pixels, labels and classes as the IDX files they were made from.
/// </summary>
public class TableDatasetTests
{
    static string Fixture(string name) => Path.Combine(TestFiles.Root, "tests", "fixtures", "tables", name);
    static readonly string[] Classes = File.ReadAllLines(TestFiles.FashionClasses).Where(l => l.Length > 0).ToArray();

    /// <summary>The first <paramref name="n"/> IDX samples: pixels, labels.</summary>
    static (float[] Pixels, int[] Labels) Idx(int n)
    {
        using var idx = new IdxDataset(TestFiles.FashionImages, TestFiles.FashionLabels);
        var b = idx.ReadBatches(n).First();
        return (b.Values[..(n * 784)], b.Labels[..n]);
    }

    static (float[] Values, int[] Labels, string[] Ids) ReadAll(IDataset ds, int batchSize = 10)
    {
        var values = new List<float>();
        var labels = new List<int>();
        var ids = new List<string>();
        foreach (var b in ds.ReadBatches(batchSize))
        {
            values.AddRange(b.Values.AsSpan(0, b.Count * ds.Format.Length).ToArray());
            labels.AddRange(b.Labels[..b.Count]);
            ids.AddRange(b.Ids[..b.Count]);
        }
        return ([.. values], [.. labels], [.. ids]);
    }

    static TableDataset Open(string path, string? image = null, string? label = null, IReadOnlyList<string>? classes = null, bool strict = false, Action<string>? warn = null) =>
        new(path, image, label, classes, () => (28, 28, 1), strict, warn);

    [Fact]
    public void A_hugging_face_parquet_file_gives_the_idx_pixels_labels_and_class_names()
    {
        using var ds = Open(Fixture("fmnist-hf.parquet"));
        Assert.Equal(64, ds.Count);
        Assert.Equal("image", ds.ImageColumn);
        Assert.Equal(new SampleFormat(SampleKind.Image, [28, 28, 1], true).ShapeText, ds.Format.ShapeText);
        Assert.Equal(SampleKind.Image, ds.Format.Kind);
        Assert.Equal(Classes, ds.ClassNames);
        Assert.Equal(["ink", "note"], ds.FieldNames);
        var (pixels, labels) = Idx(64);
        var (values, read, ids) = ReadAll(ds);
        Assert.Equal(pixels, values);
        Assert.Equal(labels, read);
        Assert.Equal(Enumerable.Range(0, 64).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), ids);
        var fields = ds.ReadFields().ToList();
        Assert.Equal(64, fields.Count);
        Assert.Equal(("3", "two\nlines"), (fields[3].Id, fields[3].Values[1]));
        Assert.Equal("says \"hi\"", fields[2].Values[1]);
        Assert.Equal(Math.Round(pixels.Skip(784).Take(784).Average() / 255.0, 6), double.Parse(fields[1].Values[0]!, System.Globalization.CultureInfo.InvariantCulture), 9);
    }

    [Fact]
    public void A_folder_of_parquet_shards_reads_as_one_table_in_file_order()
    {
        using var one = Open(Fixture("fmnist-hf.parquet"));
        using var shards = Open(Fixture("fmnist-shards"));
        Assert.Equal(64, shards.Count);
        Assert.Equal(ReadAll(one, 7), ReadAll(shards, 7), new TupleComparer());
        Assert.Contains("2 files", shards.Description);
        // The split is guessed from the file names, as Hugging Face writes them.
        Assert.Equal(("all", "train"), (one.Split, shards.Split));
    }

    sealed class TupleComparer : IEqualityComparer<(float[], int[], string[])>
    {
        public bool Equals((float[], int[], string[]) a, (float[], int[], string[]) b) =>
            a.Item1.SequenceEqual(b.Item1) && a.Item2.SequenceEqual(b.Item2) && a.Item3.SequenceEqual(b.Item3);
        public int GetHashCode((float[], int[], string[]) obj) => obj.Item1.Length;
    }

    [Fact]
    public void A_slice_reads_the_rows_it_names_across_row_groups()
    {
        // Row groups of 16 rows: the slice starts inside the second and ends inside the fourth.
        using var ds = Open(Fixture("fmnist-hf.parquet"));
        var all = ReadAll(ds, 64);
        var slice = ds.ReadBatches(8, 20, 30).SelectMany(b => b.Ids[..b.Count]).ToArray();
        Assert.Equal(all.Ids[20..50], slice);
        var values = ds.ReadBatches(8, 20, 30).SelectMany(b => b.Values[..(b.Count * 784)]).ToArray();
        Assert.Equal(all.Values[(20 * 784)..(50 * 784)], values);
    }

    [Fact]
    public void An_arrow_file_of_nested_pixel_lists_is_images_with_named_labels()
    {
        using var ds = Open(Fixture("fmnist-pixels.arrow"), classes: Classes);
        Assert.Equal(64, ds.Count);
        Assert.Equal("pixels", ds.ImageColumn);
        Assert.Equal(SampleKind.Image, ds.Format.Kind);
        Assert.Equal([28, 28, 1], ds.Format.Shape);
        Assert.True(ds.Format.IsBytes);
        Assert.Equal(["ink"], ds.FieldNames);
        var (pixels, labels) = Idx(64);
        var (values, read, ids) = ReadAll(ds, 20);
        Assert.Equal(pixels, values);
        Assert.Equal(labels, read);
        Assert.Equal("t10k-00005", ids[5]);
        Assert.Equal("t10k-00005", ds.ReadFields().ElementAt(5).Id);

        // Without class names the label names become the classes, sorted.
        using var sorted = Open(Fixture("fmnist-pixels.arrow"));
        Assert.Equal(Classes.Where(c => labels.Select(l => Classes[l]).Contains(c)).Order(StringComparer.Ordinal), sorted.ClassNames);
    }

    /// <summary>A Parquet file written by DuckDB from a query.</summary>
    static string Parquet(TempDir dir, string name, string select)
    {
        using var db = new DuckDBConnection("Data Source=:memory:");
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = $"COPY ({select}) TO '{dir[name]}' (FORMAT parquet)";
        cmd.ExecuteNonQuery();
        return dir[name];
    }

    static string Hex(byte[] bytes) => Convert.ToHexString(bytes);

    [Fact]
    public void Undecodable_image_bytes_are_skipped_with_a_warning_or_stop_when_strict()
    {
        using var dir = new TempDir();
        TestFiles.WritePng(dir["red.png"], 6, 4, new SKColor(255, 0, 0));
        string png = Hex(File.ReadAllBytes(dir["red.png"]));
        string path = Parquet(dir, "t.parquet",
            $"SELECT * FROM (VALUES (from_hex('{png}'), 'cat'), (from_hex('{Hex("not an image"u8.ToArray())}'), 'dog'), (from_hex('{png}'), 'dog'), (NULL, 'cat')) t(picture, species)");
        var warnings = new List<string>();
        using var ds = new TableDataset(path, null, "species", null, () => (4, 6, 3), strict: false, warnings.Add);
        Assert.Equal("picture", ds.ImageColumn);
        Assert.Equal(["cat", "dog"], ds.ClassNames);
        var (values, labels, ids) = ReadAll(ds);
        Assert.Equal(["0", "2"], ids);
        Assert.Equal([0, 1], labels);
        Assert.Equal([255f, 0f, 0f], values[..3]);
        Assert.Equal(2, ds.Skipped);
        Assert.Equal(["skipped row 1 of Parquet t.parquet: not a decodable image", "skipped row 3 of Parquet t.parquet: not a decodable image"], warnings);

        using var strict = new TableDataset(path, null, "species", null, () => (4, 6, 3), strict: true);
        var e = Assert.Throws<PerceptException>(() => ReadAll(strict));
        Assert.StartsWith("image failed to decode: row 1 of Parquet t.parquet, column 'picture'", e.Message);
    }

    [Fact]
    public void A_column_of_number_lists_is_a_table_of_features()
    {
        using var dir = new TempDir();
        string path = Parquet(dir, "t.parquet",
            "SELECT [i, i * 2, i * 3]::FLOAT[] AS features, i % 2 AS label, 'row ' || i AS caption, i * 10 AS id FROM range(5) r(i)");
        using var ds = Open(path);
        Assert.Equal(SampleKind.Table, ds.Format.Kind);
        Assert.Equal([3], ds.Format.Shape);
        Assert.False(ds.Format.IsBytes);
        Assert.Equal(["caption"], ds.FieldNames);
        var (values, labels, ids) = ReadAll(ds, 2);
        Assert.Equal([0f, 0, 0, 1, 2, 3, 2, 4, 6, 3, 6, 9, 4, 8, 12], values);
        Assert.Equal([0, 1, 0, 1, 0], labels);
        Assert.Equal(["0", "10", "20", "30", "40"], ids);

        // A fixed-size list (DuckDB's ARRAY, Arrow's FixedSizeList) of bytes, nested: images of 2 × 3.
        string fixedSize = Parquet(dir, "f.parquet", "SELECT [[i, i + 1, i + 2], [i + 3, i + 4, i + 5]]::UTINYINT[3][2] AS pixels FROM range(4) r(i)");
        using (var images = Open(fixedSize))
        {
            Assert.Equal((SampleKind.Image, "2x3x1", true), (images.Format.Kind, images.Format.ShapeText, images.Format.IsBytes));
            Assert.Equal([3f, 4, 5, 6, 7, 8], ReadAll(images, 3).Values[18..24]);
        }

        string ragged = Parquet(dir, "r.parquet", "SELECT (CASE WHEN i = 3 THEN [1, 2] ELSE [1, 2, 3] END)::DOUBLE[] AS features FROM range(5) r(i)");
        using var rag = Open(ragged);
        Assert.Contains("row 3 of Parquet r.parquet: column 'features' holds 2 numbers; the first row's shape 3 holds 3", Assert.Throws<PerceptException>(() => ReadAll(rag)).Message);
    }

    [Fact]
    public void Missing_columns_and_unreadable_files_are_named()
    {
        using var dir = new TempDir();
        string hf = Fixture("fmnist-hf.parquet");
        Assert.StartsWith($"label column 'species' not found in {hf} (columns: image, label, ink, note)", Assert.Throws<PerceptException>(() => Open(hf, label: "species")).Message);
        Assert.StartsWith($"image column 'photo' not found in {hf}", Assert.Throws<PerceptException>(() => Open(hf, image: "photo")).Message);
        Assert.Contains("neither encoded images", Assert.Throws<PerceptException>(() => Open(hf, image: "note")).Message);
        string numbers = Parquet(dir, "n.parquet", "SELECT i AS a, i * 2 AS b FROM range(3) r(i)");
        Assert.Contains("has no column of images (encoded bytes) or tensors", Assert.Throws<PerceptException>(() => Open(numbers)).Message);
        File.WriteAllText(dir["bad.parquet"], "this is not parquet");
        Assert.StartsWith($"cannot read {dir["bad.parquet"]} as Parquet", Assert.Throws<PerceptException>(() => Open(dir["bad.parquet"])).Message);
        File.WriteAllText(dir["bad.arrow"], "this is not arrow either");
        Assert.StartsWith($"{dir["bad.arrow"]} is not a readable Arrow IPC file", Assert.Throws<PerceptException>(() => Open(dir["bad.arrow"])).Message);
    }
}

public class TableDatasetLabelTests
{
    [Fact]
    public void Minus_one_is_no_label_and_a_repeated_id_is_refused_when_the_fields_join()
    {
        using var dir = new TempDir();
        using (var db = new DuckDB.NET.Data.DuckDBConnection("Data Source=:memory:"))
        {
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = $"COPY (SELECT [i, i + 1, i + 2, i + 3]::FLOAT[] AS x, CASE WHEN i = 2 THEN -1 ELSE i % 3 END AS label, 'r' || (i % 4) AS id, i AS n FROM range(6) r(i)) TO '{dir["t.parquet"]}' (FORMAT parquet)";
            cmd.ExecuteNonQuery();
        }
        using var ds = new TableDataset(dir["t.parquet"], null, null, null, () => (1, 1, 1));
        Assert.Equal([0, 1, -1, 0, 1, 2], ds.ReadBatches(10).Single().Labels[..6]);
        var e = Assert.Throws<PerceptException>(() => Analysis.Run(new AnalysisOptions
        {
            ModelPath = TinyModels.Mlp(dir["m.onnx"], 4, 5, 3), Data = new DataSource { Path = dir["t.parquet"] }, OutputDirectory = dir["run"],
            Map = new Percept.Projection.MapOptions { Method = Percept.Projection.MapMethod.None },
        }));
        Assert.EndsWith("has 2 samples with id 'r0'; each sample's id must be its own", e.Message);
        Assert.False(Directory.Exists(dir["run"]));
    }
}

public class SampleReadingTests
{
    [Fact]
    public void A_sample_is_read_directly_when_nothing_was_skipped_and_streamed_otherwise()
    {
        string parquet = Path.Combine(TestFiles.Root, "tests", "fixtures", "tables", "fmnist-hf.parquet");
        using var streamed = new TableDataset(parquet, null, null, null, () => (28, 28, 1));
        using var direct = new CompleteDataset(new TableDataset(parquet, null, null, null, () => (28, 28, 1)));
        foreach (int i in new[] { 0, 17, 63 })
        {
            var (a, la, ia) = streamed.ReadSample(i);
            var (b, lb, ib) = direct.ReadSample(i);
            Assert.Equal((a, la, ia), (b, lb, ib), new SampleComparer());
            Assert.Equal(i.ToString(System.Globalization.CultureInfo.InvariantCulture), ib);
        }
        Assert.Throws<ArgumentException>(() => new CompleteDataset(new IdxDataset(TestFiles.FashionImages)));
    }

    sealed class SampleComparer : IEqualityComparer<(float[], int, string)>
    {
        public bool Equals((float[], int, string) x, (float[], int, string) y) => x.Item1.SequenceEqual(y.Item1) && x.Item2 == y.Item2 && x.Item3 == y.Item3;
        public int GetHashCode((float[], int, string) obj) => obj.Item2;
    }
}
