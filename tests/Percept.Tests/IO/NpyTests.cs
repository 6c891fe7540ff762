using System.Buffers.Binary;
using System.Text;
using Percept.IO;

namespace Percept.Tests.IO;

public class NpyTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(7, 3)]
    [InlineData(33, 17)]
    [InlineData(0, 5)]
    public void Float32_round_trips_through_the_streaming_writer(int rows, int cols)
    {
        using var dir = new TempDir();
        var rng = new Random(rows * 31 + cols);
        var data = Enumerable.Range(0, rows * cols).Select(_ => (float)rng.NextDouble()).ToArray();
        string path = dir["a.npy"];
        using (var w = new NpyWriter(path, NpyType.Float32, [cols]))
            for (int r = 0; r < rows; r++) w.WriteRows(data.AsSpan(r * cols, cols));
        var back = Npy.ReadFloat32(path, out var shape);
        Assert.Equal(new long[] { rows, cols }, shape);
        Assert.Equal(data, back);
        Assert.Equal(0, (Npy.ReadHeader(path).DataOffset) % 64);
    }

    [Fact]
    public void Reads_files_that_numpy_wrote()
    {
        // tools/golden/*.npy were written by numpy.save.
        var logits = Npy.ReadFloat32(TestFiles.Golden("logits.npy"), out var shape);
        Assert.Equal(new long[] { 32, 10 }, shape);
        Assert.All(logits, v => Assert.True(float.IsFinite(v)));
    }

    static byte[] Raw(string descr, string shape, byte[] payload, bool fortran = false)
    {
        string dict = $"{{'descr': '{descr}', 'fortran_order': {(fortran ? "True" : "False")}, 'shape': {shape}, }}";
        int total = 10 + dict.Length + 1;
        int pad = (64 - total % 64) % 64;
        var header = new byte[10];
        new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0 }.CopyTo(header, 0);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(8), (ushort)(dict.Length + pad + 1));
        return [.. header, .. Encoding.ASCII.GetBytes(dict + new string(' ', pad) + "\n"), .. payload];
    }

    [Fact]
    public void Converts_integer_and_double_types()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir["u8.npy"], Raw("|u1", "(2, 2)", [0, 1, 254, 255]));
        Assert.Equal(new float[] { 0, 1, 254, 255 }, Npy.ReadFloat32(dir["u8.npy"], out _));
        var i32 = new byte[12];
        BinaryPrimitives.WriteInt32LittleEndian(i32, -5);
        BinaryPrimitives.WriteInt32LittleEndian(i32.AsSpan(4), 7);
        BinaryPrimitives.WriteInt32LittleEndian(i32.AsSpan(8), int.MaxValue);
        File.WriteAllBytes(dir["i32.npy"], Raw("<i4", "(3,)", i32));
        Assert.Equal(new long[] { -5, 7, int.MaxValue }, Npy.ReadInt64(dir["i32.npy"], out _));
        var f64 = new byte[16];
        BinaryPrimitives.WriteDoubleLittleEndian(f64, 1.5);
        BinaryPrimitives.WriteDoubleLittleEndian(f64.AsSpan(8), -2.25);
        File.WriteAllBytes(dir["f64.npy"], Raw("<f8", "(2,)", f64));
        Assert.Equal(new float[] { 1.5f, -2.25f }, Npy.ReadFloat32(dir["f64.npy"], out _));
    }

    [Fact]
    public void Rejects_bad_files_with_clear_messages()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir["text.npy"], "hello, not numpy");
        Assert.Contains("not a NumPy", Assert.Throws<PerceptException>(() => Npy.ReadHeader(dir["text.npy"])).Message);
        File.WriteAllBytes(dir["short.npy"], Raw("<f4", "(4, 4)", new byte[20]));
        Assert.Contains("truncated", Assert.Throws<PerceptException>(() => Npy.ReadHeader(dir["short.npy"])).Message);
        File.WriteAllBytes(dir["fortran.npy"], Raw("<f4", "(2, 2)", new byte[16], fortran: true));
        Assert.Contains("Fortran", Assert.Throws<PerceptException>(() => Npy.ReadHeader(dir["fortran.npy"])).Message);
        File.WriteAllBytes(dir["big.npy"], Raw(">f4", "(1,)", new byte[4]));
        Assert.Contains("unsupported", Assert.Throws<PerceptException>(() => Npy.ReadHeader(dir["big.npy"])).Message);
        Assert.Contains("not found", Assert.Throws<PerceptException>(() => Npy.ReadHeader(dir["missing.npy"])).Message);
    }
}
