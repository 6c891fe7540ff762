using System.Diagnostics;
using Percept.Attribution;
using Percept.Data;
using Percept.Model;

/// <summary>`explain`: milliseconds of Grad-CAM (10 classes) and integrated gradients (64 steps) on one demo sample, against forward passes alone.</summary>
static class ExplainBench
{
    public static int Run()
    {
        var model = OnnxModel.Load(Paths.Model);
        using var ds = new IdxDataset(Paths.TestImages);
        var x = ds.ReadBatches(1).First().Values.Take(784).Select(v => v / 255f).ToArray();
        var input = model.Inputs[0];
        using var forward = new ModelRunner(model, input, [1, 28, 28], [new Fetch("logits")]);
        using var grad = GradientGraph.Build(model, input, [1, 28, 28], "logits", []);
        using var cam = GradientGraph.Build(model, input, [1, 28, 28], "logits", [model.FindLayer("conv3").ActivationTensor!]);
        var classes = Enumerable.Range(0, 10).Select(c => new AttributionTarget("class", c)).ToArray();
        var output = GradientMethods.Forward(grad, x);

        double Median(Action action)
        {
            for (int i = 0; i < 5; i++) action();
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
        Console.WriteLine($"demo model, one Fashion-MNIST test image, {Environment.ProcessorCount} cores, median of 30 runs");
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
        Console.WriteLine($"| integrated gradients, 64 steps, one class (incl. 2 forward passes) | {Median(() => GradientMethods.IntegratedGradients(grad, x, [classes[9]], false, 64)):F3} |");
        return 0;
    }
}
