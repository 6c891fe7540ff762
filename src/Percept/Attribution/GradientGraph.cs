using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;
using Percept.Model;

namespace Percept.Attribution;

/// <summary>
/// Gradients through an ONNX model, computed by ONNX Runtime itself: the model's graph is extended with a backward
/// graph made of standard operators (ConvTranspose for a Conv's input gradient, MatMul for Gemm, Where/Greater for
/// Relu, MaxUnpool with the pooling's own indices for MaxPool, ReduceSum over broadcast axes for Add and Mul, …),
/// seeded by a new graph input holding ∂target/∂output. One run yields the outputs, the gradient with respect to the
/// input and, for chosen intermediate tensors, their values and gradients (for Grad-CAM). An operator without a
/// gradient rule is a clear error naming it. The graph is written by <see cref="GradientBuilder"/>, whose rules are
/// grouped by operator family under <c>GradientRules/</c>.
/// </summary>
public sealed class GradientGraph : IDisposable
{
    public const string SeedName = "percept.seed";

    readonly InferenceSession _session;
    readonly InferenceSession _forward;
    readonly SessionOptions _options;
    readonly string[] _fetch;
    readonly string _inputName;

    /// <summary>Per-sample shape of the differentiated input: the model's input, or for token ids the embedding output <c>[tokens, dimension]</c>.</summary>
    public int[] SampleShape { get; }

    /// <summary>For a model that takes token ids: the embedding lookup whose output this graph takes and differentiates.</summary>
    public TokenEmbedding? Embedding { get; private init; }

    /// <summary>
    /// For a graph over an embedding output: the token ids of the sample being explained, fed alongside every row of a run
    /// (masks and positions are computed from them); set before <see cref="Run"/> and <see cref="Forward"/>.
    /// </summary>
    public float[]? Tokens { get; set; }

    string? _tokenInput;
    int[] _tokenShape = [];
    /// <summary>Per-sample output shape (the seed has the same).</summary>
    public long[] OutputShape { get; }
    public IReadOnlyList<string> Activations { get; }

    /// <summary>Whether one sample's forward pass can serve several seed rows (<see cref="Run"/>'s seedRows; models of opset 11 and later).</summary>
    public bool SharedForward { get; private init; }

    /// <summary>Whether runs return the input gradient (false for graphs built for activation gradients only).</summary>
    public bool HasInputGradient { get; private init; } = true;

    /// <summary>The seeded intermediate tensors and their per-sample shapes.</summary>
    public IReadOnlyList<(string Tensor, long[] Shape)> ExtraSeeds { get; private init; } = [];

    GradientGraph(InferenceSession session, InferenceSession forward, SessionOptions options, string input, string[] fetch, int[] sampleShape, long[] outputShape, IReadOnlyList<string> activations)
    {
        _session = session; _forward = forward; _options = options; _inputName = input; _fetch = fetch;
        SampleShape = sampleShape; OutputShape = outputShape; Activations = activations;
    }

    /// <summary>Builds the forward + backward model.</summary>
    /// <param name="activations">Intermediate tensors whose values and gradients to return (e.g. a Grad-CAM layer).</param>
    /// <param name="extraSeeds">Intermediate tensors that get seeds of their own (graph inputs <c>percept.seed/NAME</c>), for targets that depend on activations rather than on the output.</param>
    /// <param name="inputGradient">Whether to compute the gradient with respect to the input; without it (Grad-CAM) the backward graph stops at the deepest activation asked for.</param>
    /// <param name="sharedForward">Build for runs of one sample with several seed rows (several targets of one sample: one forward
    /// pass, a backward pass per row), where the model allows it (<see cref="SharedForward"/>); such a graph runs only that way.</param>
    public static GradientGraph Build(OnnxModel model, ModelInput input, int[] sampleShape, string output, IReadOnlyList<string> activations,
        IReadOnlyList<string>? extraSeeds = null, bool inputGradient = true, bool sharedForward = false)
    {
        if (!inputGradient && activations.Count == 0) throw new ArgumentException("nothing to differentiate: no input gradient and no activations");
        // Token ids carry no gradient: a text model is differentiated at the output of its embedding lookup, which becomes
        // the graph's float input while the ids stay an input for the masks and positions computed from them.
        var embedding = model.FindTokenEmbedding(input);
        if (input.IsTokenIds && embedding == null)
            throw new PerceptException($"model input '{input.Name}' takes token ids and no embedding lookup (a Gather from a weight matrix) reads them; there is no float tensor to attribute to");
        var shapes = model.ProbeShapes(input, sampleShape);
        string differentiated = embedding?.Tensor ?? input.Name;
        var graphModel = embedding != null ? model.WithEmbeddingInput(embedding) : model;
        int[] differentiatedShape = embedding != null ? [.. sampleShape, embedding.Dimension] : sampleShape;
        var builder = new GradientBuilder(graphModel, differentiated, output, shapes, sharedForward,
            model.ProbeIntegers(input, sampleShape, GradientBuilder.ComputedBounds(model.Proto.Graph, differentiated)));
        var proto = builder.Build(activations, extraSeeds ?? [], inputGradient);
        var options = new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        // As in ModelRunner: a server holds several sessions, and idle intra-op threads spinning would take the cores of the busy one.
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        if (Core.Cpu.IntraOpThreads(0) is > 0 and var intraOp) options.IntraOpNumThreads = intraOp;
        if (Environment.GetEnvironmentVariable("PERCEPT_ORT_PROFILE") is { Length: > 0 } prefix) { options.ProfileOutputPathPrefix = prefix; options.EnableProfiling = true; }
        try
        {
            var session = new InferenceSession(proto.ToByteArray(), options);
            // ONNX Runtime runs every node of a session whatever is fetched, so forward-only passes get the model's own graph.
            var forward = new InferenceSession(graphModel.Proto.ToByteArray(), options);
            string[] fetch = [output, .. inputGradient ? new[] { "percept.grad/" + differentiated } : [], .. activations.SelectMany(a => new[] { a, "percept.grad/" + a })];
            return new GradientGraph(session, forward, options, differentiated, fetch, differentiatedShape, shapes[output][1..], activations)
            {
                Embedding = embedding,
                _tokenInput = embedding != null ? input.Name : null,
                _tokenShape = sampleShape,
                HasInputGradient = inputGradient,
                SharedForward = builder.SharedForward,
                ExtraSeeds = (extraSeeds ?? []).Select(t => (t, shapes[t][1..])).ToArray(),
            };
        }
        catch (OnnxRuntimeException e)
        {
            options.Dispose();
            throw new PerceptException($"ONNX Runtime cannot run the gradient graph of {Path.GetFileName(model.Path)}: {ModelRunner.FirstLine(e.Message)}", e);
        }
    }

    /// <summary>
    /// Every operator on the gradient path from <paramref name="input"/> to <paramref name="output"/> (the nodes a heat map
    /// differentiates), how many nodes use it, and whether it has a gradient rule, in graph order; for
    /// <c>percept layers --check-gradients</c>, before anyone asks for a heat map.
    /// </summary>
    public static IReadOnlyList<GradientOperator> PathOperators(OnnxModel model, ModelInput input, string output) =>
        GradientBuilder.PathNodes(model.Proto.Graph, model.FindTokenEmbedding(input)?.Tensor ?? input.Name, output)
            .GroupBy(n => n.OpType)
            .Select(g => new GradientOperator(g.Key, g.Count(), GradientBuilder.SupportedOperators.Contains(g.Key), g.First().Name))
            .ToArray();

    /// <summary>
    /// Runs <paramref name="count"/> samples with their seeds (∂target/∂output, one row per sample).
    /// Returns the output, the input gradient, and each activation with its gradient, all as flat arrays.
    /// A graph built with <see cref="SharedForward"/> runs one sample (<paramref name="count"/> 1) with <paramref name="seedRows"/>
    /// seed rows: the input gradient and the activation gradients then have a row per seed, the outputs and activation values one row.
    /// </summary>
    public GradientResult Run(float[] inputs, float[] seeds, int count, IReadOnlyList<float[]>? extraSeeds = null, int seedRows = 0)
    {
        if (SharedForward && count != 1) throw new ArgumentException("a graph that shares its forward pass runs one sample at a time");
        if (!SharedForward && seedRows > 0 && seedRows != count) throw new ArgumentException("several seed rows per sample need a graph built with sharedForward");
        int rows = seedRows > 0 ? seedRows : count;
        long[] xShape = [count, .. SampleShape.Select(d => (long)d)];
        long[] sShape = [rows, .. OutputShape];
        var values = new List<OrtValue>
        {
            OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, inputs.AsMemory(0, (int)xShape.Aggregate(1L, (a, b) => a * b)), xShape),
            OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, seeds.AsMemory(0, (int)sShape.Aggregate(1L, (a, b) => a * b)), sShape),
        };
        var names = new List<string> { _inputName, SeedName };
        AddTokens(names, values, count);
        for (int e = 0; e < ExtraSeeds.Count; e++)
        {
            long[] shape = [rows, .. ExtraSeeds[e].Shape];
            var data = extraSeeds?[e] ?? new float[shape.Aggregate(1L, (a, b) => a * b)];
            values.Add(OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, data.AsMemory(0, (int)shape.Aggregate(1L, (a, b) => a * b)), shape));
            names.Add(SeedName + "/" + ExtraSeeds[e].Tensor);
        }
        try
        {
            using var runOptions = new RunOptions();
            using var r = _session.Run(runOptions, names, values, _fetch);
            var acts = new List<(float[] Value, long[] Shape, float[] Gradient)>();
            int first = HasInputGradient ? 2 : 1;
            for (int i = 0; i < Activations.Count; i++)
                acts.Add((r[first + 2 * i].GetTensorDataAsSpan<float>().ToArray(), r[first + 2 * i].GetTensorTypeAndShape().Shape, r[first + 1 + 2 * i].GetTensorDataAsSpan<float>().ToArray()));
            return new GradientResult(r[0].GetTensorDataAsSpan<float>().ToArray(), HasInputGradient ? r[1].GetTensorDataAsSpan<float>().ToArray() : [], acts);
        }
        catch (OnnxRuntimeException e) { throw new PerceptException($"ONNX Runtime failed on the gradient graph: {ModelRunner.FirstLine(e.Message)}", e); }
        finally { foreach (var v in values) v.Dispose(); }
    }

    /// <summary>The outputs alone for <paramref name="count"/> samples, from a session of the model's own graph (no backward nodes).</summary>
    public float[] Forward(float[] inputs, int count)
    {
        long[] xShape = [count, .. SampleShape.Select(d => (long)d)];
        var values = new List<OrtValue> { OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, inputs.AsMemory(0, (int)xShape.Aggregate(1L, (a, b) => a * b)), xShape) };
        var names = new List<string> { _inputName };
        AddTokens(names, values, count);
        try
        {
            using var runOptions = new RunOptions();
            using var r = _forward.Run(runOptions, names, values, [_fetch[0]]);
            return r[0].GetTensorDataAsSpan<float>().ToArray();
        }
        catch (OnnxRuntimeException e) { throw new PerceptException($"ONNX Runtime failed on the model: {ModelRunner.FirstLine(e.Message)}", e); }
        finally { foreach (var v in values) v.Dispose(); }
    }

    /// <summary>The sample's token ids, one copy per row of the run, for a graph over an embedding output.</summary>
    void AddTokens(List<string> names, List<OrtValue> values, int count)
    {
        if (_tokenInput == null) return;
        var tokens = Tokens ?? throw new InvalidOperationException("set Tokens before running a graph over an embedding output");
        var tiled = new float[count * tokens.Length];
        for (int i = 0; i < count; i++) tokens.CopyTo(tiled, i * tokens.Length);
        values.Add(OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, tiled.AsMemory(), [count, .. _tokenShape.Select(d => (long)d)]));
        names.Add(_tokenInput);
    }

    public void Dispose() { _session.Dispose(); _forward.Dispose(); _options.Dispose(); }
}

/// <summary>An operator on a model's gradient path: its type, how many nodes use it, whether it has a gradient rule, and its first node.</summary>
public sealed record GradientOperator(string OpType, int Nodes, bool HasRule, string FirstNode);

/// <summary>What one gradient run returns.</summary>
public sealed record GradientResult(float[] Output, float[] InputGradient, IReadOnlyList<(float[] Value, long[] Shape, float[] Gradient)> Activations);
