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
}
