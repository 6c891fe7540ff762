using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using Percept;
using Percept.Data;
using Percept.Model;

// Percept benchmarks. Figures and the commands that made them are recorded in bench/README.md.
//   dotnet run --project bench/Percept.Bench -c Release -- analyze [--repeat 3]
//   dotnet run --project bench/Percept.Bench -c Release -- memory [--full DIR]
//   dotnet run --project bench/Percept.Bench -c Release -- formats PARQUET IDX_IMAGES IDX_LABELS [--repeat N]   (bench/parquet.sh makes the files)
//   dotnet run --project bench/Percept.Bench -c Release -- vectors [--rows 20000] [--widths 4096,10] [--max-width 4096] [--repeat 3]
//   dotnet run --project bench/Percept.Bench -c Release -- model-pass MODEL DATA [--batch N] [--repeat 3] [--scale S] [--mean a,b,c]
return args.FirstOrDefault() switch
{
    "analyze" => AnalyzeBench.Run(args[1..]),
    "memory" => MemoryBench.Run(args[1..]),
    "child" => MemoryBench.Child(args[1..]),
    "explain" => ExplainBench.Run(args[1..]),
    "fuzz" => FuzzBench.Run(args[1..]),
    "load" => LoadBench.Run(args[1..]),
    "insights" => InsightsBench.Run(args[1..]),
    "epochs" => EpochsBench.Run(args[1..]),
    "maps-stage" => MapsStageBench.Run(args[1..]),
    "formats" => FormatsBench.Run(args[1..]),
    "vectors" => VectorsBench.Run(args[1..]),
    "model-pass" => ModelPassBench.Run(args[1..]),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: Percept.Bench analyze [--repeat N] | memory [--full DIR] | explain [--speed-only] [--images N] | fuzz [--cases N] [--seed S] | load [--rounds N] [--concurrency N] | insights [--seed S] [--noisy DIR] [--cost] | epochs | maps-stage knn|umap|tsne IN.npy OUT.npy | formats PARQUET IDX_IMAGES IDX_LABELS [--repeat N] | vectors [--rows N] [--widths A,B] [--max-width W] [--repeat N] | model-pass MODEL DATA [--batch N] [--repeat N] [--scale S] [--mean a,b,c]");
    return 2;
}

static class Paths
{
    /// <summary>The process's peak resident memory so far (VmHWM), in MiB.</summary>
    public static double PeakMiB()
    {
        string hwm = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal))[6..].Trim();
        return long.Parse(hwm.Split(' ', StringSplitOptions.RemoveEmptyEntries)[0], CultureInfo.InvariantCulture) / 1024.0;
    }

    public static string Root { get; } = FindRoot();

    static string FindRoot()
    {
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
            for (var d = new DirectoryInfo(start); d != null; d = d.Parent)
                if (File.Exists(Path.Combine(d.FullName, "Percept.slnx"))) return d.FullName;
        throw new InvalidOperationException("run from the Percept repository");
    }

    public static string Model => Path.Combine(Root, "models", "fmnist-cnn", "epoch-5.onnx");
    public static string TestImages => Path.Combine(Root, "data", "fashion-mnist", "t10k-images-idx3-ubyte.gz");
    public static string TestLabels => Path.Combine(Root, "data", "fashion-mnist", "t10k-labels-idx1-ubyte.gz");

    /// <summary>The full Fashion-MNIST (train split) from shared/ or Debian's dataset-fashion-mnist package, if present.</summary>
    public static string? FullSet(string? given)
    {
        string[] candidates = given != null ? [given] : [Path.Combine(Root, "..", "shared", "datasets", "fashion-mnist"), "/usr/share/datasets/fashion-mnist"];
        return candidates.FirstOrDefault(c => File.Exists(Path.Combine(c, "train-images-idx3-ubyte.gz")));
    }
}

/// <summary>Images per second of `percept analyze` on the demo model against a plain ONNX Runtime run with no extra outputs.</summary>
static class AnalyzeBench
{
    public static int Run(string[] args)
    {
        int repeat = args.Length >= 2 && args[0] == "--repeat" ? int.Parse(args[1], CultureInfo.InvariantCulture) : 3;
        string scratch = Path.Combine(Path.GetTempPath(), "percept-bench-" + Environment.ProcessId);
        Directory.CreateDirectory(scratch);
        try
        {
            Console.WriteLine($"demo model {Path.GetFileName(Paths.Model)}, batch 256, {Environment.ProcessorCount} cores, best of {repeat}");
            var sets = new List<(string Name, string Images, string Labels)> { ("10k test", Paths.TestImages, Paths.TestLabels) };
            if (Paths.FullSet(null) is { } full)
                sets.Add(("60k train", Path.Combine(full, "train-images-idx3-ubyte.gz"), Path.Combine(full, "train-labels-idx1-ubyte.gz")));
            else Console.WriteLine("full Fashion-MNIST not found (../shared/datasets/fashion-mnist or /usr/share/datasets/fashion-mnist): 10k only");

            Console.WriteLine("\nEnd to end (read IDX, preprocess, run the model; Percept also writes the whole run):");
            Console.WriteLine("| data | plain ONNX Runtime, logits only | percept analyze | overhead |");
            Console.WriteLine("|---|---|---|---|");
            foreach (var (name, images, labels) in sets)
            {
                PlainOrt(images); Analyze(scratch, images, labels); // warm-up: JIT, ONNX Runtime and DuckDB initialisation
                double plain = Enumerable.Range(0, repeat).Min(_ => PlainOrt(images));
                double percept = Enumerable.Range(0, repeat).Min(_ => Analyze(scratch, images, labels));
                int n = new IdxDataset(images).Count;
                Console.WriteLine($"| {name} | {plain:F3} s, {n / plain:N0} images/s | {percept:F3} s, {n / percept:N0} images/s | {100 * (percept - plain) / plain:+0;-0}% |");
            }

            Console.WriteLine("\nModel runs alone, 10k samples already in memory (what collecting perception vectors adds to ONNX Runtime):");
            Console.WriteLine("| fetched per batch | time | vs logits only |");
            Console.WriteLine("|---|---|---|");
            OrtFetches(repeat);

            Analyze(scratch, Paths.TestImages, Paths.TestLabels, out var stages);
            Console.WriteLine($"\nStages of one 10k analysis: {stages}");
            return 0;
        }
        finally { Directory.Delete(scratch, recursive: true); }
    }

    static double PlainOrt(string images)
    {
        var clock = Stopwatch.StartNew();
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        using var session = new InferenceSession(Paths.Model, options);
        using var ds = new IdxDataset(images);
        var input = new float[256 * 784];
        double checksum = 0;
        foreach (var b in ds.ReadBatches(256))
        {
            for (int i = 0; i < b.Count * 784; i++) input[i] = b.Values[i] / 255f;
            using var value = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, input.AsMemory(0, b.Count * 784), [b.Count, 1, 28, 28]);
            using var results = session.Run(new RunOptions(), ["image"], [value], ["logits"]);
            checksum += results[0].GetTensorDataAsSpan<float>()[0];
        }
        GC.KeepAlive(checksum);
        return clock.Elapsed.TotalSeconds;
    }

    static double Analyze(string scratch, string images, string labels) => Analyze(scratch, images, labels, out _);

    static double Analyze(string scratch, string images, string labels, out string stages)
    {
        var clock = Stopwatch.StartNew();
        var marks = new List<string>();
        var progress = new StageClock(clock, marks);
        Analysis.Run(new AnalysisOptions
        {
            ModelPath = Paths.Model,
            Data = new DataSource { Path = images, LabelsPath = labels },
            OutputDirectory = Path.Combine(scratch, "run"),
            Overwrite = true,
            Map = new Percept.Projection.MapOptions { Method = Percept.Projection.MapMethod.None },
        }, progress);
        double total = clock.Elapsed.TotalSeconds;
        marks.Add($"store and commit {1000 * (total - progress.LastMark):F0} ms");
        stages = string.Join(", ", marks);
        return total;
    }

    /// <summary>Notes when each stage of an analysis ends, from its progress reports.</summary>
    sealed class StageClock(Stopwatch clock, List<string> marks) : IProgress<AnalysisProgress>
    {
        string? _stage;
        double _start, _end;
        public double LastMark => _end;

        public void Report(AnalysisProgress p)
        {
            double now = clock.Elapsed.TotalSeconds;
            if (p.Stage != _stage)
            {
                if (_stage != null) marks.Add($"{_stage} {1000 * (_end - _start):F0} ms");
                else marks.Add($"set-up {1000 * now:F0} ms (to first batch)");
                _stage = p.Stage;
                _start = _end;
            }
            _end = now;
            if (p.Done >= p.Total && p.Stage == "vectors") { marks.Add($"{_stage} {1000 * (_end - _start):F0} ms"); _stage = "done"; }
        }
    }

    static void OrtFetches(int repeat)
    {
        using var ds = new IdxDataset(Paths.TestImages);
        var all = new float[10000 * 784];
        int o = 0;
        foreach (var b in ds.ReadBatches(256)) { for (int i = 0; i < b.Count * 784; i++) all[o + i] = b.Values[i] / 255f; o += b.Count * 784; }
        var model = OnnxModel.Load(Paths.Model);
        var act = model.PerceptionLayers.Where(l => l.ActivationTensor != "logits").Select(l => (l.ActivationTensor!, l.OpType == "Conv")).ToArray();
        var variants = new (string, Fetch[])[]
        {
            ("logits only", [new("logits")]),
            ("logits + conv activations pooled in the graph + fc1 (what analyze fetches)", [new("logits"), .. act.Select(a => new Fetch(a.Item1, a.Item2 ? GraphPooling.GlobalAverage : GraphPooling.None))]),
            ("logits + whole activation tensors (pooling left to C#)", [new("logits"), .. act.Select(a => new Fetch(a.Item1))]),
        };
        double baseline = 0;
        foreach (var (name, fetch) in variants)
        {
            using var runner = new ModelRunner(model, model.Inputs[0], [1, 28, 28], fetch);
            var buf = new float[256 * 784];
            double best = double.MaxValue;
            for (int rep = 0; rep < repeat + 1; rep++)
            {
                var sw = Stopwatch.StartNew();
                for (int s = 0; s < 10000; s += 256)
                {
                    int n = Math.Min(256, 10000 - s);
                    Array.Copy(all, s * 784, buf, 0, n * 784);
                    using var r = runner.Run(buf, n);
                }
                best = Math.Min(best, sw.Elapsed.TotalSeconds);
            }
            if (baseline == 0) baseline = best;
            Console.WriteLine($"| {name} | {1000 * best:F0} ms | {100 * (best - baseline) / baseline:+0;-0}% |");
        }
    }
}

/// <summary>Peak memory of an analysis of 10k vs 60k samples, each in a fresh process.</summary>
static class MemoryBench
{
    public static int Run(string[] args)
    {
        string? full = Paths.FullSet(args.Length >= 2 && args[0] == "--full" ? args[1] : null);
        var sets = new List<(string Name, string Images, string Labels)> { ("test split, 10,000", Paths.TestImages, Paths.TestLabels) };
        if (full != null) sets.Add(("train split, 60,000", Path.Combine(full, "train-images-idx3-ubyte.gz"), Path.Combine(full, "train-labels-idx1-ubyte.gz")));
        else Console.WriteLine("full Fashion-MNIST not found (../shared/datasets/fashion-mnist or /usr/share/datasets/fashion-mnist): measuring 10k only");
        string scratch = Path.Combine(Path.GetTempPath(), "percept-bench-mem-" + Environment.ProcessId);
        Directory.CreateDirectory(scratch);
        try
        {
            Console.WriteLine("| data | samples/s | peak RSS | run size on disk |");
            foreach (var (name, images, labels) in sets)
            {
                var psi = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true };
                foreach (var a in Environment.GetCommandLineArgs().Take(1).Where(a => a.EndsWith(".dll", StringComparison.Ordinal))) psi.ArgumentList.Add(a);
                foreach (var a in new[] { "child", images, labels, Path.Combine(scratch, "run") }) psi.ArgumentList.Add(a);
                using var p = Process.Start(psi)!;
                string line = p.StandardOutput.ReadToEnd().Trim();
                p.WaitForExit();
                if (p.ExitCode != 0) { Console.WriteLine($"child failed: {line}"); return 1; }
                Console.WriteLine($"| {name} | {line} |");
            }
            return 0;
        }
        finally { Directory.Delete(scratch, recursive: true); }
    }

    public static int Child(string[] args)
    {
        var clock = Stopwatch.StartNew();
        var run = Analysis.Run(new AnalysisOptions
        {
            ModelPath = Paths.Model,
            Data = new DataSource { Path = args[0], LabelsPath = args[1] },
            OutputDirectory = args[2],
            Overwrite = true,
            Map = new Percept.Projection.MapOptions { Method = Percept.Projection.MapMethod.None },
        });
        double seconds = clock.Elapsed.TotalSeconds;
        long bytes = new DirectoryInfo(run.Directory).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);
        Console.WriteLine($"{run.Count / seconds:N0} | {Paths.PeakMiB():N0} MiB | {bytes / 1048576.0:N1} MiB");
        return 0;
    }
}

