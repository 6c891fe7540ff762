using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using Percept;
using Percept.Data;

/// <summary>
/// The model pass against ONNX Runtime alone: the same model, batch size and threads, over the same number of samples.
/// Plain: the session run on preprocessed inputs already in memory, only the model's output fetched and discarded.
/// Percept: the "model" stage of `percept analyze` (reading and preprocessing the data, every perception layer fetched and
/// pooled, the results written), as the run's manifest times it. Alternated, best of --repeat each. Then, to say where the
/// difference goes: the plain loop on Percept's session (its layers fetched), and the data read and preprocessed alone.
///   dotnet run --project bench/Percept.Bench -c Release -- model-pass MODEL DATA [--batch N] [--repeat 3] [--scale S] [--mean a,b,c]
/// </summary>
static class ModelPassBench
{
    public static int Run(string[] args)
    {
        if (args.Length < 2) { Console.Error.WriteLine("usage: model-pass MODEL DATA [--batch N] [--repeat N] [--scale S] [--mean a,b,c]"); return 2; }
        string model = args[0], data = args[1];
        int repeat = Arg(args, "--repeat") is { } r ? int.Parse(r) : 3;
        int batch = Arg(args, "--batch") is { } b ? int.Parse(b) : 256;
        float? scale = Arg(args, "--scale") is { } s ? float.Parse(s, System.Globalization.CultureInfo.InvariantCulture) : null;
        float[]? mean = Arg(args, "--mean")?.Split(',').Select(v => float.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        Console.WriteLine(global::Percept.Core.Cpu.Describe());
        string scratch = Path.Combine(Path.GetTempPath(), "percept-modelpass-" + Environment.ProcessId);
        try
        {
            int count = 0;
            double ModelStage()
            {
                var run = Analysis.Run(new AnalysisOptions
                {
                    ModelPath = model, Data = new DataSource { Path = data }, OutputDirectory = scratch, Overwrite = true, BatchSize = batch,
                    Insights = false, Map = new global::Percept.Projection.MapOptions { Method = global::Percept.Projection.MapMethod.None },
                    Preprocess = new PreprocessOptions { Scale = scale, Mean = mean },
                });
                count = run.Count;
                return run.Manifest.Stages!["model"];
            }
            ModelStage();  // warm-up, and the sample count
            using var session = new InferenceSession(model, new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL });
            var meta = session.InputMetadata.First();
            var shape = meta.Value.Dimensions.Select(d => (long)d).ToArray();
            if (shape.Skip(1).Any(d => d <= 0)) { Console.Error.WriteLine($"model-pass needs a model whose sample shape is fixed; {meta.Key} is [{string.Join(", ", shape)}]"); return 2; }
            int fixedBatch = shape[0] > 0 ? (int)shape[0] : batch;
            long perSample = shape.Skip(1).Aggregate(1L, (x, y) => x * y);
            var input = new float[fixedBatch * perSample];
            for (int i = 0; i < input.Length; i++) input[i] = (i % 255) / 255f;
            string output = session.OutputMetadata.Keys.First();
            double Plain()
            {
                var clock = Stopwatch.StartNew();
                for (int done = 0; done < count; done += fixedBatch)
                {
                    int n = Math.Min(fixedBatch, count - done);
                    if (shape[0] > 0) n = fixedBatch;
                    using var value = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, input.AsMemory(0, (int)(n * perSample)), [n, .. shape.Skip(1)]);
                    using var results = session.Run(new RunOptions(), [meta.Key], [value], [output]);
                }
                return clock.Elapsed.TotalSeconds;
            }
            // Where the difference goes: the same loop on Percept's session (every perception layer fetched, convolutions
            // pooled in the graph), and the data read and preprocessed alone (in the pass, on a thread beside the session).
            var source = new DataSource { Path = data };
            var onnx = global::Percept.Model.OnnxModel.Load(model, source.PadId());
            var modelInput = onnx.SelectInput(null);
            var layers = global::Percept.Perception.PerceptionPass.ChooseLayers(onnx, null);
            var fetch = global::Percept.Perception.PerceptionPass.Fetches(onnx.SelectOutput(null), layers, global::Percept.Perception.PoolingMode.Mean, out _);
            int[] modelSample = modelInput.Shape.Skip(1).Select(d => (int)d).ToArray();
            var preprocess = new PreprocessOptions { Scale = scale, Mean = mean };
            using var dataset = source.Open(modelSample, preprocess);
            var pre = new Preprocessor(dataset.Format, modelSample, preprocess);
            using var runner = new global::Percept.Model.ModelRunner(onnx, modelInput, pre.InputShape, fetch);
            double Fetching()
            {
                var clock = Stopwatch.StartNew();
                for (int done = 0; done < count; done += fixedBatch)
                {
                    using var results = runner.Run(input, Math.Min(fixedBatch, count - done));
                }
                return clock.Elapsed.TotalSeconds;
            }
            double Reading()
            {
                var clock = Stopwatch.StartNew();
                foreach (var b in BatchPrefetcher.Read(dataset, pre, fixedBatch, default)) b.Release();
                return clock.Elapsed.TotalSeconds;
            }
            // Each part's wall time and the CPU time the process spent in it (all threads): on a machine whose cores the
            // session already fills, what Percept adds costs its CPU time divided by the cores. (The model stage's CPU time
            // cannot be told apart from the rest of its analysis, so it is not printed.)
            static TimeSpan Cpu() { using var self = Process.GetCurrentProcess(); return self.TotalProcessorTime; }
            static (double Wall, double Cpu) Timed(Func<double> part)
            {
                var cpu = Cpu();
                double wall = part();
                return (wall, (Cpu() - cpu).TotalSeconds);
            }
            static (double Wall, double Cpu) Best((double Wall, double Cpu) a, (double Wall, double Cpu) b) => b.Wall < a.Wall ? b : a;
            Plain();
            Fetching();
            (double Wall, double Cpu) none = (double.MaxValue, 0), plain = none, percept = none, fetching = none, reading = none;
            for (int i = 0; i < repeat; i++)
            {
                plain = Best(plain, Timed(Plain));
                percept = Best(percept, Timed(ModelStage));
                fetching = Best(fetching, Timed(Fetching));
                reading = Best(reading, Timed(Reading));
            }
            Console.WriteLine($"{Path.GetFileName(model)}, {count:N0} samples, batch {fixedBatch}: ONNX Runtime alone {plain.Wall:F3} s ({count / plain.Wall:N0}/s); " +
                $"Percept's model pass {percept.Wall:F3} s ({count / percept.Wall:N0}/s); ratio {plain.Wall / percept.Wall:F2}");
            Console.WriteLine($"  Percept's session alone ({fetch.Count} outputs for {layers.Count} layers and the model's output), inputs in memory: {fetching.Wall:F3} s " +
                $"({fetching.Wall - plain.Wall:+0.000;-0.000} s); reading and preprocessing the data alone: {reading.Wall:F3} s");
            Console.WriteLine($"  CPU time (all threads, {Environment.ProcessorCount} CPUs): ONNX Runtime alone {plain.Cpu:F3} s (its threads spin), " +
                $"Percept's session alone {fetching.Cpu:F3} s, reading alone {reading.Cpu:F3} s");
            return 0;
        }
        finally { if (Directory.Exists(scratch)) Directory.Delete(scratch, true); }
    }

    static string? Arg(string[] a, string name) => Array.IndexOf(a, name) is int i and >= 0 && i + 1 < a.Length ? a[i + 1] : null;
}
