using System.Diagnostics;
using Percept.Attribution;
using Percept.Data;
using Percept.Model;

/// <summary>`explain`: milliseconds of Grad-CAM (10 classes) and integrated gradients (64 steps) on one demo sample, against forward passes alone.</summary>
static class ExplainBench
{
    public static int Run(string[] args)
    {
        var model = OnnxModel.Load(Paths.Model);
        using var ds = new IdxDataset(Paths.TestImages);
        var x = ds.ReadBatches(1).First().Values.Take(784).Select(v => v / 255f).ToArray();
        var input = model.Inputs[0];
        using var forward = new ModelRunner(model, input, [1, 28, 28], [new Fetch("logits")]);
        using var grad = GradientGraph.Build(model, input, [1, 28, 28], "logits", []);
        using var cam = GradientGraph.Build(model, input, [1, 28, 28], "logits", [model.FindLayer("conv3").ActivationTensor!], inputGradient: false);
        var classes = Enumerable.Range(0, 10).Select(c => new AttributionTarget("class", c)).ToArray();
        var output = GradientMethods.Forward(grad, x);

        double Median(Action action)
        {
            // Warm-up long enough for .NET's tiered JIT to have compiled the C# around the runs with full optimisation.
            var warm = Stopwatch.StartNew();
            for (int i = 0; i < 50 || warm.ElapsedMilliseconds < 500; i++) action();
            var times = new List<double>();
            for (int i = 0; i < 30; i++) { var sw = Stopwatch.StartNew(); action(); times.Add(sw.Elapsed.TotalMilliseconds); }
            times.Sort();
            return times[times.Count / 2];
        }
        double Forward(int batch)
        {
            var buffer = new float[batch * 784];
            for (int b = 0; b < batch; b++) x.CopyTo(buffer, b * 784);
            return Median(() => { using var r = forward.Run(buffer, batch); });
        }
        double Backward(int batch)
        {
            var inputs = new float[batch * 784];
            var seeds = new float[batch * 10];
            for (int b = 0; b < batch; b++) { x.CopyTo(inputs, b * 784); seeds[b * 10 + b % 10] = 1; }
            return Median(() => grad.Run(inputs, seeds, batch));
        }
        Console.WriteLine($"demo model, one Fashion-MNIST test image, {Environment.ProcessorCount} cores, median of 30 runs after at least 50 warm-up runs and 0.5 s");
        Console.WriteLine("| work | ms |");
        Console.WriteLine("|---|---|");
        double f1 = Forward(1), f10 = Forward(10), f64 = Forward(64);
        double b1 = Backward(1), b10 = Backward(10), b64 = Backward(64);
        Console.WriteLine($"| forward pass, batch 1 | {f1:F3} |");
        Console.WriteLine($"| forward + backward (input gradient), batch 1 | {b1:F3} ({b1 / f1:F1}× forward) |");
        Console.WriteLine($"| forward pass, batch 10 | {f10:F3} |");
        Console.WriteLine($"| forward + backward, batch 10 | {b10:F3} ({b10 / f10:F1}× forward) |");
        Console.WriteLine($"| forward pass, batch 64 | {f64:F3} |");
        Console.WriteLine($"| forward + backward, batch 64 | {b64:F3} ({b64 / f64:F1}× forward) |");
        Console.WriteLine($"| Grad-CAM at conv3, all 10 classes (one batched run) | {Median(() => GradientMethods.Cam(cam, x, classes, output, false, false)):F3} |");
        Console.WriteLine($"| saliency, all 10 classes | {Median(() => GradientMethods.InputGradients(grad, x, classes, output, false)):F3} |");
        Console.WriteLine($"| integrated gradients, 64 adaptive steps, one class (64 gradients + forward passes at the interval ends) | {Median(() => GradientMethods.IntegratedGradients(grad, x, [classes[9]], false, 64)):F3} |");
        var x64 = Enumerable.Repeat(x, 64).SelectMany(v => v).ToArray();
        Console.WriteLine($"| GradientGraph.Forward (the model's own graph, for IG's interval ends), batch 64 | {Median(() => grad.Forward(x64, 64)):F3} |");
        var x10 = x64[..(10 * 784)];
        var s10 = new float[100];
        for (int c = 0; c < 10; c++) s10[c * 11] = 1;
        Console.WriteLine($"| Grad-CAM graph alone (stops at conv3), batch 10 | {Median(() => cam.Run(x10, s10, 10)):F3} |");
        Console.WriteLine($"| building the gradient graph (shape probe, backward graph, two sessions) | {Median(() => GradientGraph.Build(model, input, [1, 28, 28], "logits", []).Dispose()):F3} |");
        Console.WriteLine();
        Profile(model, input, x, f64);
        if (args.Contains("--speed-only")) return 0;
        Console.WriteLine();
        Completeness(grad);
        return 0;
    }

    /// <summary>
    /// Where the time of a forward + backward run goes: ONNX Runtime's own profile of 50 runs at batch 64, kernel time
    /// summed per part (the backward nodes are the ones Percept wrote, named <c>percept.*</c>).
    /// </summary>
    static void Profile(OnnxModel model, ModelInput input, float[] x, double forwardMs)
    {
        const int runs = 50, batch = 64;
        string dir = Directory.CreateTempSubdirectory("percept-profile").FullName;
        Environment.SetEnvironmentVariable("PERCEPT_ORT_PROFILE", Path.Combine(dir, "ort"));
        try
        {
            using (var grad = GradientGraph.Build(model, input, [1, 28, 28], "logits", []))
            {
                var inputs = Enumerable.Repeat(x, batch).SelectMany(v => v).ToArray();
                var seeds = new float[batch * 10];
                for (int b = 0; b < batch; b++) seeds[b * 10 + b % 10] = 1;
                for (int i = 0; i < runs; i++) grad.Run(inputs, seeds, batch);
                for (int i = 0; i < runs; i++) grad.Forward(inputs, batch);
            }
            var parts = new Dictionary<string, double>();
            var ops = new Dictionary<string, double>();
            var plain = new Dictionary<string, double>();
            bool perNode = Environment.GetEnvironmentVariable("PERCEPT_PROFILE_NODES") == "1";
            foreach (var file in Directory.GetFiles(dir, "*.json"))
            {
                var events = System.Text.Json.JsonDocument.Parse(File.ReadAllText(file)).RootElement.EnumerateArray()
                    .Where(e => e.GetProperty("cat").GetString() == "Node" && e.GetProperty("name").GetString()!.EndsWith("_kernel_time")).ToList();
                // The session of the model's own graph (GradientGraph.Forward) has no backward nodes.
                bool forwardOnly = !events.Any(e => e.GetProperty("name").GetString()!.StartsWith("percept."));
                foreach (var e in events)
                {
                    string name = e.GetProperty("name").GetString()!;
                    string op = e.GetProperty("args").TryGetProperty("op_name", out var o) ? o.GetString() ?? "" : "";
                    if (forwardOnly) { plain[op] = plain.GetValueOrDefault(op) + e.GetProperty("dur").GetDouble() / 1000.0 / runs; continue; }
                    string part = name.StartsWith("percept.") ? "backward nodes" : op == "MaxPool" ? "forward MaxPool (with its Indices output)"
                        : op.StartsWith("Reorder") ? "layout changes (NCHWc)" : "other forward nodes";
                    double ms = e.GetProperty("dur").GetDouble() / 1000.0 / runs;
                    parts[part] = parts.GetValueOrDefault(part) + ms;
                    string node = perNode ? name[..^"_kernel_time".Length] + " " + op : (name.StartsWith("percept.") ? "backward " : "forward ") + op;
                    ops[node] = ops.GetValueOrDefault(node) + ms;
                }
            }
            Console.WriteLine($"ONNX Runtime profile of forward + backward, batch {batch}, kernel time per run (plain forward pass: {forwardMs:F3} ms)");
            Console.WriteLine("| part | ms | × plain forward |");
            Console.WriteLine("|---|---|---|");
            foreach (var (part, ms) in parts.OrderByDescending(p => p.Value))
                Console.WriteLine($"| {part} | {ms:F3} | {ms / forwardMs:F2} |");
            Console.WriteLine();
            Console.WriteLine("| operator | ms |");
            Console.WriteLine("|---|---|");
            foreach (var (op, ms) in ops.OrderByDescending(p => p.Value).Take(perNode ? 30 : 12))
                Console.WriteLine($"| {op} | {ms:F3} |");
            Console.WriteLine();
            Console.WriteLine($"the model's own graph (forward only), same batch: {plain.Values.Sum():F3} ms of kernel time per run");
            Console.WriteLine("| operator | ms |");
            Console.WriteLine("|---|---|");
            foreach (var (op, ms) in plain.OrderByDescending(p => p.Value).Take(8))
                Console.WriteLine($"| {op} | {ms:F3} |");
        }
        finally
        {
            Environment.SetEnvironmentVariable("PERCEPT_ORT_PROFILE", null);
            Directory.Delete(dir, true);
        }
    }

    /// <summary>Completeness gaps of integrated gradients (64 steps) over the first test images: equal midpoint steps against adaptive quadrature.</summary>
    static void Completeness(GradientGraph grad)
    {
        const int count = 1000;
        using var labelled = new IdxDataset(Paths.TestImages, Paths.TestLabels);
        var batch = labelled.ReadBatches(count).First();
        var (images, labels) = (batch.Values, batch.Labels);
        Console.WriteLine($"integrated gradients, 64 steps, first {count} test images: |gap| / |output difference|");
        Console.WriteLine("| target | rule | median | 95th pct | 99th pct | max | samples ≥ 1% |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        foreach (var kind in new[] { "pred", "loss" })
            foreach (bool adaptive in new[] { false, true })
            {
                var ratios = new List<double>();
                for (int s = 0; s < count; s++)
                {
                    var x = images.AsSpan(s * 784, 784).ToArray().Select(v => v / 255f).ToArray();
                    var output = GradientMethods.Forward(grad, x);
                    var target = kind == "pred" ? new AttributionTarget("class", Array.IndexOf(output, output.Max())) : new AttributionTarget("loss", labels[s]);
                    var (_, gap, diff) = GradientMethods.IntegratedGradients(grad, x, [target], false, 64, adaptive);
                    ratios.Add(Math.Abs(gap[0]) / Math.Abs(diff[0]));
                }
                ratios.Sort();
                Console.WriteLine($"| {(kind == "pred" ? "predicted class" : "loss (label)")} | {(adaptive ? "adaptive" : "equal midpoint steps")} | {ratios[count / 2]:P2} | {ratios[(int)(0.95 * count)]:P2} | {ratios[(int)(0.99 * count)]:P2} | {ratios[^1]:P2} | {ratios.Count(r => r >= 0.01)} |");
            }
    }
}
