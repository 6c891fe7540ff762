using Percept.Server;

namespace Percept.Tests.Server;

/// <summary>The dashboard server over a fresh analysis of the demo, on a free loopback port, shared by the server tests.</summary>
public sealed class DashboardFixture : IAsyncLifetime
{
    readonly DemoRunFixture _demo = new();

    public DashboardServer Server { get; private set; } = null!;
    public HttpClient Client { get; private set; } = null!;
    public Percept.Store.Run Run => _demo.Run;

    public async Task InitializeAsync()
    {
        Server = await DashboardServer.StartAsync([_demo.Run.Directory]);
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
