using Percept.Core;

namespace Percept.Projection;

/// <summary>
/// t-SNE's repulsive forces by polynomial interpolation on a grid and FFT convolution (Linderman et al., 2019, "Fast
/// interpolation-based t-SNE", the method of FIt-SNE and openTSNE). The square bounding box of the layout is cut into
/// B × B boxes, each with 3 × 3 interpolation nodes; every point spreads four charges (1, y₁, y₂, ‖y‖²) to the nine
/// nodes of its box with Lagrange weights, the node charges are convolved with the kernel 1 / (1 + d²)² by FFT on the
/// zero-padded grid, and the node potentials are interpolated back to the points with the same weights. From those
/// four potentials come both Σⱼ qᵢⱼ²(yᵢ − yⱼ) and, because (1 + d²) / (1 + d²)² = 1 / (1 + d²), the normalisation
/// Z = Σᵢⱼ qᵢⱼ, all in O(N + B² log B).
/// </summary>
/// <remarks>
/// Every sum is taken in an order that does not depend on the number of threads. Coordinates are taken relative to the
/// grid's centre, which keeps ‖y‖² small and the float32 transforms accurate. The grid is kept from one call to the
/// next while the layout fits it, so the kernel's transform is computed only when the grid changes.
/// </remarks>
internal sealed class TSneInterpolation
{
    /// <summary>Interpolation nodes per box and axis (openTSNE's default).</summary>
    public const int Nodes = 3;
    const int Slices = 4;

    readonly int _minBoxes, _maxBoxes;
    readonly float _boxesPerUnit;
    Fft2D? _fft;
    float[] _aRe = [], _aIm = [], _bRe = [], _bIm = [], _kernelTransform = [];
    float _gridMin;
    double _boxWidth;
    int[] _cell = [], _order = [], _rowStart = [];
    float[] _weights = [];

    /// <param name="minBoxes">Fewest boxes per axis (openTSNE: 50).</param>
    /// <param name="boxesPerUnit">Boxes per unit of layout width (openTSNE: 1, one box per unit).</param>
    /// <param name="maxBoxes">Most boxes per axis.</param>
    public TSneInterpolation(int minBoxes = 50, float boxesPerUnit = 1f, int maxBoxes = 1000)
    {
        _minBoxes = minBoxes; _boxesPerUnit = boxesPerUnit; _maxBoxes = maxBoxes;
    }

    /// <summary>Boxes per axis used by the last call.</summary>
    public int Boxes { get; private set; }

    /// <summary>
    /// Writes Σⱼ qᵢⱼ² (yᵢ − yⱼ) (j ≠ i) to <paramref name="repulsion"/> (interleaved x, y) and returns Z = Σ_{i≠j} qᵢⱼ,
    /// with qᵢⱼ = 1 / (1 + ‖yᵢ − yⱼ‖²).
    /// </summary>
    public double Repulsion(float[] y, float[] repulsion, int threads)
    {
        int n = y.Length / 2;
        float min = float.MaxValue, max = float.MinValue;
        for (int i = 0; i < y.Length; i++) { min = Math.Min(min, y[i]); max = Math.Max(max, y[i]); }
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, threads) };
        PlaceGrid(min, max, parallel, threads);
        int boxes = Boxes, g = boxes * Nodes, m = 2 * g;
        double boxWidth = _boxWidth;
        float gridMin = _gridMin, centre = _gridMin + (float)(boxWidth * boxes / 2);
        if (_cell.Length != n) { _cell = new int[n]; _weights = new float[n * Nodes * Nodes]; _order = new int[n]; }

        // Each point's box and its nine Lagrange weights; then the points grouped by box row (a counting sort, stable).
        var cell = _cell; var weights = _weights;
        if (_rowStart.Length != boxes + 1) _rowStart = new int[boxes + 1];
        var rowStart = _rowStart;
        Array.Clear(rowStart);
        Parallel.For(0, Slices, parallel, s =>
        {
            var (i0, i1) = Slice(n, s);
            Span<float> wx = stackalloc float[Nodes], wy = stackalloc float[Nodes];
            for (int i = i0; i < i1; i++)
            {
                int bx = Box(y[2 * i], gridMin, boxWidth, boxes, out float ux);
                int by = Box(y[2 * i + 1], gridMin, boxWidth, boxes, out float uy);
                Lagrange(ux, wx); Lagrange(uy, wy);
                cell[i] = by * boxes + bx;
                for (int a = 0; a < Nodes; a++)
                    for (int b = 0; b < Nodes; b++) weights[i * Nodes * Nodes + a * Nodes + b] = wy[a] * wx[b];
            }
        });
        for (int i = 0; i < n; i++) rowStart[cell[i] / boxes + 1]++;
        for (int r = 0; r < boxes; r++) rowStart[r + 1] += rowStart[r];
        var fill = (int[])rowStart.Clone();
        var order = _order;
        for (int i = 0; i < n; i++) order[fill[cell[i] / boxes]++] = i;

        // Spread the charges straight into the transform planes: A = charge 1 + i·y₁ and B = y₂ + i·‖y‖² (the kernel's
        // transform is real, the kernel being even, so two real convolutions ride in one complex transform). Points of
        // different box rows touch different node rows, so box rows are spread in parallel without locks, and each
        // node's sum is taken in point order whatever the number of threads.
        float[] aRe = _aRe, aIm = _aIm, bRe = _bRe, bIm = _bIm;
        Parallel.For(0, m, parallel, row =>
        {
            aRe.AsSpan(row * m, m).Clear(); aIm.AsSpan(row * m, m).Clear(); bRe.AsSpan(row * m, m).Clear(); bIm.AsSpan(row * m, m).Clear();
        });
        Parallel.For(0, boxes, parallel, by =>
        {
            for (int t = rowStart[by]; t < rowStart[by + 1]; t++)
            {
                int i = order[t];
                float px = y[2 * i] - centre, py = y[2 * i + 1] - centre, r2 = px * px + py * py;
                int c0 = by * Nodes * m + (cell[i] % boxes) * Nodes;
                for (int a = 0; a < Nodes; a++)
                    for (int b = 0; b < Nodes; b++)
                    {
                        float w = weights[i * Nodes * Nodes + a * Nodes + b];
                        int at = c0 + a * m + b;
                        aRe[at] += w; aIm[at] += w * px; bRe[at] += w * py; bIm[at] += w * r2;
                    }
            }
        });

        _fft!.Convolve(aRe, aIm, _kernelTransform, g, g, threads);
        _fft.Convolve(bRe, bIm, _kernelTransform, g, g, threads);

        // Interpolate the four potentials back to the points.
        var zParts = new double[Slices];
        Parallel.For(0, Slices, parallel, s =>
        {
            var (i0, i1) = Slice(n, s);
            double z = 0;
            for (int i = i0; i < i1; i++)
            {
                int c0 = (cell[i] / boxes) * Nodes * m + (cell[i] % boxes) * Nodes;
                float p0 = 0, p1 = 0, p2 = 0, p3 = 0;
                for (int a = 0; a < Nodes; a++)
                    for (int b = 0; b < Nodes; b++)
                    {
                        float w = weights[i * Nodes * Nodes + a * Nodes + b];
                        int at = c0 + a * m + b;
                        p0 += w * aRe[at]; p1 += w * aIm[at]; p2 += w * bRe[at]; p3 += w * bIm[at];
                    }
                float px = y[2 * i] - centre, py = y[2 * i + 1] - centre;
                // Σⱼ q²(yᵢ − yⱼ) = yᵢ·Σ q² − Σ q² yⱼ; Σⱼ q = Σⱼ q²(1 + ‖yᵢ‖² − 2 yᵢ·yⱼ + ‖yⱼ‖²), less the point itself (q = 1).
                repulsion[2 * i] = px * p0 - p1;
                repulsion[2 * i + 1] = py * p0 - p2;
                z += (1 + (double)px * px + (double)py * py) * p0 - 2 * ((double)px * p1 + (double)py * p2) + p3 - 1;
            }
            zParts[s] = z;
        });
        double zSum = 0;
        foreach (var z in zParts) zSum += z;
        return zSum;
    }

    /// <summary>
    /// Keeps the grid (and the transform of its kernel) while the layout fits inside it and fills at least 4/5 of it;
    /// otherwise lays a new one over the layout with a margin, so a growing layout needs a new kernel transform only
    /// every few iterations. Boxes are never wider than 1 / boxesPerUnit, as openTSNE's.
    /// </summary>
    void PlaceGrid(float min, float max, ParallelOptions parallel, int threads)
    {
        float span = Math.Max(max - min, 1e-6f);
        float gridMax = _gridMin + (float)(_boxWidth * Boxes);
        if (_fft != null && min >= _gridMin && max <= gridMax && span >= 0.8f * (gridMax - _gridMin)) return;
        float width = span * 1.1f, centre = (min + max) / 2;
        int boxes = Fft2D.NextSmooth(Math.Clamp((int)Math.Ceiling(width * _boxesPerUnit), _minBoxes, _maxBoxes));
        Boxes = boxes;
        _boxWidth = (double)width / boxes;
        _gridMin = centre - width / 2;
        int g = boxes * Nodes, m = 2 * g;
        if (_fft == null || _fft.Size != m)
        {
            _fft = new Fft2D(m);
            _aRe = new float[m * m]; _aIm = new float[m * m]; _bRe = new float[m * m]; _bIm = new float[m * m];
            _kernelTransform = new float[m * m];
        }
        // The kernel on the circulant grid: offsets 0..g−1 at the start of each axis, −(g−1)..−1 at its end, 0 at g.
        double spacing = _boxWidth / Nodes;
        var kr = _kernelTransform;
        var ki = new float[m * m];
        Parallel.For(0, m, parallel, row =>
        {
            int dy = row < g ? row : row > g ? m - row : -1;
            var line = kr.AsSpan(row * m, m);
            if (dy < 0) { line.Clear(); return; }
            for (int col = 0; col < m; col++)
            {
                int dx = col < g ? col : col > g ? m - col : -1;
                if (dx < 0) { line[col] = 0; continue; }
                double q = 1 / (1 + ((double)dx * dx + (double)dy * dy) * spacing * spacing);
                line[col] = (float)(q * q);
            }
        });
        _fft.Forward(kr, ki, m, threads);
        // The kernel is even, so its transform is real; fold in the inverse transform's 1 / M².
        float scale = 1f / ((float)m * m);
        for (int t = 0; t < kr.Length; t++) kr[t] *= scale;
    }

    static (int Start, int End) Slice(int n, int s) => ((int)((long)n * s / Slices), (int)((long)n * (s + 1) / Slices));

    /// <summary>The box of coordinate <paramref name="v"/> and its position in the box, 0..1.</summary>
    static int Box(float v, float min, double width, int boxes, out float within)
    {
        double t = (v - min) / width;
        int b = Math.Clamp((int)t, 0, boxes - 1);
        within = (float)(t - b);
        return b;
    }

    /// <summary>Lagrange basis of the nodes at (j + ½) / 3 of a box, evaluated at <paramref name="u"/>.</summary>
    static void Lagrange(float u, Span<float> w)
    {
        const float u0 = 1f / 6, u1 = 0.5f, u2 = 5f / 6;
        w[0] = 4.5f * (u - u1) * (u - u2);
        w[1] = -9f * (u - u0) * (u - u2);
        w[2] = 4.5f * (u - u0) * (u - u1);
    }
}
