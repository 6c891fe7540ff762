namespace Percept.Core;

/// <summary>
/// Rows of float32 values that need not fit in one array: a <see cref="Matrix"/> in memory, or a field of a run read
/// from disk. Streaming stages (PCA of the perception vectors, the vectors' export) read them block by block.
/// </summary>
public interface IRowSource
{
    int Rows { get; }
    int Columns { get; }

    /// <summary>Copies rows <paramref name="start"/> … <paramref name="start"/> + <paramref name="count"/> − 1 into
    /// <paramref name="destination"/> (count × <see cref="Columns"/> values). Safe to call from several threads at once.</summary>
    void Read(int start, int count, Span<float> destination);
}

/// <summary>A dense row-major float32 matrix: <see cref="Rows"/> points of <see cref="Columns"/> values.</summary>
public sealed class Matrix : IRowSource
{
    public Matrix(float[] data, int rows, int columns)
    {
        if ((long)rows * columns > data.Length) throw new ArgumentException($"{data.Length} values cannot hold {rows} x {columns}");
        Data = data;
        Rows = rows;
        Columns = columns;
    }

    public Matrix(int rows, int columns) : this(new float[checked(rows * columns)], rows, columns) { }

    public float[] Data { get; }
    public int Rows { get; }
    public int Columns { get; }

    public Span<float> Row(int i) => Data.AsSpan(i * Columns, Columns);

    /// <inheritdoc/>
    public void Read(int start, int count, Span<float> destination) => Data.AsSpan(start * Columns, count * Columns).CopyTo(destination);

    /// <summary>The whole of <paramref name="source"/> in memory (a matrix is returned as it is).</summary>
    /// <exception cref="PerceptException">More values than one array holds.</exception>
    public static Matrix From(IRowSource source)
    {
        if (source is Matrix m) return m;
        long values = (long)source.Rows * source.Columns;
        if (values > Array.MaxLength)
            throw new PerceptException($"{source.Rows:N0} × {source.Columns:N0} values are more than one array holds; read them by row range");
        var result = new Matrix(source.Rows, source.Columns);
        const int block = 4096;
        for (int start = 0; start < source.Rows; start += block)
        {
            int n = Math.Min(block, source.Rows - start);
            source.Read(start, n, result.Data.AsSpan(start * source.Columns, n * source.Columns));
        }
        return result;
    }
}

/// <summary>Distance between points.</summary>
public enum Metric
{
    /// <summary>Euclidean distance.</summary>
    Euclidean,
    /// <summary>One minus the cosine of the angle (0 = same direction, 2 = opposite).</summary>
    Cosine,
}
