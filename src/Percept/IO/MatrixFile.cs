
namespace Percept.IO;

/// <summary>Loads a 2-D float32 <c>.npy</c> as a <see cref="Matrix"/>, checking every value is finite.</summary>
public static class MatrixFile
{
    /// <param name="path">A 2-D float32 .npy file.</param>
    /// <param name="dropNonFinite">Drop rows holding NaN or ±Inf instead of failing.</param>
    /// <param name="keptRows">Original row numbers of the rows returned.</param>
    public static Matrix Load(string path, bool dropNonFinite, out int[] keptRows)
    {
        var header = Npy.ReadHeader(path);
        if (header.Type != NpyType.Float32 || header.Shape.Length != 2)
            throw new PerceptException($"{path} holds {Npy.Descr(header.Type)} {header.ShapeText}; a 2-D float32 array ([points, dimensions]) is expected");
        var data = Npy.ReadFloat32(path, out _);
        int rows = (int)header.Shape[0], cols = (int)header.Shape[1];
        var bad = new List<int>();
        for (int i = 0; i < rows; i++)
            if (!System.Numerics.Tensors.TensorPrimitives.IsFiniteAll<float>(data.AsSpan(i * cols, cols))) bad.Add(i);
        if (bad.Count == 0) { keptRows = Enumerable.Range(0, rows).ToArray(); return new Matrix(data, rows, cols); }
        if (!dropNonFinite)
            throw new PerceptException($"{path} has NaN or infinite values in {bad.Count} row(s): {string.Join(", ", bad.Take(10))}{(bad.Count > 10 ? ", …" : "")} (set {Terms.Option("drop-nonfinite")} to drop them)");
        var badSet = bad.ToHashSet();
        keptRows = Enumerable.Range(0, rows).Where(i => !badSet.Contains(i)).ToArray();
        var kept = new Matrix(keptRows.Length, cols);
        for (int r = 0; r < keptRows.Length; r++) data.AsSpan(keptRows[r] * cols, cols).CopyTo(kept.Row(r));
        return kept;
    }
}
