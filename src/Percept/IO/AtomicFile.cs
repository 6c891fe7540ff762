namespace Percept.IO;

/// <summary>Files replaced whole: written under a temporary name next to the target, then renamed over it, so a reader
/// sees the old file or the new one, never half of one.</summary>
public static class AtomicFile
{
    /// <summary>Calls <paramref name="write"/> with a temporary path next to <paramref name="path"/>, then moves it into place.</summary>
    public static void Replace(string path, Action<string> write)
    {
        string tmp = $"{path}.{Environment.ProcessId}.tmp";
        try { write(tmp); File.Move(tmp, path, overwrite: true); }
        finally { if (File.Exists(tmp)) File.Delete(tmp); }
    }
}
