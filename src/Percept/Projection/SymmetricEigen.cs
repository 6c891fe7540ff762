namespace Percept.Projection;

/// <summary>Eigen-decomposition of a small symmetric matrix by cyclic Jacobi rotations (accurate; O(n³) per sweep).</summary>
internal static class SymmetricEigen
{
    /// <summary>
    /// Decomposes the symmetric <paramref name="n"/>×<paramref name="n"/> row-major matrix <paramref name="a"/>.
    /// Returns eigenvalues in descending order and the eigenvectors as the rows of <paramref name="vectors"/>.
    /// </summary>
    public static double[] Decompose(double[] a, int n, out double[] vectors)
    {
        var m = (double[])a.Clone();
        var v = new double[n * n];
        for (int i = 0; i < n; i++) v[i * n + i] = 1;
        for (int sweep = 0; sweep < 100; sweep++)
        {
            double off = 0, total = 0;
            for (int p = 0; p < n; p++)
                for (int q = 0; q < n; q++) { total += m[p * n + q] * m[p * n + q]; if (p != q) off += m[p * n + q] * m[p * n + q]; }
            if (off <= 1e-30 * Math.Max(total, 1e-300)) break;
            for (int p = 0; p < n - 1; p++)
                for (int q = p + 1; q < n; q++)
                {
                    double apq = m[p * n + q];
                    if (Math.Abs(apq) < 1e-300) continue;
                    double theta = (m[q * n + q] - m[p * n + p]) / (2 * apq);
                    double t = Math.Sign(theta) / (Math.Abs(theta) + Math.Sqrt(theta * theta + 1));
                    if (theta == 0) t = 1;
                    double c = 1 / Math.Sqrt(t * t + 1), s = t * c;
                    for (int k = 0; k < n; k++)
                    {
                        double mkp = m[k * n + p], mkq = m[k * n + q];
                        m[k * n + p] = c * mkp - s * mkq;
                        m[k * n + q] = s * mkp + c * mkq;
                    }
                    for (int k = 0; k < n; k++)
                    {
                        double mpk = m[p * n + k], mqk = m[q * n + k];
                        m[p * n + k] = c * mpk - s * mqk;
                        m[q * n + k] = s * mpk + c * mqk;
                    }
                    for (int k = 0; k < n; k++)
                    {
                        double vpk = v[p * n + k], vqk = v[q * n + k];
                        v[p * n + k] = c * vpk - s * vqk;
                        v[q * n + k] = s * vpk + c * vqk;
                    }
                }
        }
        var order = Enumerable.Range(0, n).OrderByDescending(i => m[i * n + i]).ToArray();
        vectors = new double[n * n];
        var values = new double[n];
        for (int r = 0; r < n; r++)
        {
            values[r] = m[order[r] * n + order[r]];
            Array.Copy(v, order[r] * n, vectors, r * n, n);
        }
        return values;
    }
}
