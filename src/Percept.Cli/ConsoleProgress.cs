using System.Diagnostics;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Percept.Cli;

/// <summary>
/// Shows analysis progress: a Spectre.Console progress bar with rate and ETA on a terminal, plain periodic lines
/// (every few seconds and at the end of each stage) when the output is redirected.
/// </summary>
public static class ConsoleProgress
{
    /// <summary>Whether the live progress bar can be used.</summary>
    public static bool Interactive => !Console.IsOutputRedirected && !Console.IsErrorRedirected && AnsiConsole.Profile.Capabilities.Interactive;

    /// <summary>Runs <paramref name="work"/>, giving it a progress sink that renders as described above.</summary>
    public static T Run<T>(Func<IProgress<AnalysisProgress>, T> work, TextWriter plainOut)
    {
        if (!Interactive) return work(new PlainProgress(plainOut));
        T result = default!;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RateColumn(),
                new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx =>
            {
                var tasks = new Dictionary<string, ProgressTask>();
                result = work(new SyncProgress(p =>
                {
                    if (!tasks.TryGetValue(p.Stage, out var t)) tasks[p.Stage] = t = ctx.AddTask(p.Stage, maxValue: p.Total);
                    t.Value = p.Done;
                }));
            });
        return result;
    }

    sealed class SyncProgress(Action<AnalysisProgress> report) : IProgress<AnalysisProgress>
    {
        public void Report(AnalysisProgress value) => report(value);
    }

    /// <summary>Samples per second of a task.</summary>
    sealed class RateColumn : ProgressColumn
    {
        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
            new Markup($"[grey]{(task.Speed is double s ? $"{s:N0} samples/s" : "")}[/]");
    }

    sealed class PlainProgress(TextWriter output) : IProgress<AnalysisProgress>
    {
        readonly Stopwatch _clock = Stopwatch.StartNew();
        readonly Dictionary<string, (TimeSpan Start, TimeSpan LastPrint)> _stages = [];

        public void Report(AnalysisProgress p)
        {
            var now = _clock.Elapsed;
            if (!_stages.TryGetValue(p.Stage, out var s)) _stages[p.Stage] = s = (now, now);
            bool done = p.Done >= p.Total;
            if (!done && now - s.LastPrint < TimeSpan.FromSeconds(2) && !(p.Stage is "map" or "insights" or "neighbors" && p.Done == 0)) return;
            _stages[p.Stage] = (s.Start, now);
            double seconds = Math.Max(1e-9, (now - s.Start).TotalSeconds);
            if (p.Stage == "map")
            {
                output.WriteLine(done ? $"map: done in {seconds:F1}s" : "map: building the similarity map");
                return;
            }
            if (p.Stage == "neighbors")
            {
                output.WriteLine(done ? $"neighbors: done in {seconds:F1}s" : "neighbors: each sample's nearest in perception space, for the map, insights and Fetch Similar");
                return;
            }
            if (p.Stage == "insights")
            {
                output.WriteLine(done ? $"insights: done in {seconds:F1}s" : "insights: looking for close classes, mislabels, rare variants, duplicates, weak clusters and outliers");
                return;
            }
            double rate = p.Done / seconds;
            string eta = done ? $"done in {seconds:F1}s" : rate > 0 ? $"ETA {TimeSpan.FromSeconds((p.Total - p.Done) / rate):mm\\:ss}" : "";
            // Below a twentieth of a second the clock says nothing about the rate.
            string speed = seconds >= 0.05 ? $", {rate:N0} samples/s" : "";
            output.WriteLine($"{p.Stage}: {p.Done}/{p.Total} samples ({100.0 * p.Done / Math.Max(1, p.Total):F0}%){speed}, {eta}");
        }
    }
}
