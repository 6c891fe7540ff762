using System.Numerics.Tensors;

namespace Percept.Perception;

/// <summary>How spatial (or sequence) axes of an activation are reduced to one value per channel.</summary>
public enum PoolingMode { Mean, Max }

/// <summary>
/// Reduces a layer's activation to one value per channel (feature) and sample. A Conv activation
/// <c>[B, C, H, W, …]</c> is pooled over its trailing axes; a MatMul/Gemm activation <c>[B, …, F]</c> over its middle
/// axes. A <c>[B, C]</c> activation is copied as it is.
/// </summary>
public static class Pooling
{
    /// <summary>Channels of an activation of shape <paramref name="shape"/> (batch axis first).</summary>
    public static int Channels(ReadOnlySpan<long> shape, bool channelsLast) =>
        shape.Length < 2 ? 1 : checked((int)(channelsLast ? shape[^1] : shape[1]));

    /// <summary>
    /// Pools the first <paramref name="rows"/> samples of <paramref name="activation"/> into
    /// <paramref name="destination"/> (<c>rows × channels</c>).
    /// </summary>
    /// <param name="keep">Optional, <c>rows × positions</c>: for a channels-last activation whose positions are a text's tokens,
    /// true where the token is not padding. Only those positions are pooled (the mean over them, their maximum; a row of
    /// padding alone pools to 0), as a sentence encoder pools over its attention mask. Empty: every position.</param>
    public static void Pool(ReadOnlySpan<float> activation, ReadOnlySpan<long> shape, bool channelsLast, PoolingMode mode,
        int rows, Span<float> destination, ReadOnlySpan<bool> keep = default)
    {
        int channels = Channels(shape, channelsLast);
        long perSample = 1;
        for (int i = 1; i < shape.Length; i++) perSample *= shape[i];
        int spatial = checked((int)(perSample / Math.Max(1, channels)));
        if (destination.Length < rows * channels) throw new ArgumentException("destination too small", nameof(destination));
        if (!keep.IsEmpty && (!channelsLast || keep.Length < rows * spatial))
            throw new ArgumentException("a mask of positions needs a channels-last activation and one flag per position", nameof(keep));
        for (int r = 0; r < rows; r++)
        {
            var sample = activation.Slice(checked((int)(r * perSample)), (int)perSample);
            var dst = destination.Slice(r * channels, channels);
            if (!keep.IsEmpty)
            {
                PoolKept(sample, keep.Slice(r * spatial, spatial), channels, mode, dst);
                continue;
            }
            if (spatial == 1) { sample.CopyTo(dst); continue; }
            if (!channelsLast)
            {
                // [C, spatial]: each channel is a contiguous plane.
                for (int c = 0; c < channels; c++)
                {
                    var plane = sample.Slice(c * spatial, spatial);
                    dst[c] = mode == PoolingMode.Mean ? TensorPrimitives.Sum(plane) / spatial : TensorPrimitives.Max(plane);
                }
            }
            else
            {
                // [spatial, C]: accumulate rows of C values.
                sample[..channels].CopyTo(dst);
                for (int s = 1; s < spatial; s++)
                {
                    var row = sample.Slice(s * channels, channels);
                    if (mode == PoolingMode.Mean) TensorPrimitives.Add(dst, row, dst);
                    else TensorPrimitives.Max(dst, row, dst);
                }
                if (mode == PoolingMode.Mean) TensorPrimitives.Multiply(dst, 1f / spatial, dst);
            }
        }
    }

    /// <summary>One sample's <c>[positions, C]</c> rows pooled over the positions kept.</summary>
    static void PoolKept(ReadOnlySpan<float> sample, ReadOnlySpan<bool> keep, int channels, PoolingMode mode, Span<float> dst)
    {
        int kept = 0;
        for (int s = 0; s < keep.Length; s++)
        {
            if (!keep[s]) continue;
            var row = sample.Slice(s * channels, channels);
            if (kept++ == 0) row.CopyTo(dst);
            else if (mode == PoolingMode.Mean) TensorPrimitives.Add(dst, row, dst);
            else TensorPrimitives.Max(dst, row, dst);
        }
        if (kept == 0) dst.Clear();
        else if (mode == PoolingMode.Mean && kept > 1) TensorPrimitives.Multiply(dst, 1f / kept, dst);
    }
}
