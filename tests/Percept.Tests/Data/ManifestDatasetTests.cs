using Percept.Data;
using SkiaSharp;

namespace Percept.Tests.Data;

/// <summary>
/// Manifests of image paths (tests/fixtures/tables/manifest/, written by tools/make_table_fixtures.cs from the first 64
/// images of the Fashion-MNIST test split): CSV with quoted notes that hold a comma, quotes and a line break, TSV, JSONL.
/// </summary>
public class ManifestDatasetTests
{
    static string Fixture(string name) => Path.Combine(TestFiles.Root, "tests", "fixtures", "tables", "manifest", name);
    static readonly string[] Classes = File.ReadAllLines(TestFiles.FashionClasses).Where(l => l.Length > 0).ToArray();

    static ManifestDataset Open(string path, IReadOnlyList<string>? classes = null, string? image = null, bool strict = false, Action<string>? warn = null) =>
        new(path, image, null, classes, 28, 28, 1, strict, warn);

    static (float[] Values, int[] Labels, string[] Ids) ReadAll(IDataset ds)
    {
        var b = ds.ReadBatches(100).Single();
        return (b.Values[..(b.Count * ds.Format.Length)], b.Labels[..b.Count], b.Ids[..b.Count]);
    }

    [Theory]
    [InlineData("manifest.csv", "file")]
    [InlineData("manifest.tsv", "path")]
    [InlineData("manifest.jsonl", "image")]
    public void Csv_tsv_and_jsonl_manifests_give_the_idx_pixels_and_labels(string name, string imageColumn)
    {
        using var ds = Open(Fixture(name), Classes);
        Assert.Equal(64, ds.Count);
        Assert.Equal(imageColumn, ds.ImageColumn);
        Assert.Equal(Classes, ds.ClassNames);
        using var idx = new IdxDataset(TestFiles.FashionImages, TestFiles.FashionLabels);
        var expected = idx.ReadBatches(64).First();
        var (values, labels, ids) = ReadAll(ds);
        Assert.Equal(expected.Values[..(64 * 784)], values);
        Assert.Equal(expected.Labels[..64], labels);
        Assert.Equal(name.EndsWith(".jsonl", StringComparison.Ordinal) ? "t10k-00003" : "images/0003.png", ids[3]);
    }

    [Fact]
    public void The_other_columns_are_fields_and_keep_their_commas_quotes_and_line_breaks()
    {
        using var ds = Open(Fixture("manifest.csv"), Classes);
        Assert.Equal(["note", "ink"], ds.FieldNames);
        var fields = ds.ReadFields().ToArray();
        Assert.Equal(["plain", "seen, twice", "says \"hi\"", "two\nlines"], fields.Take(4).Select(f => f.Values[0]));
        Assert.Equal("images/0001.png", fields[1].Id);
        using var jsonl = Open(Fixture("manifest.jsonl"));
        Assert.Equal(["note", "ink"], jsonl.FieldNames);
        Assert.Equal("two\nlines", jsonl.ReadFields().ElementAt(3).Values[0]);
        // Without class names, names in the label column become the classes, sorted; indices stay indices.
        using var named = Open(Fixture("manifest.csv"));
        Assert.Equal(named.ClassNames, named.ClassNames!.Order(StringComparer.Ordinal));
        Assert.Null(jsonl.ClassNames);
    }

    [Fact]
    public void Missing_files_are_skipped_with_one_warning_or_refused_when_strict()
    {
        using var dir = new TempDir();
        TestFiles.WritePng(dir["imgs/a.png"], 5, 5, new SKColor(10, 20, 30));
        TestFiles.WritePng(dir["imgs/c.png"], 5, 5, new SKColor(200, 200, 200));
        File.WriteAllText(dir["imgs/d.png"], "not an image");
        File.WriteAllText(dir["m.csv"], $"file,label,where\nimgs/a.png,cat,here\nimgs/b.png,dog,gone\n{dir["imgs/c.png"]},dog,absolute\nimgs/d.png,cat,broken\n");
        var warnings = new List<string>();
        using var ds = Open(dir["m.csv"], warn: warnings.Add);
        Assert.Equal(3, ds.Count);
        Assert.Equal("skipped 1 image(s) the manifest names that do not exist: imgs/b.png", warnings.Single());
        var (_, labels, ids) = ReadAll(ds);
        Assert.Equal(["imgs/a.png", dir["imgs/c.png"]], ids);
        Assert.Equal([0, 1], labels);
        Assert.Equal(1, ds.Skipped);
        Assert.Equal("skipped imgs/d.png: not a decodable image", warnings[1]);
        // Fields name every row, the missing one too: its id matches no sample of a run.
        Assert.Equal(["here", "gone", "absolute", "broken"], ds.ReadFields().Select(f => f.Values[0]));

        var e = Assert.Throws<PerceptException>(() => Open(dir["m.csv"], strict: true));
        Assert.Equal($"manifest {dir["m.csv"]} names 1 of 4 file(s) that do not exist: imgs/b.png (paths are relative to the manifest's folder); unset DataSource.Strict to skip them", e.Message);
        File.WriteAllText(dir["none.csv"], "file\nx.png\ny.png\nz.png\nw.png\n");
        Assert.Equal($"manifest {dir["none.csv"]} names 4 of 4 file(s) that do not exist: x.png, y.png, z.png, … (paths are relative to the manifest's folder)",
            Assert.Throws<PerceptException>(() => Open(dir["none.csv"])).Message);
    }

    [Fact]
    public void A_csv_is_a_manifest_when_a_column_names_images_and_a_table_otherwise()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir["t.csv"], "a,b,label\n1,2,0\n");
        File.WriteAllText(dir["m.csv"], "label,picture\n0,x/y.JPG\n");
        Assert.False(ManifestDataset.IsManifest(dir["t.csv"], null));
        Assert.True(ManifestDataset.IsManifest(dir["m.csv"], null));
        Assert.True(ManifestDataset.IsManifest(dir["t.csv"], "a"));
        var source = new DataSource { Path = dir["t.csv"] };
        using (var table = source.Open([4], new PreprocessOptions())) Assert.IsType<CsvDataset>(table);
        Assert.StartsWith("manifest ", Assert.Throws<PerceptException>(() => new DataSource { Path = dir["m.csv"] }.Open([1, 28, 28], new PreprocessOptions())).Message);
        Assert.StartsWith($"image column 'nope' not found in {dir["m.csv"]} (columns: label, picture)",
            Assert.Throws<PerceptException>(() => new DataSource { Path = dir["m.csv"], ImageColumn = "nope" }.Open([1, 28, 28], new PreprocessOptions())).Message);
        File.WriteAllText(dir["dup.csv"], "file\nimgs/a.png\nimgs/a.png\n");
        Assert.Equal($"manifest rows 1 and 2 of {dir["dup.csv"]} both name 'imgs/a.png'; each sample may appear once",
            Assert.Throws<PerceptException>(() => Open(dir["dup.csv"])).Message);
        File.WriteAllText(dir["bad.jsonl"], "{\"image\": \"a.png\"}\n[1, 2]\n");
        Assert.Equal($"manifest {dir["bad.jsonl"]} line 2 is not a JSON object (one object a line, keys as columns)", Assert.Throws<PerceptException>(() => Open(dir["bad.jsonl"])).Message);
    }
}
