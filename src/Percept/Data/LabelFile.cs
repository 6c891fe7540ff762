using Percept.IO;

namespace Percept.Data;

/// <summary>
/// A file of one class index per sample, in either format a dataset comes with: an IDX label file (MNIST's layout, one
/// axis of unsigned bytes, plain or gzip) or a NumPy <c>.npy</c> vector of integers — whatever format the samples are in.
/// </summary>
internal static class LabelFile
{
    /// <summary>The labels of <paramref name="count"/> samples from <paramref name="path"/>.</summary>
    /// <exception cref="PerceptException">A file of neither format, a count that does not match, a label that is not a class index.</exception>
    public static int[] Read(string path, int count, string samplesPath)
    {
        if (!File.Exists(path)) throw new PerceptException($"file not found: {path}");
        return IsNpy(path) ? ReadNpy(path, count, samplesPath) : IdxDataset.ReadLabels(path, count, samplesPath);
    }

    static bool IsNpy(string path)
    {
        using var f = File.OpenRead(path);
        Span<byte> magic = stackalloc byte[6];
        return f.ReadAtLeast(magic, 6, throwOnEndOfStream: false) == 6 && magic[0] == 0x93 && magic[1..].SequenceEqual("NUMPY"u8);
    }

    static int[] ReadNpy(string path, int count, string samplesPath)
    {
        var raw = Npy.ReadInt64(path, out var shape);
        if (shape.Length != 1 && !(shape.Length == 2 && shape[1] == 1))
            throw new PerceptException($"labels {path} have shape ({string.Join(", ", shape)}); one label per sample ([N]) expected");
        if (raw.Length != count)
            throw new PerceptException($"label count {raw.Length} in {path} does not match sample count {count} in {samplesPath}");
        var labels = new int[count];
        for (int i = 0; i < count; i++)
        {
            if (raw[i] < 0 || raw[i] > int.MaxValue) throw new PerceptException($"label {raw[i]} of sample {i} in {path} is not a class index");
            labels[i] = (int)raw[i];
        }
        return labels;
    }
}
