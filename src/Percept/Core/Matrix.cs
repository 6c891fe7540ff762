namespace Percept.Core;

/// <summary>A dense row-major float32 matrix: <see cref="Rows"/> points of <see cref="Columns"/> values.</summary>
public sealed class Matrix
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
}

/// <summary>Distance between points.</summary>
public enum Metric
{
    /// <summary>Euclidean distance.</summary>
    Euclidean,
    /// <summary>One minus the cosine of the angle (0 = same direction, 2 = opposite).</summary>
    Cosine,
}
