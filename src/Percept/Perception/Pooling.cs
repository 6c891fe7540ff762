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
    public static void Pool(ReadOnlySpan<float> activation, ReadOnlySpan<long> shape, bool channelsLast, PoolingMode mode,
        int rows, Span<float> destination)
    {
        int channels = Channels(shape, channelsLast);
        long perSample = 1;
        for (int i = 1; i < shape.Length; i++) perSample *= shape[i];
        int spatial = checked((int)(perSample / Math.Max(1, channels)));
        if (destination.Length < rows * channels) throw new ArgumentException("destination too small", nameof(destination));
        for (int r = 0; r < rows; r++)
        {
            var sample = activation.Slice(checked((int)(r * perSample)), (int)perSample);
            var dst = destination.Slice(r * channels, channels);
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
}
