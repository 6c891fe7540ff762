using System.Data.Common;
using DuckDB.NET.Data;
using Percept.IO;

namespace Percept.Store;

/// <summary>
/// A finished run, opened for reading: its manifest, its matrices (<c>.npy</c>) and its samples table (DuckDB).
/// </summary>
public sealed class Run
{
    /// <summary>Matrix fields every class-score run has, besides <c>layer:NAME</c>.</summary>
    public static readonly string[] MatrixFields = ["logits", "probabilities", "embedding", "outputs", "map", "map_preservation"];

    /// <summary>Per-sample fields that insights add to a run (<c>insights/NAME.npy</c>), once computed.</summary>
    public static readonly string[] InsightFields = ["label_issue", "neighbor_agreement", "outlier_score", "cluster"];

    /// <summary>The folder of a run that holds the insights' per-sample fields.</summary>
    public const string InsightsFolder = "insights";

    /// <summary>Per-sample fields an epoch of a training gets from the epochs before it (<c>history/NAME.npy</c>).</summary>
    public static readonly string[] HistoryFields = ["first_learned", "forgotten", "never_learned", "neighborhood_change"];

    /// <summary>The folder of a run that holds its training-history fields.</summary>
    public const string HistoryFolder = "history";

    public string Directory { get; }
    public RunManifest Manifest { get; }
    public int Count => Manifest.Data.Count;

    Run(string directory, RunManifest manifest)
    {
        Directory = directory;
        Manifest = manifest;
    }

    /// <summary>Opens the run in <paramref name="directory"/>.</summary>
    /// <exception cref="PerceptException">The folder is missing or is not a complete run.</exception>
    public static Run Open(string directory)
    {
        string full = Path.GetFullPath(directory);
        if (!System.IO.Directory.Exists(full)) throw new PerceptException($"run not found: {directory}");
        string manifest = Path.Combine(full, "run.json");
        if (!File.Exists(manifest))
        {
            string partial = Path.Combine(Path.GetDirectoryName(full) ?? ".", $".{Path.GetFileName(full)}.partial");
            throw new PerceptException(System.IO.Directory.Exists(partial)
                ? $"{directory} is not a complete run (an analysis was interrupted; run it again)"
                : $"{directory} is not a Percept run (no run.json)");
        }
        var m = RunManifest.FromJson(File.ReadAllText(manifest), manifest);
        if (m.Format != RunManifest.FormatName) throw new PerceptException($"{manifest} is not a Percept run manifest");
        if (m.Version > RunManifest.CurrentVersion)
            throw new PerceptException($"run {directory} has format version {m.Version}; this Percept reads up to {RunManifest.CurrentVersion}");
        return new Run(full, m);
    }

    /// <summary>Full path of a file named in the manifest.</summary>
    public string PathOf(string relative)
    {
        string p = Path.GetFullPath(Path.Combine(Directory, relative));
        if (!p.StartsWith(Directory + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new PerceptException($"run manifest names a file outside the run: {relative}");
        return p;
    }

    /// <summary>
    /// The <c>.npy</c> file of a matrix field: <c>logits</c>, <c>probabilities</c>, <c>embedding</c>, <c>outputs</c>
    /// or <c>layer:NAME</c>; null when the field is not a matrix.
    /// </summary>
    public string? MatrixPath(string field)
    {
        if (field.StartsWith("layer:", StringComparison.Ordinal))
        {
            string name = field["layer:".Length..];
            var layer = Manifest.Perception.Layers.FirstOrDefault(l => l.Name == name || l.Node == name || l.Tensor == name)
                ?? throw new PerceptException($"run has no layer '{name}' (layers: {string.Join(", ", Manifest.Perception.Layers.Select(l => l.Name))})");
            return PathOf(layer.File);
        }
        if (HistoryFields.Contains(field))
        {
            string path = PathOf(Path.Combine(HistoryFolder, field + ".npy"));
            return File.Exists(path) ? path : throw new PerceptException($"run has no '{field}': it is not an epoch of a training (percept analyze --checkpoints)");
        }
        if (InsightFields.Contains(field))
        {
            string path = PathOf(Path.Combine(InsightsFolder, field + ".npy"));
            return File.Exists(path) ? path : throw new PerceptException($"run has no '{field}' yet: 'percept insights {Directory}' computes it");
        }
        if (!MatrixFields.Contains(field)) return null;
        if (!Manifest.Files.TryGetValue(field, out var file))
            throw new PerceptException(field is "logits" or "probabilities"
                ? $"run has no {field}: the model's output is not a class-score vector"
                : field.StartsWith("map", StringComparison.Ordinal) ? $"run has no map (it was analysed with --map none)" : $"run has no '{field}'");
        return PathOf(file);
    }

    /// <summary>Reads a matrix field as float32, rows in dataset order.</summary>
    public float[] ReadMatrix(string field, out int rows, out int columns)
    {
        string path = MatrixPath(field) ?? throw new PerceptException($"'{field}' is not a matrix field");
        var data = Npy.ReadFloat32(path, out var shape);
        rows = (int)shape[0];
        columns = shape.Length > 1 ? (int)shape[1] : 1;
        return data;
    }

    /// <summary>
    /// Reopens the analysed dataset with the source and preprocessing the analysis used. The caller disposes the dataset.
    /// </summary>
    /// <exception cref="PerceptException">The run does not record its source, or the data are no longer where they were.</exception>
    public (Data.IDataset Dataset, Data.Preprocessor Preprocessor) OpenData()
    {
        var source = Manifest.Source ?? throw new PerceptException($"run {Directory} does not record how to read its data again; analyse it again");
        int[] modelSample = Manifest.Model.InputShape.Skip(1).Select(d => d > 0 ? (int)d : -1).ToArray();
        var dataset = source.Data.Open(modelSample, source.Preprocess);
        try
        {
            return (dataset, new Data.Preprocessor(dataset.Format, modelSample, source.Preprocess));
        }
        catch { dataset.Dispose(); throw; }
    }

    /// <summary>Opens the samples database read-only. The caller disposes the connection.</summary>
    public DuckDBConnection OpenSamples()
    {
        var c = new DuckDBConnection($"Data Source={PathOf(Manifest.Files["samples"])};ACCESS_MODE=READ_ONLY");
        try { c.Open(); }
        catch (DbException e) { c.Dispose(); throw new PerceptException($"cannot open the samples table of {Directory}: {e.Message.Split('\n')[0]}"); }
        return c;
    }

    /// <summary>Reads one column of the samples table in dataset order (nulls as null).</summary>
    public object?[] ReadColumn(string column)
    {
        using var db = OpenSamples();
        using var cmd = db.CreateCommand();
        cmd.CommandText = $"SELECT \"{column.Replace("\"", "\"\"")}\" FROM samples ORDER BY \"index\"";
        var values = new object?[Count];
        try
        {
            using var r = cmd.ExecuteReader();
            int i = 0;
            while (r.Read()) values[i++] = r.IsDBNull(0) ? null : r.GetValue(0);
        }
        catch (DbException e) { throw new PerceptException($"cannot read column '{column}': {e.Message.Split('\n')[0]}"); }
        return values;
    }
}
