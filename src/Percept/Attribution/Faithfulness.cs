using Google.Protobuf;
using Onnx;
using Percept.Model;
using Percept.Perception;

namespace Percept.Attribution;

/// <summary>Deletion and insertion areas of one heat map, against the same curves for a random pixel order.</summary>
/// <param name="Deletion">Mean target probability while the most important pixels are removed first (lower = more faithful).</param>
/// <param name="Insertion">Mean target probability while the most important pixels are inserted first into a black image (higher = more faithful).</param>
public sealed record FaithfulnessFigures(double Deletion, double Insertion, double RandomDeletion, double RandomInsertion);

/// <summary>
/// Faithfulness checks for heat maps: deletion and insertion curves (Petsiuk et al., RISE) — the target's probability
/// as pixels are removed from the input, or inserted into a black image, in the map's order of importance, its area
/// compared with a random order — and the model-randomisation sanity check (Adebayo et al.): a copy of the model with
/// its last layer's weights replaced by random values, whose maps should differ from the model's.
/// </summary>
public static class Faithfulness
{
    /// <param name="runner">Runs the model (class scores first).</param>
    /// <param name="x">The sample, model layout.</param>
    /// <param name="map">The heat map, H × W.</param>
    /// <param name="steps">Points on each curve (all run in one batch).</param>
    public static FaithfulnessFigures Curves(ModelRunner runner, float[] x, int[] inputShape, float[] map, int h, int w, int cls, bool isProbability,
        int steps = 20, int seed = 0)
    {
        var (channels, _, _, channelsFirst) = inputShape.Length == 1 ? (1, 1, inputShape[0], true) : Data.Preprocessor.ImageAxes(inputShape, Data.InputLayout.Auto);
        int plane = h * w;
        var byImportance = Enumerable.Range(0, plane).OrderByDescending(p => map[p]).ToArray();
        var rng = new SplitMix64((ulong)seed);
        var random = Enumerable.Range(0, plane).ToArray();
        rng.Shuffle(random.AsSpan());
        (double Del, double Ins) Area(int[] order)
        {
            int rows = 2 * (steps + 1);
            var batch = new float[rows * x.Length];
            for (int s = 0; s <= steps; s++)
            {
                int k = (int)Math.Round((double)s / steps * plane);
                var del = batch.AsSpan(s * x.Length, x.Length);
                var ins = batch.AsSpan((steps + 1 + s) * x.Length, x.Length);
                x.CopyTo(del);
                for (int t = 0; t < k; t++)
                    for (int c = 0; c < channels; c++)
                    {
                        int i = channelsFirst ? c * plane + order[t] : order[t] * channels + c;
                        del[i] = 0;
                        ins[i] = x[i];
                    }
            }
            var probs = new List<float>();
            int classes = 0;
            for (int start = 0; start < rows; start += runner.FixedBatch ?? rows)
            {
                int count = Math.Min(runner.FixedBatch ?? rows, rows - start);
                var chunk = batch.AsSpan(start * x.Length, count * x.Length).ToArray();
                if (runner.FixedBatch is int fb && chunk.Length < fb * x.Length) Array.Resize(ref chunk, fb * x.Length);
                using var r = runner.Run(chunk, count);
                var output = r[0].GetTensorDataAsSpan<float>();
                classes = output.Length / (runner.FixedBatch ?? count);
                var p = new float[classes];
                for (int b = 0; b < count; b++)
                {
                    ClassScores.Compute(output.Slice(b * classes, classes), isProbability, -1, p);
                    probs.Add(p[cls]);
                }
            }
            double Mean(IEnumerable<float> v) { var a = v.ToArray(); double t = 0; for (int i = 1; i < a.Length; i++) t += (a[i] + a[i - 1]) / 2; return t / (a.Length - 1); }
            return (Mean(probs.Take(steps + 1)), Mean(probs.Skip(steps + 1)));
        }
        var (d, i) = Area(byImportance);
        var (rd, ri) = Area(random);
        return new FaithfulnessFigures(d, i, rd, ri);
    }

    /// <summary>A copy of the model whose last Gemm/MatMul/Conv weights are replaced by seeded random values of the same scale, written to <paramref name="path"/>.</summary>
    public static string RandomiseLastLayer(OnnxModel model, string path, ulong seed = 1)
    {
        var proto = model.Proto.Clone();
        var last = proto.Graph.Node.LastOrDefault(n => n.OpType is "Gemm" or "MatMul" or "Conv" && n.Input.Count > 1 && proto.Graph.Initializer.Any(t => t.Name == n.Input[1]))
                   ?? throw new PerceptException("the model has no layer with weights to randomise");
        var weights = proto.Graph.Initializer.First(t => t.Name == last.Input[1]);
        var values = weights.FloatData.Count > 0 ? weights.FloatData.ToArray() : System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(weights.RawData.Span).ToArray();
        double std = Math.Sqrt(values.Select(v => (double)v * v).Average());
        var rng = new SplitMix64(seed);
        for (int i = 0; i < values.Length; i++)
            values[i] = (float)(std * Math.Sqrt(-2 * Math.Log(Math.Max(rng.NextDouble(), 1e-300))) * Math.Cos(2 * Math.PI * rng.NextDouble()));
        weights.FloatData.Clear();
        weights.RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
        File.WriteAllBytes(path, proto.ToByteArray());
        return last.Name;
    }

    /// <summary>Spearman rank correlation of two maps (1 = same order of importance).</summary>
    public static double RankCorrelation(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        var (da, db) = (new double[a.Length], new double[b.Length]);
        for (int i = 0; i < a.Length; i++) da[i] = a[i];
        for (int i = 0; i < b.Length; i++) db[i] = b[i];
        double r = Numerics.Spearman(da, db);
        return double.IsNaN(r) ? 0 : r;
    }
}
