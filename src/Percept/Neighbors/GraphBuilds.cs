namespace Percept.Neighbors;

/// <summary>
/// Watches the all-points k-NN graphs built in a flow of execution (threads and tasks it starts included): each build's
/// points, dimensions and k. An analysis builds the graph of its perception vectors once and reuses it everywhere; a
/// test holds it to that by counting.
/// </summary>
public static class GraphBuilds
{
    /// <summary>One all-points k-NN graph: of <paramref name="Points"/> points in <paramref name="Dimensions"/> dimensions.</summary>
    public sealed record Build(int Points, int Dimensions, int K, bool Exact);

    static readonly AsyncLocal<List<Build>?> Builds = new();

    /// <summary>Records the graphs built in this flow of execution until the returned scope is disposed; <paramref name="builds"/> fills as they are built.</summary>
    public static IDisposable Watch(out IReadOnlyList<Build> builds)
    {
        var before = Builds.Value;
        var list = new List<Build>();
        Builds.Value = list;
        builds = list;
        return new Scope(before);
    }

    sealed class Scope(List<Build>? before) : IDisposable
    {
        public void Dispose() => Builds.Value = before;
    }

    internal static void Record(int points, int dimensions, int k, bool exact)
    {
        if (Builds.Value is { } list) lock (list) list.Add(new Build(points, dimensions, k, exact));
    }
}
