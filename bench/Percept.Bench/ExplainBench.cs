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
        // What the dashboard and `percept explain` use for the targets of one sample: its one forward pass serves every target.
        using var camShared = GradientGraph.Build(model, input, [1, 28, 28], "logits", [model.FindLayer("conv3").ActivationTensor!], inputGradient: false, sharedForward: true);
        using var gradShared = GradientGraph.Build(model, input, [1, 28, 28], "logits", [], sharedForward: true);
        var classes = Enumerable.Range(0, 10).Select(c => new AttributionTarget("class", c)).ToArray();
        var output = GradientMethods.Forward(grad, x);

        var x64 = Enumerable.Repeat(x, 64).SelectMany(v => v).ToArray();
        var x10 = x64[..(10 * 784)];
        var s10 = new float[100];
        for (int c = 0; c < 10; c++) s10[c * 11] = 1;
        Action Forward(int batch) => () => { using var r = forward.Run(x64[..(batch * 784)], batch); };
        Action Backward(int batch)
        {
            var seeds = new float[batch * 10];
            for (int b = 0; b < batch; b++) seeds[b * 10 + b % 10] = 1;
            return () => grad.Run(x64[..(batch * 784)], seeds, batch);
        }
        // Every line is measured in the same rounds, one run of each per round, so a change in the machine's state between
        // lines (this VM has slow and fast spells of minutes) cannot make one line look faster than another.
        var work = new (string Name, Action Action)[]
        {
            ("forward pass, batch 1", Forward(1)),
            ("forward + backward (input gradient), batch 1", Backward(1)),
            ("forward pass, batch 10", Forward(10)),
            ("forward + backward, batch 10", Backward(10)),
            ("forward pass, batch 64", Forward(64)),
            ("forward + backward, batch 64", Backward(64)),
            ("Grad-CAM at conv3, all 10 classes: one forward pass, 10 backward rows", () => GradientMethods.Cam(camShared, x, classes, output, false, false)),
            ("Grad-CAM at conv3, all 10 classes: 10 copies of the sample in one batch", () => GradientMethods.Cam(cam, x, classes, output, false, false)),
            ("saliency, all 10 classes: one forward pass, 10 backward rows", () => GradientMethods.InputGradients(gradShared, x, classes, output, false)),
            ("saliency, all 10 classes: 10 copies of the sample in one batch", () => GradientMethods.InputGradients(grad, x, classes, output, false)),
            ("integrated gradients, 64 adaptive steps, one class (64 gradients + forward passes at the interval ends)", () => GradientMethods.IntegratedGradients(grad, x, [classes[9]], false, 64)),
            ("GradientGraph.Forward (the model's own graph, for IG's interval ends), batch 64", () => grad.Forward(x64, 64)),
            ("Grad-CAM graph alone (stops at conv3), 10 copies", () => cam.Run(x10, s10, 10)),
            ("Grad-CAM graph alone, one forward pass, 10 backward rows", () => camShared.Run((float[])x.Clone(), s10, 1, seedRows: 10)),
        };
        // Warm-up long enough for .NET's tiered JIT to have compiled the C# around the runs with full optimisation.
        var warm = Stopwatch.StartNew();
        for (int i = 0; i < 30 || warm.ElapsedMilliseconds < 1000; i++) foreach (var w in work) w.Action();
        const int rounds = 60;
        var times = work.Select(_ => new double[rounds]).ToArray();
        for (int r = 0; r < rounds; r++)
            for (int k = 0; k < work.Length; k++) { var sw = Stopwatch.StartNew(); work[k].Action(); times[k][r] = sw.Elapsed.TotalMilliseconds; }
        var median = times.Select(t => t.Order().ElementAt(rounds / 2)).ToArray();
        double Of(string name) => median[Array.FindIndex(work, w => w.Name == name)];
        double f1 = Of("forward pass, batch 1"), f10 = Of("forward pass, batch 10"), f64 = Of("forward pass, batch 64");
        Console.WriteLine($"demo model, one Fashion-MNIST test image, {Environment.ProcessorCount} cores, median of {rounds} rounds (each runs every line once) after at least 30 warm-up rounds and 1 s");
        Console.WriteLine("| work | ms |");
        Console.WriteLine("|---|---|");
        for (int k = 0; k < work.Length; k++)
        {
            string name = work[k].Name, ratio = "";
            if (name.StartsWith("forward + backward")) ratio = $" ({median[k] / (name.EndsWith("64") ? f64 : name.EndsWith("10") ? f10 : f1):F1}× forward)";
            else if (name.Contains("one forward pass, 10 backward rows")) ratio = $" ({median[k] / f1:F1}× forward at batch 1)";
            Console.WriteLine($"| {name} | {median[k]:F3}{ratio} |");
        }
        var builds = Enumerable.Range(0, 10).Select(_ => { var sw = Stopwatch.StartNew(); GradientGraph.Build(model, input, [1, 28, 28], "logits", []).Dispose(); return sw.Elapsed.TotalMilliseconds; }).Order().ToArray();
        Console.WriteLine($"| building the gradient graph (shape probe, backward graph, two sessions; median of 10) | {builds[5]:F3} |");
        Console.WriteLine();
        Profile(model, input, x, f64);
        if (args.Contains("--speed-only")) return 0;
        Console.WriteLine();
        int images = Array.IndexOf(args, "--images") is int at and >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1]) : 1000;
        Completeness(grad, images);
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

    /// <summary>
    /// Completeness gaps of integrated gradients (64 steps) over the first test images: equal midpoint steps, adaptive quadrature, and adaptive
    /// quadrature that goes on while the gap is above 1%; then each rule's per-pixel error against a converged integral.
    /// </summary>
    static void Completeness(GradientGraph grad, int count)
    {
        using var labelled = new IdxDataset(Paths.TestImages, Paths.TestLabels);
        var batch = labelled.ReadBatches(count).First();
        var (images, labels) = (batch.Values, batch.Labels);
        Console.WriteLine($"integrated gradients, 64 steps, first {count} test images: |gap| / |output difference|");
        Console.WriteLine("| target | rule | median | 95th pct | 99th pct | max | samples ≥ 1% | gradients: mean, max |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|");
        foreach (var kind in new[] { "pred", "loss" })
            foreach (var rule in new[] { "equal midpoint steps", "adaptive", "adaptive, then up to 256 while the gap ≥ 1%" })
            {
                var ratios = new List<double>();
                var spent = new List<int>();
                for (int s = 0; s < count; s++)
                {
                    var x = images.AsSpan(s * 784, 784).ToArray().Select(v => v / 255f).ToArray();
                    var output = GradientMethods.Forward(grad, x);
                    var target = kind == "pred" ? new AttributionTarget("class", Array.IndexOf(output, output.Max())) : new AttributionTarget("loss", labels[s]);
                    var (_, gap, diff, used) = rule.StartsWith("equal")
                        ? GradientMethods.IntegratedGradients(grad, x, [target], false, 64, adaptive: false)
                        : GradientMethods.IntegratedGradients(grad, x, [target], false, 64, tolerance: rule == "adaptive" ? 0 : 0.01, maxSteps: 256);
                    ratios.Add(Math.Abs(gap[0]) / Math.Abs(diff[0]));
                    spent.Add(used[0]);
                }
                ratios.Sort();
                Console.WriteLine($"| {(kind == "pred" ? "predicted class" : "loss (label)")} | {rule} | {ratios[count / 2]:P2} | {ratios[(int)(0.95 * count)]:P2} | {ratios[(int)(0.99 * count)]:P2} | {ratios[^1]:P2} | {ratios.Count(r => r >= 0.01)} | {spent.Average():F1}, {spent.Max()} |");
            }

        // The gap is one number, a sum in which errors of both signs cancel; the attributions themselves are checked against 1,024
        // equal midpoint steps (which differ from 2,048 steps by about 0.1% on these images).
        int reference = Math.Min(200, count);
        Console.WriteLine();
        Console.WriteLine($"per-pixel error against 1,024 equal midpoint steps, predicted class, first {reference} test images: Σ|a − a₁₀₂₄| / Σ|a₁₀₂₄|");
        Console.WriteLine("| rule | median | 95th pct | max |");
        Console.WriteLine("|---|---|---|---|");
        var errors = new List<double>[3];
        for (int r = 0; r < 3; r++) errors[r] = [];
        for (int s = 0; s < reference; s++)
        {
            var x = images.AsSpan(s * 784, 784).ToArray().Select(v => v / 255f).ToArray();
            var output = GradientMethods.Forward(grad, x);
            AttributionTarget[] target = [new("class", Array.IndexOf(output, output.Max()))];
            var exact = GradientMethods.IntegratedGradients(grad, x, target, false, 1024, adaptive: false).Attributions;
            double norm = exact.Sum(v => Math.Abs((double)v));
            var rules = new[]
            {
                GradientMethods.IntegratedGradients(grad, x, target, false, 64, adaptive: false).Attributions,
                GradientMethods.IntegratedGradients(grad, x, target, false, 64).Attributions,
                GradientMethods.IntegratedGradients(grad, x, target, false, 64, tolerance: 0.01, maxSteps: 256).Attributions,
            };
            for (int r = 0; r < 3; r++) errors[r].Add(rules[r].Zip(exact, (a, b) => Math.Abs((double)a - b)).Sum() / norm);
        }
        string[] names = ["equal midpoint steps", "adaptive", "adaptive, then up to 256 while the gap ≥ 1%"];
        for (int r = 0; r < 3; r++)
        {
            errors[r].Sort();
            Console.WriteLine($"| {names[r]} | {errors[r][reference / 2]:P2} | {errors[r][(int)(0.95 * reference)]:P2} | {errors[r][^1]:P2} |");
        }
    }
}
