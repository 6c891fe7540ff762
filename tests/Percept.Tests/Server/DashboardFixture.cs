using Percept.Data;
using Percept.Server;

namespace Percept.Tests.Server;

/// <summary>
/// The dashboard server on a free loopback port over a fresh analysis of the demo and, as a second checkpoint, the
/// first epoch's model on the same images with its map aligned to the demo's; shared by the server tests.
/// </summary>
public sealed class DashboardFixture : IAsyncLifetime
{
    readonly DemoRunFixture _demo = new();

    public DashboardServer Server { get; private set; } = null!;
    public HttpClient Client { get; private set; } = null!;
    public Percept.Store.Run Run => _demo.Run;
    public Percept.Store.Run FirstEpoch { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var map = _demo.Run.ReadMatrix("map", out int rows, out int dims);
        var layout = new Matrix(map, rows, dims);
        FirstEpoch = Analysis.Run(new AnalysisOptions
        {
            ModelPath = Path.Combine(TestFiles.Root, "models", "fmnist-cnn", "epoch-1.onnx"),
            Data = new DataSource { Path = TestFiles.FashionImages, LabelsPath = TestFiles.FashionLabels, ClassNamesPath = TestFiles.FashionClasses },
            OutputDirectory = _demo.Scratch("epoch-1"),
            BatchSize = 500,
            Map = new Percept.Projection.MapOptions { Initial = layout, AlignTo = layout, Dimensions = dims },
        });
        Server = await DashboardServer.StartAsync([_demo.Run.Directory, FirstEpoch.Directory]);
        Client = new HttpClient { BaseAddress = Server.Url, Timeout = TimeSpan.FromMinutes(2) };
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        await Server.DisposeAsync();
        _demo.Dispose();
    }
}

/// <summary>The server tests share one demo analysis and one server.</summary>
[CollectionDefinition("dashboard")]
public sealed class DashboardCollection : ICollectionFixture<DashboardFixture>;
