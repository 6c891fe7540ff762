using System.IO.Compression;
using Percept.Data;

namespace Percept.Tests.Data;

public class IdxDatasetTests
{
    [Fact]
    public void Labels_come_in_either_format_whatever_the_samples_are()
    {
        // IDX images with a .npy label vector, and .npy images with the IDX label file: the pairings a user has at hand.
        using var dir = new TempDir();
        using var idx = new IdxDataset(TestFiles.FashionImages, TestFiles.FashionLabels);
        var labels = idx.ReadBatches(10000).SelectMany(b => b.Labels.Take(b.Count)).Select(l => (long)l).ToArray();
        Percept.IO.Npy.Write(dir["y.npy"], labels, labels.Length);
        using var withNpy = new IdxDataset(TestFiles.FashionImages, dir["y.npy"]);
        Assert.Equal(labels, withNpy.ReadBatches(4096).SelectMany(b => b.Labels.Take(b.Count)).Select(l => (long)l));
        var pixels = new float[20 * 784];
        using (var w = new Percept.IO.NpyWriter(dir["x.npy"], Percept.IO.NpyType.Float32, [28, 28])) w.WriteRows(pixels.AsSpan(0, 20 * 784));
        Assert.Contains("label count 10000", Assert.Throws<PerceptException>(() => new NpyDataset(dir["x.npy"], TestFiles.FashionLabels)).Message);
        Percept.IO.Npy.Write(dir["x10k.npy"], new float[10000 * 4], 10000, 4);
        using var npyWithIdx = new NpyDataset(dir["x10k.npy"], TestFiles.FashionLabels);
        Assert.Equal(labels, npyWithIdx.ReadBatches(4096).SelectMany(b => b.Labels.Take(b.Count)).Select(l => (long)l));
        File.WriteAllText(dir["y.txt"], "not labels");
        Assert.Contains("neither an IDX label file nor a .npy vector", Assert.Throws<PerceptException>(() => new IdxDataset(TestFiles.FashionImages, dir["y.txt"])).Message);
    }

    [Fact]
    public void Reads_the_bundled_fashion_mnist_test_split_in_batches()
    {
        using var ds = new IdxDataset(TestFiles.FashionImages, TestFiles.FashionLabels);
        Assert.Equal(10000, ds.Count);
        Assert.Equal(new[] { 28, 28, 1 }, ds.Format.Shape);
        Assert.True(ds.Format.IsBytes);
        Assert.Equal("test", ds.Split);
        int seen = 0, batches = 0;
        var labelCounts = new int[10];
        foreach (var b in ds.ReadBatches(999))
        {
            if (seen == 0) { Assert.Equal(9, b.Labels[0]); Assert.Equal("0", b.Ids[0]); }
            for (int i = 0; i < b.Count; i++) labelCounts[b.Labels[i]]++;
            Assert.InRange(b.Values.AsSpan(0, b.Count * 784).ToArray().Max(), 1, 255);
            seen += b.Count; batches++;
        }
        Assert.Equal(10000, seen);
        Assert.Equal(11, batches);
        Assert.All(labelCounts, c => Assert.Equal(1000, c));
    }

    [Fact]
    public void Plain_and_gzip_files_read_the_same()
    {
        using var dir = new TempDir();
        using (var gz = new GZipStream(File.OpenRead(TestFiles.FashionLabels), CompressionMode.Decompress))
        using (var f = File.Create(dir["labels.idx"])) gz.CopyTo(f);
        using var a = new IdxDataset(TestFiles.FashionImages, TestFiles.FashionLabels);
        using var b = new IdxDataset(TestFiles.FashionImages, dir["labels.idx"]);
        Assert.Equal(a.ReadBatches(10000).First().Labels, b.ReadBatches(10000).First().Labels);
    }

    static byte[] Idx(byte type, int[] dims, int payload)
    {
        var bytes = new List<byte> { 0, 0, type, (byte)dims.Length };
        foreach (var d in dims) bytes.AddRange([(byte)(d >> 24), (byte)(d >> 16), (byte)(d >> 8), (byte)d]);
        bytes.AddRange(new byte[payload]);
        return [.. bytes];
    }

    static byte[] Gzip(byte[] data)
    {
        using var m = new MemoryStream();
        using (var gz = new GZipStream(m, CompressionLevel.Fastest)) gz.Write(data);
        return m.ToArray();
    }

    [Fact]
    public void A_gzip_file_is_measured_by_its_trailer_or_counted_when_it_has_several_members()
    {
        using var dir = new TempDir();
        var idx = Idx(8, [3, 2, 2], 12);
        for (int i = 16; i < idx.Length; i++) idx[i] = (byte)(i * 7);
        File.WriteAllBytes(dir["plain.idx"], idx);
        File.WriteAllBytes(dir["one.idx.gz"], Gzip(idx));
        // bgzip writes many members, and the trailer gives only the last one's size: such a file is counted.
        File.WriteAllBytes(dir["two.idx.gz"], [.. Gzip(idx[..7]), .. Gzip(idx[7..])]);
        float[] Values(string path) { using var d = new IdxDataset(path); var b = d.ReadBatches(10).Single(); return b.Values.AsSpan(0, b.Count * 4).ToArray(); }
        var expected = Values(dir["plain.idx"]);
        Assert.Equal(expected, Values(dir["one.idx.gz"]));
        Assert.Equal(expected, Values(dir["two.idx.gz"]));
        // A last member whose size happens to be the whole file's expected size: the bytes past the samples are found
        // while streaming.
        File.WriteAllBytes(dir["more.idx.gz"], [.. Gzip(idx[..5]), .. Gzip([.. idx[5..], 1, 2, 3, 4, 5])]);
        Assert.Contains("holds more bytes after its 3 samples", Assert.Throws<PerceptException>(() => Values(dir["more.idx.gz"])).Message);
        File.WriteAllBytes(dir["more2.idx.gz"], [.. Gzip(idx[..5]), .. Gzip([.. idx[5..], 1])]);
        Assert.Contains("holds 1 bytes after its 3 samples", Assert.Throws<PerceptException>(() => new IdxDataset(dir["more2.idx.gz"])).Message);
        File.WriteAllBytes(dir["short.idx.gz"], [.. Gzip(idx[..5]), .. Gzip(idx[5..^1])]);
        Assert.Contains("truncated IDX", Assert.Throws<PerceptException>(() => new IdxDataset(dir["short.idx.gz"])).Message);
    }

    [Fact]
    public void Corrupt_truncated_and_mismatched_files_fail_with_one_clear_line()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir["short.idx"], Idx(8, [3, 2, 2], 10));
        Assert.Contains("truncated IDX", Assert.Throws<PerceptException>(() => new IdxDataset(dir["short.idx"])).Message);

        var gz = File.ReadAllBytes(TestFiles.FashionImages);
        File.WriteAllBytes(dir["cut.gz"], gz[..(gz.Length / 2)]);
        // A cut gzip file is found while streaming (it is not decompressed twice up front).
        var e = Assert.Throws<PerceptException>(() =>
        {
            using var cut = new IdxDataset(dir["cut.gz"]);
            foreach (var _ in cut.ReadBatches(1000)) { }
        });
        Assert.True(e.Message.Contains("truncated") || e.Message.Contains("corrupt"), e.Message);

        File.WriteAllText(dir["text.idx"], "this is not an idx file");
        Assert.Contains("not an IDX", Assert.Throws<PerceptException>(() => new IdxDataset(dir["text.idx"])).Message);

        File.WriteAllBytes(dir["ok.idx"], Idx(8, [3, 2, 2], 12));
        File.WriteAllBytes(dir["labels.idx"], Idx(8, [4], 4));
        Assert.Contains("label count 4", Assert.Throws<PerceptException>(() => new IdxDataset(dir["ok.idx"], dir["labels.idx"])).Message);
        Assert.Contains("not found", Assert.Throws<PerceptException>(() => new IdxDataset(dir["missing.idx"])).Message);
    }
}
