using System.Numerics.Tensors;

namespace Percept.Neighbors;

/// <summary>
/// Distances on prepared data. Cosine data are normalised to unit length once, so every metric is computed as a
/// squared Euclidean distance (for unit vectors, 1 − cos = ‖x − y‖² / 2) and converted only when reported.
/// </summary>
internal static class Distance
{
    /// <summary>Copies the data, normalising rows for cosine. A zero row stays zero (cosine distance 0.5 to every unit vector).</summary>
    public static Matrix Prepare(Matrix data, Metric metric)
    {
        if (metric == Metric.Euclidean) return data;
        var copy = new Matrix(data.Rows, data.Columns);
        for (int i = 0; i < data.Rows; i++)
        {
            var src = data.Row(i);
            float norm = TensorPrimitives.Norm(src);
            if (norm > 0) TensorPrimitives.Multiply(src, 1f / norm, copy.Row(i));
        }
        return copy;
    }

    public static float Squared(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        // ‖x − y‖² without a temporary: TensorPrimitives.Distance is the square root of it.
        float d = TensorPrimitives.Distance(x, y);
        return d * d;
    }

    /// <summary>Converts a squared distance on prepared data to the metric's distance.</summary>
    public static float Report(float squared, Metric metric) => metric == Metric.Euclidean ? MathF.Sqrt(MathF.Max(0, squared)) : MathF.Max(0, squared) * 0.5f;
}
