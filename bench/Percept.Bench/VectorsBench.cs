using System.Diagnostics;
using Percept.Perception;

/// <summary>
/// The vectors stage's arithmetic alone, without the disk: standardise, weight, concatenate and project rows of pooled
/// layers (the wide MLP's two layers, 4,096 + 10 = 4,106 features, to 4,096-wide vectors, as bench/wide.sh's run) with
/// <see cref="PerceptionVectorBuilder.BuildRows"/>, on 1 thread and on all, best of --repeat.
///   dotnet run --project bench/Percept.Bench -c Release -- vectors [--rows 20000] [--widths 4096,10] [--max-width 4096] [--repeat 3]
/// </summary>
static class VectorsBench
{
    public static int Run(string[] args)
    {
        int rows = Arg(args, "--rows", 20_000), maxWidth = Arg(args, "--max-width", 4096), repeat = Arg(args, "--repeat", 3);
        int[] widths = (ArgText(args, "--widths") ?? "4096,10").Split(',').Select(int.Parse).ToArray();
        var rng = new Random(1);
        var means = widths.Select(w => Enumerable.Range(0, w).Select(_ => (float)rng.NextDouble()).ToArray()).ToArray();
        var stds = widths.Select(w => Enumerable.Range(0, w).Select(_ => 0.5f + (float)rng.NextDouble()).ToArray()).ToArray();
        var builder = new PerceptionVectorBuilder(means, stds, maxWidth, 0);
        var layers = widths.Select(w => Enumerable.Range(0, rows * w).Select(_ => (float)rng.NextDouble()).ToArray()).ToArray();
        var output = new float[(long)rows * builder.Width];
        Console.WriteLine(Percept.Core.Cpu.Describe());
        Console.WriteLine($"{rows:N0} rows of {string.Join(" + ", widths)} = {builder.ConcatenatedWidth} features → {builder.Width}{(builder.Width != builder.ConcatenatedWidth ? " (projected)" : "")}");
        foreach (int threads in new[] { 1, Environment.ProcessorCount }.Distinct())
        {
            double best = double.MaxValue;
            for (int r = 0; r < repeat; r++)
            {
                var clock = Stopwatch.StartNew();
                const int part = 128;
                Parallel.For(0, (rows + part - 1) / part, new ParallelOptions { MaxDegreeOfParallelism = threads }, () => new float[builder.ScratchLength], (p, _, scratch) =>
                {
                    int first = p * part, count = Math.Min(part, rows - first);
                    builder.BuildRows(layers, first, count, output.AsSpan(first * builder.Width, count * builder.Width), scratch);
                    return scratch;
                }, _ => { });
                best = Math.Min(best, clock.Elapsed.TotalSeconds);
            }
            Console.WriteLine($"threads {threads}: {best:F3} s, {rows / best:N0} samples/s");
        }
        return 0;
    }

    static int Arg(string[] a, string name, int fallback) => Array.IndexOf(a, name) is int i and >= 0 && i + 1 < a.Length ? int.Parse(a[i + 1]) : fallback;
    static string? ArgText(string[] a, string name) => Array.IndexOf(a, name) is int i and >= 0 && i + 1 < a.Length ? a[i + 1] : null;
}
