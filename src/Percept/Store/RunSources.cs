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
    /// paths and sizes in ordinal order (reading every image again would cost as much as the analysis).
    /// </summary>
    public static string Fingerprint(string path)
    {
        if (Directory.Exists(path))
        {
            var text = new StringBuilder();
            foreach (var file in Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(path, f)).Order(StringComparer.Ordinal))
                text.Append(file.Replace('\\', '/')).Append('\t').Append(new FileInfo(Path.Combine(path, file)).Length).Append('\n');
            return "dir:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
        }
        using var f = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(f));
    }

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
    internal static SourceStatus Find(string role, string recordedPath, string? relative, string fingerprint, string runDirectory, string? given, string? besideData)
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
        if (besideData != null) candidates.Add(Path.Combine(besideData, Path.GetFileName(recordedPath)));
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
