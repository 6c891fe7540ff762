using Percept.Neighbors;

namespace Percept.Projection;

/// <summary>
/// Orthogonal Procrustes alignment: rotates (or reflects) and translates a map so that its points lie as close as
/// possible to the same points on a reference map, without changing distances within it. Used to keep dots in place
/// between maps of successive checkpoints.
/// </summary>
public static class Procrustes
{
    /// <summary>Returns <paramref name="map"/> aligned to <paramref name="reference"/> (same points, same order).</summary>
    /// <param name="allowScaling">Also scale the map uniformly (off: distances on the map are kept).</param>
    public static Matrix Align(Matrix map, Matrix reference, bool allowScaling = false) => Align(map, reference, map, allowScaling);

    /// <summary>
    /// Finds the rotation (and translation, and scale when allowed) that brings <paramref name="map"/> onto
    /// <paramref name="reference"/> (same points, same order) and returns <paramref name="points"/> moved by it: a whole
    /// map aligned on the points it shares with another.
    /// </summary>
    public static Matrix Align(Matrix map, Matrix reference, Matrix points, bool allowScaling)
    {
        if (points.Columns != map.Columns) throw new PerceptException($"cannot move {points.Columns}-D points by a {map.Columns}-D alignment");
        if (map.Rows != reference.Rows || map.Columns != reference.Columns)
            throw new PerceptException($"cannot align a {map.Rows} x {map.Columns} map to a {reference.Rows} x {reference.Columns} one");
        int n = map.Rows, d = map.Columns;
        var mu = Mean(map); var mr = Mean(reference);
        // M = Xcᵀ Yc (d × d); R = U Vᵀ from its SVD, found through the eigen-decomposition of MᵀM and MMᵀ.
        var m = new double[d * d];
        double normX = 0;
        for (int i = 0; i < n; i++)
        {
            var x = map.Row(i); var y = reference.Row(i);
            for (int a = 0; a < d; a++)
            {
                double xa = x[a] - mu[a];
                normX += xa * xa;
                for (int b = 0; b < d; b++) m[a * d + b] += xa * (y[b] - mr[b]);
            }
        }
        var rotation = OrthogonalFactor(m, d, out double traceSigma);
        double scale = allowScaling && normX > 0 ? traceSigma / normX : 1;
        var result = new Matrix(points.Rows, d);
        for (int i = 0; i < points.Rows; i++)
        {
            var x = points.Row(i); var o = result.Row(i);
            for (int b = 0; b < d; b++)
            {
                double s = 0;
                for (int a = 0; a < d; a++) s += (x[a] - mu[a]) * rotation[a * d + b];
                o[b] = (float)(scale * s + mr[b]);
            }
        }
        return result;
    }

    /// <summary>
    /// <paramref name="points"/> moved (rotation, reflection, uniform scale, translation) onto <paramref name="reference"/>
    /// over the rows they share: point i is reference row <paramref name="referenceRow"/>[i] (−1: none), and only pairs
    /// finite in both count. Fewer than three such pairs: the points as they are.
    /// </summary>
    public static Matrix AlignOnShared(Matrix points, Matrix reference, IReadOnlyList<int> referenceRow)
    {
        static bool Finite(ReadOnlySpan<float> row) { foreach (var v in row) if (!float.IsFinite(v)) return false; return true; }
        var shared = Enumerable.Range(0, points.Rows).Where(i => referenceRow[i] >= 0 && Finite(points.Row(i)) && Finite(reference.Row(referenceRow[i]))).ToArray();
        if (shared.Length < 3) return points;
        var from = new Matrix(shared.Length, points.Columns); var to = new Matrix(shared.Length, points.Columns);
        for (int s = 0; s < shared.Length; s++) { points.Row(shared[s]).CopyTo(from.Row(s)); reference.Row(referenceRow[shared[s]]).CopyTo(to.Row(s)); }
        return Align(from, to, points, allowScaling: true);
    }

    static double[] Mean(Matrix m)
    {
        var mean = new double[m.Columns];
        for (int i = 0; i < m.Rows; i++) { var r = m.Row(i); for (int j = 0; j < m.Columns; j++) mean[j] += r[j]; }
        for (int j = 0; j < m.Columns; j++) mean[j] /= Math.Max(1, m.Rows);
        return mean;
    }

    /// <summary>The orthogonal R maximising trace(Rᵀ M): R = M (MᵀM)^(−1/2) = U Vᵀ, and the sum of singular values.</summary>
    static double[] OrthogonalFactor(double[] m, int d, out double traceSigma)
    {
        var mtm = new double[d * d];
        for (int a = 0; a < d; a++)
            for (int b = 0; b < d; b++)
            {
                double s = 0;
                for (int k = 0; k < d; k++) s += m[k * d + a] * m[k * d + b];
                mtm[a * d + b] = s;
            }
        var values = SymmetricEigen.Decompose(mtm, d, out var v); // rows of v: eigenvectors of MᵀM (right singular vectors)
        traceSigma = values.Sum(x => Math.Sqrt(Math.Max(0, x)));
        // U columns = M v_i / σ_i; R = Σ u_i v_iᵀ.
        var r = new double[d * d];
        for (int i = 0; i < d; i++)
        {
            double sigma = Math.Sqrt(Math.Max(0, values[i]));
            if (sigma < 1e-12) continue;
            var u = new double[d];
            for (int a = 0; a < d; a++) { double s = 0; for (int b = 0; b < d; b++) s += m[a * d + b] * v[i * d + b]; u[a] = s / sigma; }
            for (int a = 0; a < d; a++) for (int b = 0; b < d; b++) r[a * d + b] += u[a] * v[i * d + b];
        }
        return r;
    }
}
