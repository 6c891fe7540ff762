using System.Diagnostics;
using Percept.Server;

namespace Percept.Tests.Server;

/// <summary>A report cancelled (Ctrl+C, SIGTERM) stops within its long loops and leaves no file, not even its .partial.</summary>
public class ReportCancellationTests(DemoRunFixture fixture) : IClassFixture<DemoRunFixture>
{
    [Theory]
    [InlineData(null)]          // cancelled before it starts
    [InlineData("neighbours:")] // while the neighbour table is built
    [InlineData("thumbnails:")] // while the thumbnail atlas is drawn
    public void A_cancelled_report_stops_quickly_and_leaves_no_file(string? cancelAt)
    {
        using var dir = new TempDir();
        using var cancel = new CancellationTokenSource();
        if (cancelAt == null) cancel.Cancel();
        var clock = Stopwatch.StartNew();
        Assert.ThrowsAny<OperationCanceledException>(() => ReportWriter.Write(fixture.Run.Directory, dir["report.html"],
            log: line => { if (cancelAt != null && line.StartsWith(cancelAt, StringComparison.Ordinal)) cancel.Cancel(); },
            cancellationToken: cancel.Token));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"the report took {clock.Elapsed.TotalSeconds:F1} s to stop");
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path));
    }

    [Fact]
    public void A_report_of_a_tiny_run_whose_map_quality_could_not_be_measured_is_written()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir["t.csv"], "a,b,label\n" + string.Concat(Enumerable.Range(0, 24).Select(i => $"{i % 2},{i * 0.1:F1},{i % 2}\n")));
        var run = Analysis.Run(new AnalysisOptions
        {
            ModelPath = TinyModels.Mlp(dir["m.onnx"], 2, 4, 2), Data = new Percept.Data.DataSource { Path = dir["t.csv"] }, OutputDirectory = dir["run"],
        });
        Assert.False(double.IsFinite(run.Manifest.Map!.Trustworthiness), "this test needs a run whose map quality is NaN");
        long bytes = ReportWriter.Write(run.Directory, dir["report.html"]);
        Assert.True(bytes > 0);
        Assert.Contains("\"trustworthiness\":\"NaN\"", File.ReadAllText(dir["report.html"]));
    }
}
