using Microsoft.ML.OnnxRuntime;
using Percept.Model;

namespace Percept.Cli.Commands;

/// <summary><c>percept layers</c>: every node with its op type, output shape and parameter count.</summary>
public static class LayersCommand
{
    public static readonly CommandSpec Spec = new()
    {
        Name = "layers",
        Summary = "list a model's layers with op type, output shape and parameter count",
        Synopsis = ["percept layers MODEL.onnx [--input NAME]"],
        Description = """
            Lists every node of the graph: name (what --layers takes), op type, output shape (from one run of a zero
            input, batch axis shown as N), parameter count. '*' marks the layers recorded in perception vectors by
            default, with the tensor recorded (after the following nonlinearity).
            """,
        Arguments = new("MODEL.onnx", "the model", 1, 1),
        Options =
        [
            new("input", "NAME", "model input to feed when there are several"),
            new("check-gradients", null, "also list every operator on the path heat maps differentiate, whether it has a gradient rule, and whether the gradient graph builds"),
        ],
        Run = Run,
    };

    public static int Run(Arguments a, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        if (a.Positional.Count != 1) throw new UsageException("give one model file");
        var model = OnnxModel.Load(a.Positional[0]);
        var shapes = ProbeShapes(model, a.Get("input"), out string? why);
        stdout.WriteLine($"model: {model.Path} (opset {model.Opset}{(model.Producer.Length > 0 ? ", " + model.Producer : "")})");
        foreach (var i in model.Inputs) stdout.WriteLine($"input: {i.Name} {i.ElementType} {i.ShapeText}");
        stdout.WriteLine($"outputs: {string.Join(", ", model.OutputNames)}");
        if (why != null) stdout.WriteLine($"(output shapes unavailable: {why})");
        var rows = model.Layers.Select(l => (
            Mark: l.IsPerceptionLayer ? "*" : " ",
            l.Name, l.OpType,
            Shape: shapes.TryGetValue(l.Output, out var s) ? s : "?",
            Params: l.ParameterCount > 0 ? l.ParameterCount.ToString("N0") : "",
            Records: l.IsPerceptionLayer ? $"records {l.ActivationTensor}" : "")).ToList();
        int wName = Math.Max(4, rows.Max(r => r.Name.Length)), wOp = Math.Max(2, rows.Max(r => r.OpType.Length)),
            wShape = Math.Max(12, rows.Max(r => r.Shape.Length)), wParams = Math.Max(6, rows.Max(r => r.Params.Length));
        stdout.WriteLine($"  {"name".PadRight(wName)}  {"op".PadRight(wOp)}  {"output shape".PadRight(wShape)}  {"params".PadLeft(wParams)}");
        foreach (var r in rows)
            stdout.WriteLine($"{r.Mark} {r.Name.PadRight(wName)}  {r.OpType.PadRight(wOp)}  {r.Shape.PadRight(wShape)}  {r.Params.PadLeft(wParams)}  {r.Records}".TrimEnd());
        stdout.WriteLine($"{model.Layers.Count} nodes, {model.Layers.Sum(l => l.ParameterCount):N0} parameters, {model.PerceptionLayers.Count} perception layers");
        if (a.Has("check-gradients")) CheckGradients(model, a.Get("input"), stdout);
        return CommandLine.Ok;
    }

    /// <summary>Every operator on the path a heat map differentiates, with its status, and whether the gradient graph builds.</summary>
    static void CheckGradients(OnnxModel model, string? inputName, TextWriter stdout)
    {
        var input = model.SelectInput(inputName);
        string output = model.SelectOutput(null);
        var ops = Attribution.GradientGraph.PathOperators(model, input, output);
        stdout.WriteLine();
        stdout.WriteLine($"gradient path from input '{input.Name}' to output '{output}':");
        int w = Math.Max(8, ops.Max(o => o.OpType.Length));
        stdout.WriteLine($"  {"operator".PadRight(w)}  nodes  gradient");
        foreach (var o in ops)
            stdout.WriteLine($"  {o.OpType.PadRight(w)}  {o.Nodes,5}  {(o.HasRule ? "yes" : $"NO RULE (first: node '{o.FirstNode}')")}");
        var missing = ops.Where(o => !o.HasRule).Select(o => o.OpType).ToArray();
        if (missing.Length > 0)
        {
            stdout.WriteLine($"heat maps: gradient methods cannot run ({string.Join(", ", missing)} without a rule); occlusion works for any model");
            return;
        }
        if (input.Shape.Skip(1).Any(d => d <= 0)) { stdout.WriteLine("heat maps: every operator has a rule (the graph is built when the input's free axes are known)"); return; }
        try
        {
            using var graph = Attribution.GradientGraph.Build(model, input, input.Shape.Skip(1).Select(d => (int)d).ToArray(), output, []);
            stdout.WriteLine("heat maps: every operator has a rule and the gradient graph builds");
        }
        catch (PerceptException e) { stdout.WriteLine($"heat maps: every operator has a rule, but the gradient graph does not build: {e.Message}"); }
    }

    /// <summary>Runs one zero sample with every node output exposed and reads the shapes ONNX Runtime gives them.</summary>
    static Dictionary<string, string> ProbeShapes(OnnxModel model, string? inputName, out string? why)
    {
        why = null;
        var shapes = new Dictionary<string, string>();
        if (model.Inputs.Count > 1 && inputName == null) { why = "the model has several inputs"; return shapes; }
        var input = model.SelectInput(inputName);
        if (input.Shape.Length == 0 || input.Shape.Skip(1).Any(d => d <= 0)) { why = $"input shape {input.ShapeText} has free axes"; return shapes; }
        try
        {
            bool batchFree = input.Shape[0] <= 0;
            foreach (var (tensor, shape) in model.ProbeShapes(input, input.Shape.Skip(1).Select(d => (int)d).ToArray()))
                shapes[tensor] = "[" + string.Join(", ", shape.Select((d, k) => k == 0 && batchFree && shape.Length > 1 && d == 1 ? "N" : d.ToString())) + "]";
        }
        catch (Exception e) when (e is PerceptException or OnnxRuntimeException) { why = e.Message; }
        return shapes;
    }
}
