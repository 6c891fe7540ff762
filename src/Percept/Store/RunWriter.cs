using Percept.IO;

namespace Percept.Store;

/// <summary>
/// Where a stage writes its fields: the run being analysed (<see cref="RunWriter"/>) or a finished run being updated
/// (<see cref="RunUpdate"/>). A stage names the fields it declares; where they go is the store's business.
/// </summary>
public interface IRunOutput
{
    /// <summary>A writer that appends rows of <paramref name="width"/> values to a matrix field. The caller disposes it, which records the field.</summary>
    FieldWriter Create(Field field, int width);

    /// <summary>Writes a document field.</summary>
    void WriteDocument(Field field, string text);

    /// <summary>A reader of a matrix field this output holds: written here (and finished), or already in the run. The caller disposes it.</summary>
    /// <exception cref="PerceptException">No such field.</exception>
    FieldReader Open(Field field);
}

/// <summary>Whole fields written at once, through any <see cref="IRunOutput"/>.</summary>
public static class RunOutputs
{
    /// <summary>Writes a whole float32 matrix field (rows of <paramref name="width"/> values).</summary>
    public static void Write(this IRunOutput output, Field field, ReadOnlySpan<float> values, int width = 1)
    {
        using var w = output.Create(field, width);
        w.Append(values);
    }

    /// <summary>Writes a whole int32 matrix field (rows of <paramref name="width"/> values).</summary>
    public static void Write(this IRunOutput output, Field field, ReadOnlySpan<int> values, int width = 1)
    {
        using var w = output.Create(field, width);
        w.Append(values);
    }
}

/// <summary>Where the store keeps each field inside a run: a file name made from the field's name, unique in the run.</summary>
internal static class FieldFiles
{
    public static string Choose(Field field, IEnumerable<string> taken)
    {
        var used = new HashSet<string>(taken, StringComparer.OrdinalIgnoreCase) { Run.ManifestFile, Run.SamplesFile };
        string ext = field.Layout == FieldLayout.Document ? (field.Type == FieldType.Json ? ".json" : ".txt") : ".npy";
        string stem = field.FamilyName is { } family ? $"{Safe(family)}/{Safe(field.Name[(family.Length + 1)..])}" : Safe(field.Name);
        string name = stem + ext;
        for (int k = 2; used.Contains(name); k++) name = $"{stem}_{k}{ext}";
        return name;
    }

    static string Safe(string name)
    {
        string s = new string(name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '_').ToArray()).Trim('.');
        return s.Length == 0 ? "field" : s;
    }
}

/// <summary>
/// Writes a run: a hidden work folder (<see cref="RunFolder"/>) that becomes the run only at <see cref="Commit"/>, its
/// fields (each recorded in the manifest as it is finished) and its samples table. Disposing before
/// <see cref="Commit"/> leaves nothing at the run's folder.
/// </summary>
public sealed class RunWriter : IRunOutput, IDisposable
{
    readonly RunFolder _folder;
    readonly Dictionary<string, FieldEntry> _fields = [];
    readonly object _gate = new();
    SampleTableWriter? _samples;

    /// <param name="directory">The run's folder.</param>
    /// <param name="overwrite">Replace a run already there.</param>
    /// <param name="warn">Receives one-line notes (a stale partial folder being removed).</param>
    /// <exception cref="PerceptException">The folder is a file, or holds something that is not a run, or a run and <paramref name="overwrite"/> is false.</exception>
    public RunWriter(string directory, bool overwrite, Action<string>? warn)
    {
        _folder = new RunFolder(directory, overwrite, warn);
    }

    /// <summary>Where the finished run will be.</summary>
    public string FinalPath => _folder.FinalPath;

    /// <summary>The fields written so far (finished: a field whose writer is still open is not among them).</summary>
    public IReadOnlyList<FieldEntry> Fields { get { lock (_gate) return [.. _fields.Values.Where(f => !_unfinished.Contains(f.Name))]; } }

    string Reserve(Field field)
    {
        lock (_gate)
        {
            if (_fields.ContainsKey(field.Name)) throw new InvalidOperationException($"field '{field.Name}' is already written");
            string file = FieldFiles.Choose(field, _fields.Values.Select(f => f.File!).Where(f => f != null));
            _fields[field.Name] = FieldEntry.Of(field, 0, 0, file);
            _unfinished.Add(field.Name);   // reserved: in the manifest only once written
            Directory.CreateDirectory(Path.GetDirectoryName(_folder.PathOf(file))!);
            return file;
        }
    }

    readonly HashSet<string> _unfinished = [];

    void Record(FieldEntry entry) { lock (_gate) { _fields[entry.Name] = entry; _unfinished.Remove(entry.Name); } }

    void Forget(Field field) { lock (_gate) { _fields.Remove(field.Name); _unfinished.Remove(field.Name); } }

    /// <inheritdoc/>
    public FieldWriter Create(Field field, int width)
    {
        string file = Reserve(field);
        try { return new FieldWriter(field, width, _folder.PathOf(file), w => Record(FieldEntry.Of(field, w.Rows, w.Width, file))); }
        catch { Forget(field); throw; }
    }

    /// <inheritdoc/>
    public void WriteDocument(Field field, string text)
    {
        string file = Reserve(field);
        try { File.WriteAllText(_folder.PathOf(file), text); }
        catch { Forget(field); throw; }
        Record(FieldEntry.Of(field, 1, 0, file));
    }

    /// <inheritdoc/>
    public FieldReader Open(Field field)
    {
        FieldEntry? entry;
        lock (_gate) entry = _unfinished.Contains(field.Name) ? null : _fields.GetValueOrDefault(field.Name);
        if (entry is not { Layout: FieldLayout.Matrix, File: { } file }) throw new PerceptException($"field '{field.Name}' has not been written");
        return new FieldReader(entry, _folder.PathOf(file));
    }

    /// <summary>Creates the samples table with the given columns (the first one is the sample's index).</summary>
    public SampleTableWriter CreateSamples(IReadOnlyList<Field> columns)
    {
        if (_samples != null) throw new InvalidOperationException("the samples table is already created");
        return _samples = new SampleTableWriter(_folder.PathOf(Run.SamplesFile), columns);
    }

    /// <summary>
    /// Finishes the samples table in the background — appends done, metadata joined, database closed — while the caller
    /// goes on; the task gives the metadata columns added.
    /// </summary>
    public Task<IReadOnlyList<string>> FinishSamplesAsync(long rows, MetadataFile? metadata, Action<string>? warn) =>
        FinishSamplesAsync(rows, metadata == null ? [] : [metadata], warn);

    /// <summary>
    /// Finishes the samples table in the background, joining each of <paramref name="metadata"/> in order (a dataset's own
    /// fields, then the user's file); the task gives the metadata columns added.
    /// </summary>
    public Task<IReadOnlyList<string>> FinishSamplesAsync(long rows, IReadOnlyList<MetadataFile> metadata, Action<string>? warn)
    {
        var table = _samples ?? throw new InvalidOperationException("no samples table was created");
        return Task.Run(() =>
        {
            try
            {
                var added = table.Finish(metadata, warn);
                foreach (var c in table.Columns) Record(FieldEntry.Of(c, rows, 1, null));
                return added;
            }
            finally { table.Dispose(); }
        });
    }

    RunManifest WithFields(RunManifest manifest) => manifest with { Fields = Fields.OrderBy(f => f.Layout).ThenBy(f => f.Name, StringComparer.Ordinal).ToArray() };

    /// <summary>
    /// Writes the manifest into the work folder and opens the run there, not yet in place: for stages that read what the
    /// earlier ones wrote (the map reads the vectors, insights read everything). <see cref="Commit"/> still moves it.
    /// </summary>
    public Run Stage(RunManifest manifest)
    {
        File.WriteAllText(_folder.PathOf(Run.ManifestFile), WithFields(manifest).ToJson());
        return Run.OpenStaged(_folder.WorkPath);
    }

    /// <summary>Writes the manifest and moves the run into place (replacing an older run there); returns the run.</summary>
    public Run Commit(RunManifest manifest)
    {
        File.WriteAllText(_folder.PathOf(Run.ManifestFile), WithFields(manifest).ToJson());
        _folder.Commit();
        return Run.OpenAny(_folder.FinalPath);
    }

    public void Dispose()
    {
        // The table is closed whatever happened, so the database is released before the work folder is removed.
        _samples?.Dispose();
        _folder.Dispose();
    }
}

/// <summary>
/// Adds or replaces fields of a finished run, keeping each field's file name (readers outside Percept open
/// <c>label_issue.npy</c> by name). Each field is written under a temporary name; <see cref="Commit()"/> moves them into
/// place and then replaces the manifest (read again first, so an update made meanwhile is kept). A reader opening the
/// run in between sees a replaced field's new values under the old manifest, whose entry for it has the same name and
/// shape; a crash before the moves leaves the run as it was. Disposing without committing removes what was written.
/// </summary>
public sealed class RunUpdate : IRunOutput, IDisposable
{
    readonly Run _run;
    readonly Dictionary<string, (FieldEntry Entry, string Temporary)> _written = [];
    readonly HashSet<FieldWriter> _open = [];

    internal RunUpdate(Run run) => _run = run;

    /// <summary>The field's file: the one the run already has for it, or a new name neither the run nor this update uses.</summary>
    string Place(Field field)
    {
        if (_written.ContainsKey(field.Name)) throw new InvalidOperationException($"field '{field.Name}' is already written in this update");
        string file = _run.Find(field.Name)?.File
            ?? FieldFiles.Choose(field, _run.Fields.Select(f => f.File).Concat(_written.Values.Select(w => w.Entry.File)).OfType<string>());
        Directory.CreateDirectory(Path.GetDirectoryName(_run.PathOf(file))!);
        return file;
    }

    string Temporary(string file) => _run.PathOf(file) + $".{Environment.ProcessId}.tmp";

    /// <inheritdoc/>
    public FieldWriter Create(Field field, int width)
    {
        string file = Place(field), tmp = Temporary(file);
        FieldWriter? writer = null;
        writer = new FieldWriter(field, width, tmp, w =>
        {
            _written[field.Name] = (FieldEntry.Of(field, w.Rows, w.Width, file), tmp);
            _open.Remove(writer!);
        });
        _open.Add(writer);
        return writer;
    }

    /// <inheritdoc/>
    public void WriteDocument(Field field, string text)
    {
        string file = Place(field), tmp = Temporary(file);
        File.WriteAllText(tmp, text);
        _written[field.Name] = (FieldEntry.Of(field, 1, 0, file), tmp);
    }

    /// <inheritdoc/>
    public FieldReader Open(Field field) =>
        _written.TryGetValue(field.Name, out var w) ? new FieldReader(w.Entry, w.Temporary) : _run.Open(field);

    /// <summary>Moves every field into place, then replaces the manifest; returns the run as it now is.</summary>
    /// <exception cref="InvalidOperationException">A field writer is still open.</exception>
    public Run Commit() => Commit(null);

    /// <summary>Moves the fields into place and writes the manifest, changed by <paramref name="change"/> (a stage's section).</summary>
    public Run Commit(Func<RunManifest, RunManifest>? change)
    {
        if (_open.Count > 0) throw new InvalidOperationException($"field '{_open.First().Field.Name}' is still being written");
        foreach (var (entry, tmp) in _written.Values) File.Move(tmp, _run.PathOf(entry.File!), overwrite: true);
        var now = Run.Open(_run.Directory, _run.Locations);
        var fields = now.Fields.Where(f => !_written.ContainsKey(f.Name)).Concat(_written.Values.Select(w => w.Entry))
            .OrderBy(f => f.Layout).ThenBy(f => f.Name, StringComparer.Ordinal).ToArray();
        _written.Clear();
        var manifest = change?.Invoke(now.Manifest) ?? now.Manifest;
        AtomicFile.Replace(now.PathOf(Run.ManifestFile), tmp => File.WriteAllText(tmp, (manifest with { Fields = fields }).ToJson()));
        return Run.Open(_run.Directory, _run.Locations);
    }

    public void Dispose()
    {
        foreach (var w in _open.ToArray()) w.Dispose();
        foreach (var (_, tmp) in _written.Values)
            try { File.Delete(tmp); } catch (IOException) { }
        _written.Clear();
    }
}
