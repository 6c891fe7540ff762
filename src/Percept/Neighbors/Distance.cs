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

    /// <summary>
    /// Squared distances from row <paramref name="p"/> to each of the rows <paramref name="qs"/>, as ‖p‖² + ‖q‖² − 2 p·q
    /// with the norms given: one dot product per pair instead of a difference and a square, and four rows at a time so
    /// that p is loaded once for four and four sums are in flight. Clamped at 0 (rounding can make a tiny distance
    /// negative).
    /// </summary>
    public static void SquaredToMany(Matrix x, float[] norms, int p, ReadOnlySpan<int> qs, Span<float> result)
    {
        var pr = x.Row(p);
        float np = norms[p];
        int t = 0;
        for (; t + 4 <= qs.Length; t += 4)
        {
            Kernels.Dot4(pr, x.Row(qs[t]), x.Row(qs[t + 1]), x.Row(qs[t + 2]), x.Row(qs[t + 3]), out float d0, out float d1, out float d2, out float d3);
            result[t] = MathF.Max(0, np + norms[qs[t]] - 2 * d0);
            result[t + 1] = MathF.Max(0, np + norms[qs[t + 1]] - 2 * d1);
            result[t + 2] = MathF.Max(0, np + norms[qs[t + 2]] - 2 * d2);
            result[t + 3] = MathF.Max(0, np + norms[qs[t + 3]] - 2 * d3);
        }
        if (t < qs.Length)
        {
            // One to three left: one more four-row pass with the last row repeated, which reads p once instead of up to
            // three times.
            int last = qs.Length - 1;
            int q0 = qs[t], q1 = qs[Math.Min(t + 1, last)], q2 = qs[Math.Min(t + 2, last)];
            Kernels.Dot4(pr, x.Row(q0), x.Row(q1), x.Row(q2), x.Row(q2), out float d0, out float d1, out float d2, out _);
            result[t] = MathF.Max(0, np + norms[q0] - 2 * d0);
            if (t + 1 <= last) result[t + 1] = MathF.Max(0, np + norms[q1] - 2 * d1);
            if (t + 2 <= last) result[t + 2] = MathF.Max(0, np + norms[q2] - 2 * d2);
        }
    }

    /// <summary>
    /// <see cref="SquaredToMany"/> for two rows at once: the distances from <paramref name="p0"/> and from
    /// <paramref name="p1"/> to each of <paramref name="qs"/>, the same bits as two calls, each q row read once for both.
    /// </summary>
    public static void SquaredToMany2(Matrix x, float[] norms, int p0, int p1, ReadOnlySpan<int> qs, Span<float> result0, Span<float> result1)
    {
        ReadOnlySpan<float> r0 = x.Row(p0), r1 = x.Row(p1);
        float n0 = norms[p0], n1 = norms[p1];
        Span<float> d = stackalloc float[8];
        int last = qs.Length - 1;
        for (int t = 0; t <= last; t += 4)
        {
            // A last group of one to three is padded with its last row (read from cache again, not stored).
            int a = qs[t], b = qs[Math.Min(t + 1, last)], c = qs[Math.Min(t + 2, last)], e = qs[Math.Min(t + 3, last)];
            Kernels.Dot2x4(r0, r1, x.Row(a), x.Row(b), x.Row(c), x.Row(e), d);
            int m = Math.Min(4, qs.Length - t);
            for (int u = 0; u < m; u++)
            {
                float nq = norms[qs[t + u]];
                result0[t + u] = MathF.Max(0, n0 + nq - 2 * d[u]);
                result1[t + u] = MathF.Max(0, n1 + nq - 2 * d[4 + u]);
            }
        }
    }
}
