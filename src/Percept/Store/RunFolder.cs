namespace Percept.Store;

/// <summary>
/// Makes a run appear atomically: results are written to a hidden sibling folder (<c>.NAME.partial</c>) that is
/// renamed to the run's folder only once everything is written. An interrupted analysis therefore never leaves a
/// folder that looks like a run; the next analysis of the same output finds the partial folder, says so and starts clean.
/// </summary>
internal sealed class RunFolder : IDisposable
{
    bool _committed;

    /// <summary>Where the finished run will be.</summary>
    public string FinalPath { get; }

    /// <summary>Where results are written until <see cref="Commit"/>.</summary>
    public string WorkPath { get; }

    /// <param name="finalPath">The run's folder.</param>
    /// <param name="overwrite">Replace an existing run at <paramref name="finalPath"/>.</param>
    /// <param name="info">Receives one-line notes (a stale partial folder being removed).</param>
    public RunFolder(string finalPath, bool overwrite, Action<string>? info = null)
    {
        FinalPath = Path.GetFullPath(finalPath.TrimEnd('/', '\\'));
        string parent = Path.GetDirectoryName(FinalPath) ?? throw new PerceptException($"invalid output folder: {finalPath}");
        string name = Path.GetFileName(FinalPath);
        if (File.Exists(FinalPath)) throw new PerceptException($"{Terms.Option("out")} {finalPath} is a file; give a folder for the run");
        if (Directory.Exists(FinalPath))
        {
            bool isRun = File.Exists(Path.Combine(FinalPath, Run.ManifestFile));
            bool empty = !Directory.EnumerateFileSystemEntries(FinalPath).Any();
            if (!empty && !isRun) throw new PerceptException($"{Terms.Option("out")} {finalPath} exists and is not a Percept run; choose another folder");
            if (isRun && !overwrite) throw new PerceptException($"a run already exists at {finalPath}; set {Terms.Option("overwrite")} to replace it");
        }
        Directory.CreateDirectory(parent);
        WorkPath = Path.Combine(parent, $".{name}.partial");
        if (Directory.Exists(WorkPath))
        {
            info?.Invoke($"found an interrupted analysis at {WorkPath}; removing it and starting clean");
            Directory.Delete(WorkPath, recursive: true);
        }
        // The work folder appears with its writer file in it (made under a name no cleaner looks at, then renamed), so
        // that an analysis starting beside it never takes it for an abandoned one.
        string staging = $"{WorkPath}.{Environment.ProcessId}.new";
        Directory.CreateDirectory(staging);
        File.WriteAllText(Path.Combine(staging, WriterFile), $"{Environment.ProcessId}\n{ProcessStart(Environment.ProcessId)}\n{Environment.MachineName}\n");
        Directory.Move(staging, WorkPath);
        CleanStale(parent, WorkPath, info);
    }

    /// <summary>Names the process writing a work folder (its id and start time), so a later analysis knows when it is gone.</summary>
    const string WriterFile = ".writer";

    /// <summary>
    /// Removes the other work folders (<c>.NAME.partial</c>) of <paramref name="parent"/> left by analyses that died: their
    /// writer is no longer running, or they are more than a day old. Each is reported.
    /// </summary>
    static void CleanStale(string parent, string own, Action<string>? info)
    {
        foreach (var dir in Directory.EnumerateDirectories(parent, ".*.partial"))
        {
            if (dir == own) continue;
            try
            {
                bool old = DateTime.UtcNow - Directory.GetLastWriteTimeUtc(dir) > TimeSpan.FromDays(1);
                if (!old && WriterAlive(dir)) continue;
                Directory.Delete(dir, recursive: true);
                info?.Invoke($"removed {dir}, left by an analysis that did not finish{(old ? " more than a day ago" : "")}");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
    }

    /// <summary>
    /// Whether the process named in a work folder's writer file may still run: the same process (id and start time) on
    /// this machine; on another machine (a shard on a shared file system) it cannot be asked, so it counts as running
    /// until the folder is a day old.
    /// </summary>
    static bool WriterAlive(string dir)
    {
        string file = Path.Combine(dir, WriterFile);
        if (!File.Exists(file)) return false;
        var lines = File.ReadAllLines(file);
        if (lines.Length < 2 || !int.TryParse(lines[0], out int pid)) return false;
        if (lines.Length >= 3 && lines[2] != Environment.MachineName) return true;
        // Start times are compared to the second: .NET derives them from the boot time, which it reckons anew each time.
        return ProcessStart(pid) is { } start
            && DateTime.TryParse(start, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.RoundtripKind, out var running)
            && DateTime.TryParse(lines[1], System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.RoundtripKind, out var recorded)
            && Math.Abs((running - recorded).TotalSeconds) < 1;
    }

    static string? ProcessStart(int pid)
    {
        try
        {
            using var p = System.Diagnostics.Process.GetProcessById(pid);
            return p.StartTime.ToUniversalTime().ToString("O", System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception) { return null; }
    }

    /// <summary>A path inside the work folder.</summary>
    public string PathOf(string relative) => Path.Combine(WorkPath, relative);

    /// <summary>Moves the finished run into place, replacing an older run if one is there.</summary>
    public void Commit()
    {
        File.Delete(Path.Combine(WorkPath, WriterFile));
        string? old = null;
        if (Directory.Exists(FinalPath))
        {
            old = Path.Combine(Path.GetDirectoryName(FinalPath)!, $".{Path.GetFileName(FinalPath)}.old-{Environment.ProcessId}");
            Directory.Move(FinalPath, old);
        }
        Directory.Move(WorkPath, FinalPath);
        _committed = true;
        if (old != null) Directory.Delete(old, recursive: true);
    }

    /// <summary>Removes the work folder unless the run was committed.</summary>
    public void Dispose()
    {
        if (_committed) return;
        try { if (Directory.Exists(WorkPath)) Directory.Delete(WorkPath, recursive: true); }
        catch (IOException) { /* left for the next analysis, which removes it with a message */ }
    }
}
