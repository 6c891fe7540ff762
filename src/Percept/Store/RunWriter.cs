using Percept.Perception;

namespace Percept.Store;

/// <summary>
/// Writes a run: a hidden work folder (<see cref="RunFolder"/>) that becomes the run only at <see cref="Commit"/>, and
/// the samples table, created in the background while the model loads (the first <see cref="Append"/> waits for it).
/// Disposing before <see cref="Commit"/> leaves nothing at the run's folder.
/// </summary>
internal sealed class RunWriter : IPerceptionOutput, IDisposable
{
    readonly RunFolder _folder;
    readonly Task<SampleTable> _table;
    SampleTable? _ready;

    /// <param name="directory">The run's folder.</param>
    /// <param name="overwrite">Replace a run already there.</param>
    /// <param name="warn">Receives one-line notes (a stale partial folder being removed).</param>
    /// <exception cref="PerceptException">The folder is a file, or holds something that is not a run, or a run and <paramref name="overwrite"/> is false.</exception>
    public RunWriter(string directory, bool overwrite, Action<string>? warn)
    {
        _folder = new RunFolder(directory, overwrite, warn);
        _table = Task.Run(() => new SampleTable(_folder.PathOf("samples.duckdb")));
    }

    /// <summary>Where the finished run will be.</summary>
    public string FinalPath => _folder.FinalPath;

    /// <inheritdoc/>
    public string PathOf(string relative) => _folder.PathOf(relative);

    /// <inheritdoc/>
    public void Append(in SampleRow row) => (_ready ??= _table.GetAwaiter().GetResult()).Append(row);

    /// <summary>
    /// Finishes the samples table in the background — appends done, metadata joined, database closed — while the caller
    /// goes on; the task gives the metadata columns added.
    /// </summary>
    public Task<IReadOnlyList<string>> FinishSamplesAsync(MetadataFile? metadata, Action<string>? warn) => Task.Run(() =>
    {
        var table = _table.GetAwaiter().GetResult();
        try { return table.Finish(metadata, warn); }
        finally { table.Dispose(); }
    });

    /// <summary>
    /// Writes <c>run.json</c> into the work folder and opens the run there, not yet in place: for stages that read the
    /// finished run (insights) before it appears. <see cref="Commit"/> still moves it.
    /// </summary>
    public Run Stage(RunManifest manifest)
    {
        File.WriteAllText(PathOf("run.json"), manifest.ToJson());
        return Run.Open(_folder.WorkPath);
    }

    /// <summary>Writes <c>run.json</c> and moves the run into place (replacing an older run there); returns the run.</summary>
    public Run Commit(RunManifest manifest)
    {
        File.WriteAllText(PathOf("run.json"), manifest.ToJson());
        _folder.Commit();
        return Run.Open(_folder.FinalPath);
    }

    public void Dispose()
    {
        // Observe the table whatever happened, so the database is closed before the work folder is removed.
        try { _table.GetAwaiter().GetResult().Dispose(); }
        catch (Exception) when (!_table.IsCompletedSuccessfully) { }
        _folder.Dispose();
    }
}
