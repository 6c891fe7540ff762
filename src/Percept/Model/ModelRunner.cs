using Microsoft.ML.OnnxRuntime;

namespace Percept.Model;

/// <summary>
/// Runs an ONNX model with ONNX Runtime, fetching the chosen outputs and intermediate tensors in one run.
/// Owns its <see cref="InferenceSession"/>; the values a <see cref="Run"/> returns are owned by the caller.
/// </summary>
public sealed class ModelRunner : IDisposable
{
    readonly InferenceSession _session;
    readonly SessionOptions _options;
    readonly RunOptions _runOptions = new();
    readonly string[] _inputNames;
    readonly string[] _fetch;

    /// <summary>Input shape per sample (batch axis excluded) that this runner feeds.</summary>
    public int[] SampleShape { get; }

    /// <summary>The batch size the model requires, when its batch axis is fixed.</summary>
    public int? FixedBatch { get; }


    /// <param name="model">The model.</param>
    /// <param name="input">The input to feed (float32).</param>
    /// <param name="sampleShape">Concrete per-sample input shape (free axes resolved from the data).</param>
    /// <param name="fetch">Outputs and intermediate tensors to fetch (optionally pooled in the graph), in the order <see cref="Run"/> returns them.</param>
    /// <param name="threads">Intra-op threads (0: ONNX Runtime's default, or one per CPU the process may use when it is held to fewer than the machine has; <see cref="Core.Cpu.IntraOpThreads(int)"/>).</param>
    public ModelRunner(OnnxModel model, ModelInput input, int[] sampleShape, IReadOnlyList<Fetch> fetch, int threads = 0)
    {
        if (input.ElementType != "float")
            throw new PerceptException($"model input '{input.Name}' takes {input.ElementType} tensors; Percept feeds float32 inputs");
        if (input.Shape.Length != sampleShape.Length + 1)
            throw new PerceptException($"model input '{input.Name}' has shape {input.ShapeText}; the data gives samples of {string.Join("x", sampleShape)}");
        SampleShape = sampleShape;
        FixedBatch = input.Shape[0] > 0 ? (int)input.Shape[0] : null;
        _inputNames = [input.Name];
        _fetch = fetch.Select(f => f.OutputName).ToArray();
        _options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
        };
        if (Core.Cpu.IntraOpThreads(threads) is > 0 and var intraOp) _options.IntraOpNumThreads = intraOp;
        // Percept reads the next batch on another thread while the model runs; spinning intra-op threads would take
        // that thread's core.
        _options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        try
        {
            _session = new InferenceSession(model.WithOutputs(fetch), _options);
        }
        catch (OnnxRuntimeException e)
        {
            _options.Dispose();
            throw new PerceptException($"ONNX Runtime cannot load {System.IO.Path.GetFileName(model.Path)} (opset {model.Opset}): {FirstLine(e.Message)}", e);
        }
    }

    internal static string FirstLine(string message)
    {
        var line = message.Split('\n')[0].Trim();
        int i = line.IndexOf("] ", StringComparison.Ordinal);
        return i > 0 && line.StartsWith('[') ? line[(i + 2)..] : line;
    }

    /// <summary>
    /// Runs <paramref name="count"/> samples held in <paramref name="input"/> (already preprocessed, model layout).
    /// When the model's batch axis is fixed the batch is zero-padded to it; callers read the first <paramref name="count"/> rows.
    /// </summary>
    /// <returns>One value per fetched tensor; the caller disposes the collection.</returns>
    public IDisposableReadOnlyCollection<OrtValue> Run(float[] input, int count)
    {
        int batch = FixedBatch ?? count;
        if (count > batch) throw new ArgumentException($"batch of {count} exceeds the model's fixed batch {batch}");
        long[] shape = [batch, .. SampleShape.Select(d => (long)d)];
        int need = batch * SampleShape.Aggregate(1, (a, b) => a * b);
        if (input.Length < need) throw new ArgumentException("input buffer too small");
        if (batch > count) Array.Clear(input, count * (need / batch), need - count * (need / batch));
        using var value = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, input.AsMemory(0, need), shape);
        try
        {
            return _session.Run(_runOptions, _inputNames, [value], _fetch);
        }
        catch (OnnxRuntimeException e)
        {
            throw new PerceptException($"ONNX Runtime failed on input of shape [{string.Join(", ", shape)}]: {FirstLine(e.Message)}", e);
        }
    }

    public void Dispose()
    {
        _session.Dispose();
        _runOptions.Dispose();
        _options.Dispose();
    }
}
