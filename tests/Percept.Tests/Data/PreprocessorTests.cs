using Percept.Data;

namespace Percept.Tests.Data;

public class PreprocessorTests
{
    [Fact]
    public void Channels_last_images_become_nchw_with_scale_mean_and_std()
    {
        // 2x3 RGB image, channels last, values v = 100*c + pixel.
        var format = new SampleFormat(SampleKind.Image, [2, 3, 3], IsBytes: true);
        var raw = new float[18];
        for (int p = 0; p < 6; p++) for (int c = 0; c < 3; c++) raw[p * 3 + c] = 100 * c + p;
        var pre = new Preprocessor(format, [3, 2, 3], new PreprocessOptions { Mean = [0.1f, 0.2f, 0.3f], Std = [0.5f, 0.25f, 2f] });
        Assert.Equal(new[] { 3, 2, 3 }, pre.InputShape);
        var dst = new float[18];
        pre.Apply(raw, 18, 1, dst);
        float[] mean = [0.1f, 0.2f, 0.3f], std = [0.5f, 0.25f, 2f];
        for (int c = 0; c < 3; c++)
            for (int p = 0; p < 6; p++)
                Assert.Equal((raw[p * 3 + c] / 255f - mean[c]) / std[c], dst[c * 6 + p], 1e-5);
    }

    [Theory]
    [InlineData(true)]   // NCHW, as Caffe's and CNTK's exports take it
    [InlineData(false)]  // NHWC
    public void Bgr_feeds_the_decoded_image_with_red_and_blue_swapped_and_the_means_in_that_order(bool channelsFirst)
    {
        // A 2×2 RGB image with distinct channels; the model's means are given in its own (B, G, R) order.
        var format = new SampleFormat(SampleKind.Image, [2, 2, 3], IsBytes: false);
        float[] raw = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120];
        float[] mean = [1, 2, 3];
        int[] shape = channelsFirst ? [3, 2, 2] : [2, 2, 3];
        var bgr = new Preprocessor(format, shape, new PreprocessOptions { Color = ColorMode.Bgr, Scale = 1, Mean = mean });
        var b = new float[12];
        bgr.Apply(raw, 12, 1, b);
        // RGB for comparison (an NHWC image of the model's own shape goes through as it is, so only NCHW here).
        var r = new float[12];
        if (channelsFirst) new Preprocessor(format, shape, new PreprocessOptions { Color = ColorMode.Rgb, Scale = 1, Mean = mean }).Apply(raw, 12, 1, r);
        for (int p = 0; p < 4; p++)
            for (int c = 0; c < 3; c++)
            {
                int at = channelsFirst ? c * 4 + p : p * 3 + c;
                Assert.Equal(raw[p * 3 + (2 - c)] - mean[c], b[at]);
                if (channelsFirst) Assert.Equal(raw[p * 3 + c] - mean[c], r[at]);
            }
        Assert.Contains("BGR", bgr.Description);
        // Samples that go to the model as they are (no decoding) cannot be swapped: said so.
        var e = Assert.Throws<PerceptException>(() => new Preprocessor(new SampleFormat(SampleKind.Tensor, [3, 2, 2], false), [3, 2, 2], new PreprocessOptions { Color = ColorMode.Bgr }));
        Assert.Contains("bgr", e.Message);
    }

    [Theory]
    [InlineData(5, 7, false, 3)]
    [InlineData(3, 1, true, 3)]
    [InlineData(224, 224, true, 3)]
    [InlineData(4, 9, false, 4)]
    [InlineData(6, 5, true, 4)]
    public void Nchw_images_are_each_value_scaled_shifted_and_divided_by_the_formula(int height, int width, bool bgr, int channels)
    {
        var rng = new Random(height * 7 + width);
        var format = new SampleFormat(SampleKind.Image, [height, width, channels], IsBytes: true);
        float[] mean = [0.485f, 0.456f, 0.406f], std = [0.229f, 0.224f, 0.225f];
        var pre = new Preprocessor(format, [3, height, width], new PreprocessOptions { Mean = mean, Std = std, Color = bgr ? ColorMode.Bgr : ColorMode.Rgb });
        int length = channels * height * width, input = 3 * height * width;
        var raw = Enumerable.Range(0, 2 * length).Select(_ => (float)rng.Next(256)).ToArray();
        var dst = new float[2 * input];
        pre.Apply(raw, length, 2, dst);
        // A fourth (alpha) channel is left out; BGR takes the first three in reverse.
        for (int s = 0; s < 2; s++)
            for (int c = 0; c < 3; c++)
                for (int p = 0; p < height * width; p++)
                {
                    float v = raw[s * length + p * channels + (bgr ? 2 - c : c)];
                    Assert.Equal((v * (1f / 255f) - mean[c]) * (1f / std[c]), dst[s * input + c * height * width + p]);
                }
    }

    [Fact]
    public void Nhwc_models_keep_channels_last_and_gray_becomes_rgb()
    {
        var format = new SampleFormat(SampleKind.Image, [2, 2, 1], IsBytes: false);
        var pre = new Preprocessor(format, [2, 2, 3], new PreprocessOptions());
        var dst = new float[12];
        pre.Apply([1, 2, 3, 4], 4, 1, dst);
        Assert.Equal(new float[] { 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4 }, dst);
        var gray = new Preprocessor(new SampleFormat(SampleKind.Image, [1, 1, 3], false), [1, 1, 1], new PreprocessOptions());
        var g = new float[1];
        gray.Apply([10, 20, 30], 3, 1, g);
        Assert.Equal(0.299f * 10 + 0.587f * 20 + 0.114f * 30, g[0], 1e-4);
    }

    [Fact]
    public void Tables_and_matching_tensors_pass_through_and_mismatches_are_explained()
    {
        var table = new Preprocessor(new SampleFormat(SampleKind.Table, [3], false), [3], new PreprocessOptions { Mean = [1, 2, 3] });
        var d = new float[3];
        table.Apply([1, 1, 1], 3, 1, d);
        Assert.Equal(new float[] { 0, -1, -2 }, d);
        // A 784-column table feeds a [1, 28, 28] model (pixels in a CSV).
        Assert.Equal(new[] { 1, 28, 28 }, new Preprocessor(new SampleFormat(SampleKind.Table, [784], false), [1, 28, 28], new()).InputShape);
        var e = Assert.Throws<PerceptException>(() => new Preprocessor(new SampleFormat(SampleKind.Image, [32, 32, 3], true), [1, 28, 28], new()));
        Assert.Contains("28x28", e.Message);
        Assert.Contains("32x32", e.Message);
        Assert.Contains("does not fit", Assert.Throws<PerceptException>(() => new Preprocessor(new SampleFormat(SampleKind.Table, [5], false), [4], new())).Message);
        Assert.Contains("channels", Assert.Throws<PerceptException>(() => new Preprocessor(new SampleFormat(SampleKind.Image, [2, 2, 3], false), [3, 2, 2], new() { Mean = [1, 2] })).Message);
    }
}
