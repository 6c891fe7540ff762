using System.Security.Cryptography;
using System.Text;

namespace Percept.Store;

/// <summary>
/// Where a run's model and data are now: the places a user names when they moved (<c>--model</c>, <c>--data</c>). Null
/// keeps the recorded place.
/// </summary>
/// <param name="Model">The model file.</param>
/// <param name="Data">The data file or image folder; its labels and class names are then looked for beside it by their file names.</param>
public sealed record RunLocations(string? Model = null, string? Data = null);

/// <summary>What became of one file a run was made from.</summary>
/// <param name="Role"><c>model</c>, <c>data</c>, <c>labels</c> or <c>classes</c>.</param>
/// <param name="Found">Where it is now (the same fingerprint), or null.</param>
/// <param name="Problem">Why it is not usable: missing, or changed since the analysis; null when found.</param>
public sealed record SourceStatus(string Role, string Recorded, string? Found, string? Problem);

/// <summary>
/// The files a run was made from, and finding them again when the run or they moved: each is recorded by absolute path,
/// by its path relative to the run when it sat inside or beside it, and by a fingerprint (SHA-256), and is looked for
/// where the user points, then where it was, then relative to where the run is now. A file found with another
/// fingerprint is refused: a run never explains a sample with data or a model it was not made from.
/// </summary>
public static class RunSources
{
    /// <summary>A relative path is kept when the file is at most this many folders above the run's parent.</summary>
    const int MaxLevelsUp = 3;

    /// <summary>The path of <paramref name="path"/> relative to <paramref name="runDirectory"/>, when it sits inside or beside the run (null otherwise).</summary>
    public static string? Relative(string path, string runDirectory)
    {
        string relative = Path.GetRelativePath(Path.GetFullPath(runDirectory), Path.GetFullPath(path));
        if (Path.IsPathRooted(relative)) return null;
        int up = relative.Split(Path.DirectorySeparatorChar).TakeWhile(p => p == "..").Count();
        return up <= MaxLevelsUp + 1 ? relative.Replace('\\', '/') : null;
    }

    /// <summary>
    /// The SHA-256 of a file's bytes, lower-case hex; of a folder (an image dataset), the SHA-256 of its files' relative
    /// paths ('/'-separated, in ordinal order, so the same on every system) and sizes (reading every image again would
    /// cost as much as the analysis). Hidden files and folders (a name starting with '.', as Finder's .DS_Store) do not count.
    /// </summary>
    public static string Fingerprint(string path)
    {
        if (Directory.Exists(path))
        {
            var text = new StringBuilder();
            var files = Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories)
                .Select(f => (Full: f, Relative: Path.GetRelativePath(path, f).Replace('\\', '/')))
                .Where(f => !f.Relative.Split('/').Any(part => part.StartsWith('.')))
                .OrderBy(f => f.Relative, StringComparer.Ordinal);
            foreach (var (full, relative) in files) text.Append(relative).Append('\t').Append(new FileInfo(full).Length).Append('\n');
            return "dir:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
        }
        // A file is read once per process while its size and time stay the same (a training's epochs share their data).
        var info = new FileInfo(path);
        var key = (info.FullName, info.Length, info.LastWriteTimeUtc);
        if (Known.TryGetValue(key, out var known)) return known;
        using var f = File.OpenRead(path);
        return Known[key] = Convert.ToHexStringLower(SHA256.HashData(f));
    }

    static readonly System.Collections.Concurrent.ConcurrentDictionary<(string, long, DateTime), string> Known = new();

    /// <summary>Describes a file an analysis reads, for its manifest.</summary>
    public static RunManifest.SourceFile Describe(string role, string path, string runDirectory)
    {
        string full = Path.GetFullPath(path);
        long bytes = File.Exists(full) ? new FileInfo(full).Length : 0;
        return new RunManifest.SourceFile(role, full, Relative(full, runDirectory), Fingerprint(full), bytes);
    }

    /// <summary>
    /// Finds a recorded file: at <paramref name="given"/> (the user's pointer) when there is one, else at its recorded path,
    /// else relative to the run, else (for a file that travels with the data) beside <paramref name="besideData"/>.
    /// </summary>
    /// <param name="besideData">Where the data are now (a file, or an image folder): a file that travels with them is looked for beside them.</param>
    internal static SourceStatus Find(string role, string recordedPath, string? relative, string fingerprint, string runDirectory, string? given, string? besideData)
    {
        try { return Search(role, recordedPath, relative, fingerprint, runDirectory, given, besideData); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new(role, recordedPath, null, $"the {role} cannot be read ({e.Message})");
        }
    }

    static SourceStatus Search(string role, string recordedPath, string? relative, string fingerprint, string runDirectory, string? given, string? besideData)
    {
        if (given != null)
        {
            string full = Path.GetFullPath(given);
            if (!File.Exists(full) && !Directory.Exists(full)) return new(role, recordedPath, null, $"{given} does not exist");
            return Fingerprint(full) == fingerprint ? new(role, recordedPath, full, null)
                : new(role, recordedPath, null, $"{given} is not the {role} this run was made from (its SHA-256 differs)");
        }
        var candidates = new List<string> { recordedPath };
        if (relative != null) candidates.Add(Path.GetFullPath(Path.Combine(runDirectory, relative)));
        if (besideData != null)
        {
            // Beside the data: in the same folder as a data file, or next to (and inside) an image folder.
            string? folder = Path.GetDirectoryName(Path.GetFullPath(besideData).TrimEnd(Path.DirectorySeparatorChar));
            if (folder != null) candidates.Add(Path.Combine(folder, Path.GetFileName(recordedPath)));
            if (Directory.Exists(besideData)) candidates.Add(Path.Combine(besideData, Path.GetFileName(recordedPath)));
        }
        string? changed = null;
        foreach (var c in candidates.Distinct())
        {
            if (!File.Exists(c) && !Directory.Exists(c)) continue;
            if (Fingerprint(c) == fingerprint) return new(role, recordedPath, c, null);
            changed ??= c;
        }
        return new(role, recordedPath, null, changed != null
            ? $"the {role} at {changed} has changed since the analysis (its SHA-256 differs)"
            : $"the {role} is no longer at {recordedPath}{(relative != null ? $" (nor at {relative} from the run)" : "")}");
    }
}
