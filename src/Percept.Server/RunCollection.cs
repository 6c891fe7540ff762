using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace Percept.Server;

/// <summary>
/// The runs a server serves, in the order they were added, safe to read while a run is added (a training's new epoch in
/// <c>percept watch --serve</c>): every change swaps in a new snapshot, so a request sees one consistent set. Listeners
/// hear of each run added (the dashboard's event stream).
/// </summary>
public sealed class RunCollection : IReadOnlyDictionary<string, RunEntry>
{
    (string[] Order, Dictionary<string, RunEntry> Map) _snapshot = ([], new Dictionary<string, RunEntry>(StringComparer.Ordinal));
    readonly object _gate = new();

    /// <summary>Raised after a run is added, with its id.</summary>
    public event Action<string>? Added;

    /// <summary>Adds a run under its folder's name (made unique with a suffix); returns the id.</summary>
    public string Add(string name, Func<string, RunEntry> make)
    {
        string id;
        lock (_gate)
        {
            var (order, map) = _snapshot;
            id = name;
            for (int n = 2; map.ContainsKey(id); n++) id = $"{name}-{n}";
            var next = new Dictionary<string, RunEntry>(map, StringComparer.Ordinal) { [id] = make(id) };
            _snapshot = ([.. order, id], next);
        }
        Added?.Invoke(id);
        return id;
    }

    public RunEntry this[string key] => _snapshot.Map[key];
    public IEnumerable<string> Keys => _snapshot.Order;
    public IEnumerable<RunEntry> Values { get { var (order, map) = _snapshot; return order.Select(k => map[k]); } }
    public int Count => _snapshot.Order.Length;
    public bool ContainsKey(string key) => _snapshot.Map.ContainsKey(key);
    public bool TryGetValue(string key, [MaybeNullWhen(false)] out RunEntry value) => _snapshot.Map.TryGetValue(key, out value);
    public IEnumerator<KeyValuePair<string, RunEntry>> GetEnumerator()
    {
        var (order, map) = _snapshot;
        return order.Select(k => new KeyValuePair<string, RunEntry>(k, map[k])).GetEnumerator();
    }
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
