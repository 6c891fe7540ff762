namespace Percept.Server;

/// <summary>
/// The PNGs the dashboard has drawn for one run (thumbnails, heat-map overlays), kept in the run's cache folder up to a
/// number of bytes: past it, the least recently used are deleted. Files left by an earlier server count from the start
/// (oldest first). Thread-safe.
/// </summary>
public sealed class PngCache(string folder, long maxBytes)
{
    readonly object _gate = new();
    readonly LinkedList<string> _order = new(); // least recently used first
    readonly Dictionary<string, (LinkedListNode<string> Node, long Bytes)> _files = new(StringComparer.Ordinal);
    bool _loaded;

    /// <summary>Bytes the cached files hold now.</summary>
    public long Bytes { get; private set; }

    /// <summary>The picture at <paramref name="relative"/> (a path inside the cache folder), drawn by <paramref name="make"/> when it is not cached.</summary>
    public byte[] GetOrAdd(string relative, Func<byte[]> make)
    {
        string path = Path.Combine(folder, relative);
        lock (_gate)
        {
            Load();
            if (_files.TryGetValue(relative, out var known))
            {
                try
                {
                    var cached = File.ReadAllBytes(path);
                    _order.Remove(known.Node);
                    _order.AddLast(known.Node);
                    return cached;
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException) { Forget(relative); }
            }
        }
        // Drawn outside the lock: a heat map can take a while, and other pictures need not wait for it.
        var png = make();
        lock (_gate)
        {
            if (_files.ContainsKey(relative)) return png;
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            string tmp = path + $".{Environment.ProcessId}.{Environment.CurrentManagedThreadId}.tmp";
            File.WriteAllBytes(tmp, png);
            File.Move(tmp, path, overwrite: true);
            _files[relative] = (_order.AddLast(relative), png.Length);
            Bytes += png.Length;
            while (Bytes > maxBytes && _order.First is { } oldest && oldest.Value != relative)
            {
                try { File.Delete(Path.Combine(folder, oldest.Value)); } catch (IOException) { }
                Forget(oldest.Value);
            }
        }
        return png;
    }

    void Forget(string relative)
    {
        if (!_files.Remove(relative, out var entry)) return;
        _order.Remove(entry.Node);
        Bytes -= entry.Bytes;
    }

    void Load()
    {
        if (_loaded) return;
        _loaded = true;
        if (!Directory.Exists(folder)) return;
        foreach (var file in new DirectoryInfo(folder).EnumerateFiles("*.png", SearchOption.AllDirectories).OrderBy(f => f.LastWriteTimeUtc))
        {
            string relative = Path.GetRelativePath(folder, file.FullName);
            _files[relative] = (_order.AddLast(relative), file.Length);
            Bytes += file.Length;
        }
    }
}
