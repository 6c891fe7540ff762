#!/usr/bin/env -S dotnet run
// Writes the table datasets the tests read, from the repository's Fashion-MNIST test split (data/fashion-mnist/):
//
//     dotnet run tools/make_table_fixtures.cs                      (from the repository root)
//
//   tests/fixtures/tables/fmnist-hf.parquet       64 images in the Hugging Face layout: image {bytes: PNG, path}, label
//                                                 (int64), ink (the mean pixel, double), note (text); the class names
//                                                 in the 'huggingface' key-value metadata as a ClassLabel feature; row
//                                                 groups of 16 rows
//   tests/fixtures/tables/fmnist-shards/          the same rows in two Parquet files (train-0000{0,1}-of-00002.parquet)
//   tests/fixtures/tables/fmnist-pixels.arrow     the same images as an Arrow IPC file: id (text), pixels (list of 28
//                                                 lists of 28 uint8), label (class names as text), ink; batches of 24 rows
//   tests/fixtures/tables/manifest/               the 64 as PNG files under images/, listed by manifest.csv (class
//                                                 names, a note with a comma, doubled quotes and a line break in quotes,
//                                                 CRLF line ends), manifest.tsv and manifest.jsonl (class indices)
//   tests/corpus/parquet-*/                       the bad-input corpus's Parquet cases (tools/make_corpus.py calls this
//                                                 with 'corpus' to write only them)
//
//     dotnet run tools/make_table_fixtures.cs -- bench OUT IDX_FOLDER
//
//   writes OUT/fmnist-70k.parquet: the 70,000 Fashion-MNIST images (train then test) of IDX_FOLDER as PNG bytes in
//   the Hugging Face layout, row groups of 1,024 rows, and the same images and labels as one IDX pair
//   (OUT/fmnist-70k-{images-idx3,labels-idx1}-ubyte.gz), for bench/parquet.sh.
//
// Deterministic: the same inputs give the same files.
#:package DuckDB.NET.Data.Full@1.5.6.1
#:package SkiaSharp@3.119.4
#:package SkiaSharp.NativeAssets.Linux.NoDependencies@3.119.4
#:package Apache.Arrow@23.0.0
#:property PublishAot=false

using System.Globalization;
using System.IO.Compression;
using System.Text;
using Apache.Arrow;
using Apache.Arrow.Ipc;
using Apache.Arrow.Types;
using DuckDB.NET.Data;
using SkiaSharp;

string root = Directory.GetCurrentDirectory();
string data = Path.Combine(root, "data", "fashion-mnist");
if (!File.Exists(Path.Combine(data, "classes.txt"))) { Console.Error.WriteLine("run from the repository root"); return 2; }
string[] classes = File.ReadAllLines(Path.Combine(data, "classes.txt")).Where(l => l.Length > 0).ToArray();

if (args is ["bench", var benchOut, var idxFolder])
{
    var (trainImages, trainLabels) = (ReadIdx(Path.Combine(idxFolder, "train-images-idx3-ubyte.gz")), ReadIdx(Path.Combine(idxFolder, "train-labels-idx1-ubyte.gz")));
    var (testImages, testLabels) = (ReadIdx(Path.Combine(idxFolder, "t10k-images-idx3-ubyte.gz")), ReadIdx(Path.Combine(idxFolder, "t10k-labels-idx1-ubyte.gz")));
    Directory.CreateDirectory(benchOut);
    // One IDX body after the other, under the first file's header (Rows reads past the 16- and 8-byte headers).
    var rows = Rows([.. trainImages, .. testImages.AsSpan(16)], [.. trainLabels, .. testLabels.AsSpan(8)], 70_000);
    WriteParquet(Path.Combine(benchOut, "fmnist-70k.parquet"), rows, rowGroup: 1024);
    // The same 70,000 images and labels as one IDX pair, for the IDX path to read the same samples.
    WriteIdx(Path.Combine(benchOut, "fmnist-70k-images-idx3-ubyte.gz"), 0x0803, [70_000, 28, 28], rows.SelectMany(r => r.Pixels).ToArray());
    WriteIdx(Path.Combine(benchOut, "fmnist-70k-labels-idx1-ubyte.gz"), 0x0801, [70_000], rows.Select(r => (byte)r.Label).ToArray());
    foreach (var f in Directory.GetFiles(benchOut, "fmnist-70k*")) Console.WriteLine($"wrote {f} ({new FileInfo(f).Length:N0} bytes)");
    return 0;
}

var images = ReadIdx(Path.Combine(data, "t10k-images-idx3-ubyte.gz"));
var labels = ReadIdx(Path.Combine(data, "t10k-labels-idx1-ubyte.gz"));
string corpus = Path.Combine(root, "tests", "corpus");
const string Model = "{repo}/models/fmnist-cnn/epoch-5.onnx";
string[] Analyze(string data, params string[] extra) => ["analyze", "--model", Model, "--data", data, .. extra, "--out", "{case}/out", "--map", "none"];

// The corpus's Parquet cases.
{
    var rows = Rows(images, labels, 4);
    Case("parquet-missing-column", Analyze("{case}/t.parquet", "--label-column", "species"), 1, "error: label column 'species' not found",
        dir => WriteParquet(Path.Combine(dir, "t.parquet"), rows, rowGroup: 4));
    var broken = rows.Select((r, i) => i == 2 ? r with { Png = Encoding.ASCII.GetBytes("not a png at all") } : r).ToArray();
    Case("parquet-undecodable-image-strict", Analyze("{case}/t.parquet", "--strict"), 1, "error: image failed to decode: row 2 of Parquet t.parquet",
        dir => WriteParquet(Path.Combine(dir, "t.parquet"), broken, rowGroup: 4));
}
if (args is ["corpus"]) return 0;

string tables = Path.Combine(root, "tests", "fixtures", "tables");
if (Directory.Exists(tables)) Directory.Delete(tables, recursive: true);
Directory.CreateDirectory(tables);
var sample = Rows(images, labels, 64);
WriteParquet(Path.Combine(tables, "fmnist-hf.parquet"), sample, rowGroup: 16);
Directory.CreateDirectory(Path.Combine(tables, "fmnist-shards"));
WriteParquet(Path.Combine(tables, "fmnist-shards", "train-00000-of-00002.parquet"), sample[..40], rowGroup: 16);
WriteParquet(Path.Combine(tables, "fmnist-shards", "train-00001-of-00002.parquet"), sample[40..], rowGroup: 16);
WriteArrow(Path.Combine(tables, "fmnist-pixels.arrow"), sample, batch: 24);
WriteManifests(Path.Combine(tables, "manifest"), sample);
Console.WriteLine($"wrote {tables}");
return 0;

// One row of a table: the image's pixels and PNG, its label, and the fields that go with it.
Row[] Rows(byte[] idxImages, byte[] idxLabels, int count) =>
    Enumerable.Range(0, count).Select(i =>
    {
        var pixels = idxImages.AsSpan(16 + i * 784, 784).ToArray();
        int label = idxLabels[8 + i];
        string note = (i % 4) switch { 0 => "plain", 1 => "seen, twice", 2 => "says \"hi\"", _ => "two\nlines" };
        return new Row(i, pixels, Png(pixels), label, Math.Round(pixels.Average(p => p) / 255.0, 6), note);
    }).ToArray();

static byte[] Png(byte[] pixels)
{
    using var bitmap = new SKBitmap(new SKImageInfo(28, 28, SKColorType.Gray8, SKAlphaType.Opaque));
    System.Runtime.InteropServices.Marshal.Copy(pixels, 0, bitmap.GetPixels(), 784);
    using var encoded = bitmap.Encode(SKEncodedImageFormat.Png, 100);
    return encoded.ToArray();
}

static void WriteIdx(string path, int magic, int[] dims, byte[] body)
{
    using var gz = new GZipStream(File.Create(path), CompressionLevel.Optimal);
    var header = new byte[4 + 4 * dims.Length];
    System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(header, magic);
    for (int d = 0; d < dims.Length; d++) System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4 + 4 * d), dims[d]);
    gz.Write(header);
    gz.Write(body);
}

static byte[] ReadIdx(string path)
{
    using var gz = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
    using var all = new MemoryStream();
    gz.CopyTo(all);
    return all.ToArray();
}

void WriteParquet(string path, IReadOnlyList<Row> rows, int rowGroup)
{
    using var db = new DuckDBConnection("Data Source=:memory:");
    db.Open();
    Exec(db, "CREATE TABLE t (n BIGINT, bytes BLOB, path VARCHAR, label BIGINT, ink DOUBLE, note VARCHAR)");
    using (var appender = db.CreateAppender("t"))
        foreach (var r in rows)
            appender.CreateRow().AppendValue((long)r.Index).AppendValue(r.Png).AppendValue($"{r.Index:D5}.png").AppendValue((long)r.Label)
                .AppendValue(r.Ink).AppendValue(r.Note).EndRow();
    // The metadata the Hugging Face 'datasets' library writes: the features, with the label's class names.
    string features = "{\"info\": {\"features\": {\"image\": {\"_type\": \"Image\"}, \"label\": {\"names\": ["
        + string.Join(", ", classes.Select(c => "\"" + c + "\"")) + "], \"_type\": \"ClassLabel\"}, \"ink\": {\"dtype\": \"float64\", \"_type\": \"Value\"}, "
        + "\"note\": {\"dtype\": \"string\", \"_type\": \"Value\"}}}}";
    if (File.Exists(path)) File.Delete(path);
    Exec(db, $"COPY (SELECT {{'bytes': bytes, 'path': path}} AS image, label, ink, note FROM t ORDER BY n) TO '{path.Replace("'", "''")}' "
             + $"(FORMAT parquet, ROW_GROUP_SIZE {rowGroup}, KV_METADATA {{huggingface: '{features.Replace("'", "''")}'}})");
}

static void Exec(DuckDBConnection db, string sql)
{
    using var cmd = db.CreateCommand();
    cmd.CommandText = sql;
    cmd.ExecuteNonQuery();
}

void WriteArrow(string path, IReadOnlyList<Row> rows, int batch)
{
    var pixelsType = new ListType(new ListType(UInt8Type.Default));
    var schema = new Schema.Builder()
        .Field(f => f.Name("id").DataType(StringType.Default).Nullable(false))
        .Field(f => f.Name("pixels").DataType(pixelsType).Nullable(false))
        .Field(f => f.Name("label").DataType(StringType.Default).Nullable(false))
        .Field(f => f.Name("ink").DataType(DoubleType.Default).Nullable(false))
        .Build();
    using var file = File.Create(path);
    using var writer = new ArrowFileWriter(file, schema);
    for (int start = 0; start < rows.Count; start += batch)
    {
        var part = rows.Skip(start).Take(batch).ToArray();
        var values = new UInt8Array.Builder();
        foreach (var r in part) values.AppendRange(r.Pixels);
        static ArrowBuffer Offsets(int count, int step) => new ArrowBuffer.Builder<int>().AppendRange(Enumerable.Range(0, count + 1).Select(k => k * step)).Build();
        var lines = new ListArray(new ListType(UInt8Type.Default), part.Length * 28, Offsets(part.Length * 28, 28), values.Build(), ArrowBuffer.Empty, 0, 0);
        var pixels = new ListArray(pixelsType, part.Length, Offsets(part.Length, 28), lines, ArrowBuffer.Empty, 0, 0);
        var ids = new StringArray.Builder().AppendRange(part.Select(r => $"t10k-{r.Index:D5}")).Build();
        var names = new StringArray.Builder().AppendRange(part.Select(r => classes[r.Label])).Build();
        var ink = new DoubleArray.Builder().AppendRange(part.Select(r => r.Ink)).Build();
        writer.WriteRecordBatch(new RecordBatch(schema, [ids, pixels, names, ink], part.Length));
    }
    writer.WriteEnd();
}

void WriteManifests(string folder, IReadOnlyList<Row> rows)
{
    Directory.CreateDirectory(Path.Combine(folder, "images"));
    foreach (var r in rows) File.WriteAllBytes(Path.Combine(folder, "images", $"{r.Index:D4}.png"), r.Png);
    static string Quoted(string s) => "\"" + s.Replace("\"", "\"\"") + "\"";
    var c = CultureInfo.InvariantCulture;
    // CSV: class names as labels, a note that needs quoting on every row, CRLF line ends (a line break inside quotes stays LF).
    File.WriteAllText(Path.Combine(folder, "manifest.csv"), "file,label,note,ink\r\n"
        + string.Concat(rows.Select(r => $"images/{r.Index:D4}.png,{Quoted(classes[r.Label])},{Quoted(r.Note)},{r.Ink.ToString(c)}\r\n")));
    // TSV: the image column first, class indices, no note.
    File.WriteAllText(Path.Combine(folder, "manifest.tsv"), "path\tlabel\tink\n"
        + string.Concat(rows.Select(r => $"images/{r.Index:D4}.png\t{r.Label}\t{r.Ink.ToString(c)}\n")));
    // JSONL: one object a line, the id and image given by name.
    File.WriteAllText(Path.Combine(folder, "manifest.jsonl"), string.Concat(rows.Select(r =>
        System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, object> { ["id"] = $"t10k-{r.Index:D5}", ["image"] = $"images/{r.Index:D4}.png", ["label"] = r.Label, ["note"] = r.Note, ["ink"] = r.Ink }) + "\n")));
}

void Case(string name, string[] commandLine, int code, string message, Action<string> files)
{
    string dir = Path.Combine(corpus, name);
    if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
    Directory.CreateDirectory(dir);
    files(dir);
    File.WriteAllText(Path.Combine(dir, "args"), string.Join("\n", commandLine) + "\n");
    File.WriteAllText(Path.Combine(dir, "expect"), $"{code}\n{message}\n");
}

record Row(int Index, byte[] Pixels, byte[] Png, int Label, double Ink, string Note);
