namespace Percept.Store;

/// <summary>
/// A finished run, opened for reading: its manifest, its fields (found by their schema declaration, read by row range
/// through <see cref="FieldReader"/>) and its samples table (<see cref="SampleTable"/>). Nothing outside the store needs
/// to know how a run is laid out on disk.
/// </summary>
/// <example>
/// <code>
/// var run = Run.Open("runs/fmnist");
/// using var vectors = run.Open(PerceptionFields.Embedding);
/// var first = new float[vectors.Columns];
/// vectors.ReadRow(0, first);
/// using var samples = run.OpenSamples();
/// float[] loss = samples.ReadFloat32(PerceptionFields.Loss);
/// </code>
/// </example>
public sealed class Run
{
    /// <summary>The manifest's file name.</summary>
    internal const string ManifestFile = "run.json";
    /// <summary>The samples table's database.</summary>
    internal const string SamplesFile = "samples.duckdb";

    public string Directory { get; }
    public RunManifest Manifest { get; }
    public int Count => Manifest.Data.Count;

    Run(string directory, RunManifest manifest, RunLocations? locations, bool trusted = false)
    {
        Directory = directory;
        Manifest = manifest;
        Locations = locations ?? new RunLocations();
        _trusted = trusted;
        _sources = new Lazy<IReadOnlyList<SourceStatus>>(FindSources);
    }

    /// <summary>A run being written, whose files were fingerprinted moments ago: they are taken as found, not read again.</summary>
    readonly bool _trusted;

    /// <summary>Opens the run in its work folder for the stages that read it before it appears (no fingerprint is checked).</summary>
    internal static Run OpenStaged(string directory)
    {
        string full = Path.GetFullPath(directory);
        return new Run(full, RunManifest.Read(Path.Combine(full, ManifestFile), directory), null, trusted: true);
    }

    /// <summary>Where the user said the run's model and data are now (nothing: where they were).</summary>
    public RunLocations Locations { get; }

    /// <summary>Opens the run in <paramref name="directory"/>.</summary>
    /// <param name="locations">Where its model and data are now, when they moved.</param>
    /// <exception cref="PerceptException">The folder is missing or is not a complete run.</exception>
    public static Run Open(string directory, RunLocations? locations = null)
    {
        var run = OpenAny(directory, locations);
        if (run.Manifest.Shard is { } shard)
            throw new PerceptException($"{directory} is shard {shard.Index + 1} of {shard.Count} of an analysis, not a run: {Terms.Command("merge")} makes the run of all its shards");
        return run;
    }

    /// <summary>Opens the run or the shard of an analysis in <paramref name="directory"/>.</summary>
    internal static Run OpenAny(string directory, RunLocations? locations = null)
    {
        string full = Path.GetFullPath(directory);
        if (!System.IO.Directory.Exists(full)) throw new PerceptException($"run not found: {directory}");
        string manifest = Path.Combine(full, ManifestFile);
        if (!File.Exists(manifest))
        {
            string partial = Path.Combine(Path.GetDirectoryName(full) ?? ".", $".{Path.GetFileName(full)}.partial");
            throw new PerceptException(System.IO.Directory.Exists(partial)
                ? $"{directory} is not a complete run (an analysis was interrupted; run it again)"
                : System.IO.Directory.EnumerateFiles(full, "*.onnx").Any()
                    ? $"{directory} is not a Percept run (no {ManifestFile}): it holds ONNX models; {Terms.Command("analyze")} makes a run of one with a dataset"
                    : $"{directory} is not a Percept run (no {ManifestFile})");
        }
        return new Run(full, RunManifest.Read(manifest, directory), locations);
    }

    /// <summary>Whether <paramref name="directory"/> holds a run (its manifest).</summary>
    public static bool IsRun(string directory) => File.Exists(Path.Combine(directory, ManifestFile));

    /// <summary>The fields the run holds, as its manifest records them.</summary>
    public IReadOnlyList<FieldEntry> Fields => Manifest.Fields;

    /// <summary>The entry of the field named <paramref name="name"/>, or null.</summary>
    public FieldEntry? Find(string name) => Manifest.Fields.FirstOrDefault(f => f.Name == name);

    /// <summary>Whether the run holds <paramref name="field"/>.</summary>
    public bool Has(Field field) => Find(field.Name) != null;

    /// <summary>The entry of <paramref name="field"/>.</summary>
    /// <exception cref="PerceptException">The run does not hold it (the message says what adds it, when something can).</exception>
    public FieldEntry Entry(Field field) => Find(field.Name) ?? throw Missing(field);

    PerceptException Missing(Field field) => new(
        field.MadeBy is { } made ? $"run has no '{field.Name}' yet: {Terms.Command(made, Directory)} computes it"
        : field.Absent is { } why ? $"run has no {field.Name}: {why}"
        : $"run has no '{field.Name}'");

    /// <summary>A reader of a matrix field, by row range. The caller disposes it.</summary>
    /// <exception cref="PerceptException">The run does not hold the field, or its file is damaged.</exception>
    public FieldReader Open(Field field) => Open(Entry(field));

    /// <summary>A reader of a matrix field found in <see cref="Fields"/>. The caller disposes it.</summary>
    public FieldReader Open(FieldEntry entry)
    {
        if (entry.Layout != FieldLayout.Matrix || entry.File == null) throw new PerceptException($"'{entry.Name}' is not a matrix field");
        return new FieldReader(entry, PathOf(entry.File));
    }

    /// <summary>A float32 field, whole (one value per sample for a scalar field).</summary>
    public float[] ReadFloat32(Field field) { using var r = Open(field); return r.ReadAll(); }

    /// <summary>An int32 field, whole.</summary>
    public int[] ReadInt32(Field field) { using var r = Open(field); return r.ReadAllInt32(); }

    /// <summary>A float32 matrix field, whole.</summary>
    /// <exception cref="PerceptException">The field is larger than one array holds (read it by row range with <see cref="Open(Field)"/>).</exception>
    public Matrix ReadMatrix(Field field) { using var r = Open(field); return r.ReadMatrix(); }

    /// <summary>A document field's text, or null when the run has none.</summary>
    public string? ReadDocument(Field field)
    {
        if (Find(field.Name) is not { File: { } file }) return null;
        string path = PathOf(file);
        return File.Exists(path) ? File.ReadAllText(path) : null;
    }

    /// <summary>Opens the samples table, read-only. The caller disposes it.</summary>
    public SampleTable OpenSamples() => new(this, PathOf(SamplesFile));

    /// <summary>
    /// Adds or replaces fields of this finished run (insights computed later, a training's histories): each file is
    /// written whole and renamed into place, and the manifest is replaced once at <see cref="RunUpdate.Commit()"/>.
    /// </summary>
    public RunUpdate Update() => new(this);

    /// <summary>
    /// Where a reader may keep what it computes from the run (the dashboard's pictures): <c>cache/</c> inside the run, or
    /// a folder under the system's temporary folder when the run is read-only.
    /// </summary>
    public string CacheDirectory()
    {
        string cache = Path.Combine(Directory, "cache");
        try
        {
            System.IO.Directory.CreateDirectory(cache);
            string probe = Path.Combine(cache, $".probe-{Environment.ProcessId}");
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
            return cache;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            string fallback = Path.Combine(Path.GetTempPath(), "percept-cache",
                Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(Directory)))[..16]);
            System.IO.Directory.CreateDirectory(fallback);
            return fallback;
        }
    }

    /// <summary>
    /// The model and each data file the run was made from: where each is now (found by its fingerprint at the place
    /// given in <see cref="Locations"/>, where it was, or relative to the run), or what became of it. Fingerprints are taken
    /// once per opened run.
    /// </summary>
    public IReadOnlyList<SourceStatus> Sources => _sources.Value;
    readonly Lazy<IReadOnlyList<SourceStatus>> _sources;

    IReadOnlyList<SourceStatus> FindSources()
    {
        var m = Manifest.Model;
        if (_trusted)
            return [new("model", m.Path, m.Path, null), .. (Manifest.Source?.Files ?? []).Select(f => new SourceStatus(f.Role, f.Path, f.Path, null))];
        var found = new List<SourceStatus> { RunSources.Find("model", m.Path, m.RelativePath, m.Sha256, Directory, Locations.Model, null) };
        string? dataNow = null;
        foreach (var f in Manifest.Source?.Files ?? [])
        {
            // Labels and class names travel with the data: beside the data's new place, by their own names.
            var status = RunSources.Find(f.Role, f.Path, f.RelativePath, f.Sha256, Directory, f.Role == "data" ? Locations.Data : null,
                f.Role == "data" ? null : dataNow);
            if (f.Role == "data") dataNow = status.Found;
            found.Add(status);
        }
        return found;
    }

    /// <summary>The path of the run's model as it is now.</summary>
    /// <exception cref="PerceptException">The model is missing or changed (the message says how to point at it).</exception>
    public string ModelPath() => Usable("model");

    string Usable(string role)
    {
        var status = Sources.First(s => s.Role == role);
        return status.Found ?? throw new PerceptException($"{status.Problem}; point at it with {Terms.Option(role)}");
    }

    /// <summary>
    /// Reopens the analysed dataset with the source and preprocessing the analysis used, from where its files are now.
    /// The caller disposes the dataset.
    /// </summary>
    /// <exception cref="PerceptException">The run does not record its source, or the data are missing or changed.</exception>
    public (Data.IDataset Dataset, Data.Preprocessor Preprocessor) OpenData()
    {
        var source = Manifest.Source ?? throw new PerceptException($"run {Directory} does not record how to read its data again; analyse it again");
        var data = source.Data;
        foreach (var status in Sources.Where(s => s.Role != "model"))
        {
            string now = status.Found ?? throw new PerceptException($"{status.Problem}; point at the data with {Terms.Option("data")}");
            data = status.Role switch
            {
                "data" => data with { Path = now },
                "labels" => data with { LabelsPath = now },
                "classes" => data with { ClassNamesPath = now },
                "tokenizer" => data with { TokenizerPath = now },
                _ => data,
            };
        }
        int[] modelSample = Manifest.Model.InputShape.Skip(1).Select(d => d > 0 ? (int)d : -1).ToArray();
        var dataset = data.Open(modelSample, source.Preprocess);
        // The analysis skipped no item of a dataset that may skip: its samples are its items, read directly.
        if (Manifest.Data.Skipped == 0 && dataset is Data.ISkippingDataset and Data.ISeekableDataset) dataset = new Data.CompleteDataset(dataset);
        try
        {
            return (dataset, new Data.Preprocessor(dataset.Format, modelSample, source.Preprocess));
        }
        catch { dataset.Dispose(); throw; }
    }

    /// <summary>Full path of a file of the run, refusing one outside it.</summary>
    internal string PathOf(string relative)
    {
        string p = Path.GetFullPath(Path.Combine(Directory, relative));
        if (!p.StartsWith(Directory + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new PerceptException($"run manifest names a file outside the run: {relative}");
        return p;
    }
}
