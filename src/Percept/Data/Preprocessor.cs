namespace Percept.Data;

/// <summary>Axis order of an image model's input.</summary>
public enum InputLayout { Auto, Nchw, Nhwc }

/// <summary>Colour of the images fed to the model.</summary>
/// <summary>
/// The colour the model takes: as its input shape says (Auto), one gray channel, or three in RGB order, or in BGR order
/// (Caffe's and CNTK's exports: the decoded image's red and blue swapped on the way in).
/// </summary>
public enum ColorMode { Auto, Gray, Rgb, Bgr }

/// <summary>Preprocessing applied to raw samples before they reach the model.</summary>
public sealed record PreprocessOptions
{
    /// <summary>Multiplier applied first; null means 1/255 for byte data and 1 otherwise.</summary>
    public float? Scale { get; init; }

    /// <summary>Per-channel (or single) mean subtracted after scaling.</summary>
    public float[]? Mean { get; init; }

    /// <summary>Per-channel (or single) standard deviation divided by after the mean.</summary>
    public float[]? Std { get; init; }

    /// <summary>Axis order of the model input; Auto reads it from the model's input shape.</summary>
    public InputLayout Layout { get; init; }

    /// <summary>Gray or RGB input; Auto follows the model's channel count.</summary>
    public ColorMode Color { get; init; }

    /// <summary>
    /// Set (by Percept, from the model) when the model takes token ids: the size of its vocabulary. Samples then pass as they
    /// are (no scaling or normalisation) and each value must be an id from 0 to this size − 1.
    /// </summary>
    public int? TokenVocabulary { get; init; }
}

/// <summary>
/// Turns raw samples (as datasets deliver them) into the model's input tensor: scaling, per-channel normalisation,
/// gray↔RGB conversion and channels-last → NCHW/NHWC reordering. Built once from the data format and the model's
/// input shape; it checks they fit and says how they do not when they don't.
/// </summary>
public sealed class Preprocessor
{
    enum Mode { PassThrough, Image, Tokens }

    Mode _mode;
    readonly float _scale;
    readonly float[] _mean;
    readonly float[] _invStd;
    readonly int _h, _w, _srcC, _dstC;
    readonly bool _channelsFirst;
    readonly int _channelAxisStride; // pass-through: stride of the channel axis for mean/std (0 = one value)
    readonly int _channelCount;

    /// <summary>Shape of one preprocessed sample, as the model takes it (batch axis excluded).</summary>
    public int[] InputShape { get; }

    /// <summary>Values per preprocessed sample.</summary>
    public int InputLength { get; }

    /// <summary>One line describing the preprocessing, for the run's metadata.</summary>
    public string Description { get; }

    /// <summary>Image size the data should be decoded at, when the source can choose (image folders).</summary>
    public static (int Height, int Width, int Channels) ImageTarget(int[] modelSampleShape, PreprocessOptions options, int? fallbackSize)
    {
        var (c, h, w, _) = ImageAxes(modelSampleShape, options.Layout);
        int channels = options.Color switch { ColorMode.Gray => 1, ColorMode.Rgb or ColorMode.Bgr => 3, _ => c > 0 ? c : 3 };
        if (h <= 0 || w <= 0)
        {
            if (fallbackSize is not int s) throw new PerceptException($"the model's input has no fixed height and width; give one with {Terms.Option("size")}");
            h = h > 0 ? h : s; w = w > 0 ? w : s;
        }
        return (h, w, channels);
    }

    /// <summary>Channels, height, width and axis order of an image input of the given per-sample shape (0s when it is not an image).</summary>
    public static (int C, int H, int W, bool ChannelsFirst) ImageAxes(int[] shape, InputLayout layout)
    {
        if (shape.Length == 2) return (1, shape[0], shape[1], true);
        if (shape.Length != 3) return (0, 0, 0, true);
        bool first = layout switch
        {
            InputLayout.Nchw => true,
            InputLayout.Nhwc => false,
            _ => !(shape[2] is 1 or 3 or 4 && shape[0] is not (1 or 3 or 4)),
        };
        return first ? (shape[0], shape[1], shape[2], true) : (shape[2], shape[0], shape[1], false);
    }

    /// <param name="format">Raw sample format of the dataset.</param>
    /// <param name="modelSampleShape">Model input shape without the batch axis; -1 marks a free axis.</param>
    /// <param name="options">Scaling, normalisation, layout and colour options.</param>
    public Preprocessor(SampleFormat format, int[] modelSampleShape, PreprocessOptions options)
    {
        _scale = options.TokenVocabulary != null ? 1f : options.Scale ?? (format.IsBytes ? 1f / 255f : 1f);
        string modelText = string.Join("x", modelSampleShape.Select(d => d < 0 ? "?" : d.ToString()));
        bool exact = modelSampleShape.Length == format.Shape.Length
                     && modelSampleShape.Zip(format.Shape).All(p => p.First < 0 || p.First == p.Second);
        int modelFixed = modelSampleShape.All(d => d > 0) ? modelSampleShape.Aggregate(1, (a, b) => a * b) : -1;

        // An image goes through the image path unless it already has the model's shape (BGR always: it swaps channels).
        if (format.Kind == SampleKind.Image && modelSampleShape.Length is 2 or 3 && (!exact || options.Color == ColorMode.Bgr))
        {
            var (c, h, w, first) = ImageAxes(modelSampleShape, options.Layout);
            _mode = Mode.Image;
            _srcC = format.Shape[2];
            _dstC = options.Color switch { ColorMode.Gray => 1, ColorMode.Rgb or ColorMode.Bgr => 3, _ => c > 0 ? c : _srcC };
            _reverse = options.Color == ColorMode.Bgr;
            if (c > 0 && c != _dstC)
                throw new PerceptException($"{Terms.Option("color")} asks for {_dstC} channel(s) but the model takes {c}");
            if (_dstC is not (1 or 3) && _dstC != _srcC)
                throw new PerceptException($"model input {modelText} takes {_dstC} channels; the data has {_srcC}");
            _h = format.Shape[0]; _w = format.Shape[1];
            if ((h > 0 && h != _h) || (w > 0 && w != _w))
                throw new PerceptException($"model input {modelText} does not fit the data: the model takes {h}x{w} images, the data has {_h}x{_w}");
            _channelsFirst = first;
            InputShape = modelSampleShape.Length == 2 ? [_h, _w] : first ? [_dstC, _h, _w] : [_h, _w, _dstC];
            if (modelSampleShape.Length == 2 && _dstC != 1)
                throw new PerceptException($"model input {modelText} takes one channel; the data has {_dstC}");
            _channelCount = _dstC;
            Description = $"{format.ShapeText} image → {(first ? "NCHW" : "NHWC")} {string.Join("x", InputShape)}{(_reverse ? " BGR" : "")}";
        }
        else if (exact || (modelFixed > 0 && modelFixed == format.Length))
        {
            if (options.Color == ColorMode.Bgr)
                throw new PerceptException($"{Terms.Option("color")} bgr swaps the channels of images Percept decodes and resizes; these samples ({format.ShapeText}) go to the model as they are");
            _mode = Mode.PassThrough;
            InputShape = exact ? [.. format.Shape] : [.. modelSampleShape];
            // Mean/std per channel of the first axis for image-like tensors, per feature for vectors.
            _channelCount = InputShape.Length >= 3 ? InputShape[0] : InputShape.Length == 1 ? InputShape[0] : 1;
            _channelAxisStride = InputShape.Length >= 3 ? InputShape.Skip(1).Aggregate(1, (a, b) => a * b) : InputShape.Length == 1 ? 1 : 0;
            Description = $"{format.ShapeText} {format.Kind.ToString().ToLowerInvariant()} → {string.Join("x", InputShape)}";
        }
        else if (options.TokenVocabulary != null)
            throw new PerceptException($"the model takes {(modelFixed > 0 ? $"{modelFixed} token ids" : "token ids")} per sample; the data hold " +
                $"{format.ShapeText} {format.Kind.ToString().ToLowerInvariant()}s (give it a .npy of token ids, [N, {(modelFixed > 0 ? modelFixed : "tokens")}])");
        else
            throw new PerceptException($"model input {modelText} does not fit the data: samples are {format.ShapeText} ({format.Kind.ToString().ToLowerInvariant()})");

        InputLength = InputShape.Aggregate(1, (a, b) => checked(a * b));
        if (options.TokenVocabulary is int vocabulary)
        {
            if (_mode != Mode.PassThrough) throw new PerceptException($"the model takes token ids; the data holds {format.Kind.ToString().ToLowerInvariant()}s of {format.ShapeText}");
            if (options.Scale != null || options.Mean != null || options.Std != null)
                throw new PerceptException($"{Terms.Option("scale")}, {Terms.Option("mean")} and {Terms.Option("std")} do not apply to token ids, which the model takes as they are");
            _mode = Mode.Tokens;
            _vocabulary = vocabulary;
            Description = $"{format.ShapeText} token ids (vocabulary of {vocabulary})";
        }
        _mean = Expand(options.Mean, 0f, "mean");
        var std = Expand(options.Std, 1f, "std");
        if (std.Any(s => s == 0 || !float.IsFinite(s))) throw new PerceptException($"{Terms.Option("std")} values must be finite and non-zero");
        _invStd = std.Select(s => 1f / s).ToArray();
        Description += $", scale {_scale:G4}" + (options.Mean != null ? $", mean [{string.Join(", ", options.Mean)}]" : "")
                       + (options.Std != null ? $", std [{string.Join(", ", options.Std)}]" : "");
    }

    float[] Expand(float[]? values, float fill, string name)
    {
        int n = Math.Max(1, _channelCount);
        if (values == null) return Enumerable.Repeat(fill, n).ToArray();
        if (values.Length == 1) return Enumerable.Repeat(values[0], n).ToArray();
        if (values.Length != n) throw new PerceptException($"--{name} has {values.Length} values; the input has {n} channels");
        return values;
    }

    /// <summary>One raw sample, preprocessed into a new array (model layout).</summary>
    public float[] Apply(ReadOnlySpan<float> raw)
    {
        var x = new float[InputLength];
        Apply(raw, raw.Length, 1, x);
        return x;
    }

    /// <summary>Preprocesses <paramref name="count"/> raw samples into <paramref name="destination"/> (model layout).</summary>
    public void Apply(ReadOnlySpan<float> raw, int rawLength, int count, Span<float> destination)
    {
        for (int s = 0; s < count; s++)
        {
            var src = raw.Slice(s * rawLength, rawLength);
            var dst = destination.Slice(s * InputLength, InputLength);
            if (_mode == Mode.Tokens) Tokens(src, dst);
            else if (_mode == Mode.PassThrough) PassThrough(src, dst);
            else Image(src, dst);
        }
    }

    readonly int _vocabulary;
    /// <summary>Channels fed in reverse order (BGR).</summary>
    readonly bool _reverse;

    void Tokens(ReadOnlySpan<float> src, Span<float> dst)
    {
        for (int i = 0; i < dst.Length; i++)
        {
            float v = src[i];
            if (!(v >= 0 && v < _vocabulary && v == MathF.Floor(v)))
                throw new PerceptException($"value {v} at position {i} of a sample is not a token id: the model's vocabulary has ids 0 to {_vocabulary - 1}");
            dst[i] = v;
        }
    }

    void PassThrough(ReadOnlySpan<float> src, Span<float> dst)
    {
        if (_channelAxisStride == 0)
        {
            float m = _mean[0], k = _invStd[0];
            for (int i = 0; i < dst.Length; i++) dst[i] = (src[i] * _scale - m) * k;
            return;
        }
        for (int i = 0; i < dst.Length; i++)
        {
            int c = (i / _channelAxisStride) % _channelCount;
            dst[i] = (src[i] * _scale - _mean[c]) * _invStd[c];
        }
    }

    void Image(ReadOnlySpan<float> src, Span<float> dst)
    {
        int plane = _h * _w;
        if (_srcC == _dstC && (_dstC == 1 || !_channelsFirst) && !_reverse)
        {
            // Same memory order in and out: one affine map per channel (vectorised for a single channel).
            if (_dstC == 1)
            {
                System.Numerics.Tensors.TensorPrimitives.Multiply(src[..dst.Length], _scale * _invStd[0], dst);
                System.Numerics.Tensors.TensorPrimitives.Add(dst, -_mean[0] * _invStd[0], dst);
                return;
            }
            for (int i = 0; i < dst.Length; i++)
            {
                int c = i % _dstC;
                dst[i] = (src[i] * _scale - _mean[c]) * _invStd[c];
            }
            return;
        }
        if (_channelsFirst && _srcC >= _dstC && _dstC > 1)
        {
            // Channels-last in, channels-first out (each output channel one source channel, maybe reversed): a plane at a
            // time, the same arithmetic as below.
            for (int c = 0; c < _dstC; c++)
            {
                int from = _reverse ? _dstC - 1 - c : c;
                float scale = _scale, mean = _mean[c], invStd = _invStd[c];
                var to = dst.Slice(c * plane, plane);
                for (int p = 0, i = from; p < to.Length; p++, i += _srcC) to[p] = (src[i] * scale - mean) * invStd;
            }
            return;
        }
        for (int p = 0; p < plane; p++)
        {
            var px = src.Slice(p * _srcC, _srcC);
            for (int c = 0; c < _dstC; c++)
            {
                float v = _dstC == 1
                    ? (_srcC >= 3 ? 0.299f * px[0] + 0.587f * px[1] + 0.114f * px[2] : px[0])
                    : (_srcC >= _dstC ? px[_reverse ? _dstC - 1 - c : c] : px[0]);
                v = (v * _scale - _mean[c]) * _invStd[c];
                dst[_channelsFirst ? c * plane + p : p * _dstC + c] = v;
            }
        }
    }
}
