using System.Collections.Concurrent;
using System.Data.Common;
using Percept.Attribution;
using Percept.Data;
using Percept.Store;

namespace Percept.Server;

/// <summary>How a field of the samples table travels to the map: a number per sample, or a category code.</summary>
public sealed record FieldInfo(string Name, string Kind, double? Min, double? Max, IReadOnlyList<string>? Categories);

/// <summary>
/// One run served by the dashboard: its manifest, the fields of its samples table as float32 columns (read once and
/// kept), its inputs (for thumbnails) and, on first use, an explainer for heat maps.
/// </summary>
public sealed class RunEntry : IDisposable
{
    /// <summary>Columns that are neither a number to plot nor a category worth a legend.</summary>
    static readonly HashSet<string> Skipped = ["index", "id", "label_name", "prediction_name"];
    const int MaxCategories = 64;

    readonly ConcurrentDictionary<string, float[]> _columns = new();
    readonly Lazy<RunExplainer> _explainer;
    readonly Lazy<SimilarityExplainer> _similarity;
    readonly ConcurrentDictionary<(int Sample, string Method, string? Layer), SampleExplanation> _explanations = new();
    readonly object _dataGate = new();
    (IDataset Dataset, Preprocessor Pre)? _data;

    public string Id { get; }
    public Run Run { get; }
    public IReadOnlyList<FieldInfo> Fields { get; }

    /// <summary>Where computed thumbnails and heat maps are kept: <c>cache/</c> in the run, or a temporary folder when the run is read-only.</summary>
    public string CacheDirectory => _cache.Value;
    readonly Lazy<string> _cache;

    public RunEntry(string id, Run run)
    {
        Id = id;
        Run = run;
        Fields = ReadFields();
        _explainer = new Lazy<RunExplainer>(() => new RunExplainer(run), LazyThreadSafetyMode.ExecutionAndPublication);
        _similarity = new Lazy<SimilarityExplainer>(() => new SimilarityExplainer(run), LazyThreadSafetyMode.ExecutionAndPublication);
        // Made on first use, so reading a run (a report) leaves it untouched.
        _cache = new Lazy<string>(() => WritableCache(run.Directory));
    }

    static string WritableCache(string runDirectory)
    {
        string cache = Path.Combine(runDirectory, "cache");
        try
        {
            Directory.CreateDirectory(cache);
            string probe = Path.Combine(cache, $".probe-{Environment.ProcessId}");
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
            return cache;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            string fallback = Path.Combine(Path.GetTempPath(), "percept-cache", Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(runDirectory)))[..16]);
            Directory.CreateDirectory(fallback);
            return fallback;
        }
    }

    /// <summary>A sample's heat maps for every class and the loss, computed once per method and layer.</summary>
    public SampleExplanation Explain(int sample, string method, string? layer) =>
        _explanations.GetOrAdd((sample, method, layer), key => _explainer.Value.Explain(key.Sample, key.Method, key.Layer));

    /// <summary>What makes samples a and b alike, with the run's model and data kept open between requests.</summary>
    public (AttributionResult Maps, float Cosine, float[] Inputs) Similarity(int a, int b) => _similarity.Value.Explain(a, b);

    IReadOnlyList<FieldInfo> ReadFields()
    {
        var fields = new List<FieldInfo>();
        using var db = Run.OpenSamples();
        var types = new List<(string Name, string Type)>();
        using (var cmd = db.CreateCommand())
        {
            cmd.CommandText = "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'samples' ORDER BY ordinal_position";
            using var r = cmd.ExecuteReader();
            while (r.Read()) types.Add((r.GetString(0), r.GetString(1)));
        }
        var classes = Run.Manifest.Classes ?? Enumerable.Range(0, Run.Manifest.NumClasses).Select(c => c.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        foreach (var (name, type) in types)
        {
            if (Skipped.Contains(name)) continue;
            if (name is "label" or "prediction")
            {
                if (name == "label" && !Run.Manifest.Data.HasLabels) continue;
                fields.Add(new FieldInfo(name, "categorical", null, null, classes));
                continue;
            }
            if (type == "BOOLEAN")
            {
                if (name == "correct" && !Run.Manifest.Data.HasLabels) continue;
                fields.Add(new FieldInfo(name, "categorical", null, null, name == "correct" ? ["incorrect", "correct"] : ["false", "true"]));
                continue;
            }
            if (type == "VARCHAR")
            {
                var distinct = Distinct(db, name);
                if (distinct.Count is > 0 and <= MaxCategories) fields.Add(new FieldInfo(name, "categorical", null, null, distinct));
                continue;
            }
            if (type is "TINYINT" or "SMALLINT" or "INTEGER" or "BIGINT" or "UTINYINT" or "USMALLINT" or "UINTEGER" or "UBIGINT" or "FLOAT" or "DOUBLE" or "HUGEINT" || type.StartsWith("DECIMAL", StringComparison.Ordinal))
            {
                var (min, max) = Range(db, name);
                if (name == "loss" && !Run.Manifest.Data.HasLabels) continue;
                fields.Add(new FieldInfo(name, "numeric", min, max, null));
            }
        }
        if (Run.Manifest.Map != null && Run.Manifest.Map.PreservationFile is { } pf && File.Exists(Run.PathOf(pf)))
        {
            var p = Run.ReadMatrix("map_preservation", out _, out _);
            _columns["map_preservation"] = p;
            fields.Add(new FieldInfo("map_preservation", "numeric", p.Where(float.IsFinite).DefaultIfEmpty(0).Min(), p.Where(float.IsFinite).DefaultIfEmpty(0).Max(), null));
        }
        return fields;
    }

    static int IndexOf(IReadOnlyList<string> list, string value)
    {
        for (int i = 0; i < list.Count; i++) if (list[i] == value) return i;
        return -1;
    }

    static string Quote(string column) => "\"" + column.Replace("\"", "\"\"") + "\"";

    static List<string> Distinct(DbConnection db, string column)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = $"SELECT DISTINCT {Quote(column)} FROM samples WHERE {Quote(column)} IS NOT NULL ORDER BY 1 LIMIT {MaxCategories + 1}";
        using var r = cmd.ExecuteReader();
        var values = new List<string>();
        while (r.Read()) values.Add(r.GetString(0));
        return values;
    }

    static (double?, double?) Range(DbConnection db, string column)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = $"SELECT MIN({Quote(column)})::DOUBLE, MAX({Quote(column)})::DOUBLE FROM samples WHERE isfinite({Quote(column)}::DOUBLE)";
        using var r = cmd.ExecuteReader();
        r.Read();
        return (r.IsDBNull(0) ? null : r.GetDouble(0), r.IsDBNull(1) ? null : r.GetDouble(1));
    }

    /// <summary>A field as one float32 per sample, in dataset order: the value, or the category's code; NaN for null.</summary>
    public float[] Column(string name)
    {
        var field = Fields.FirstOrDefault(f => f.Name == name)
            ?? throw new KeyNotFoundException($"run '{Id}' has no field '{name}' (fields: {string.Join(", ", Fields.Select(f => f.Name))})");
        return _columns.GetOrAdd(name, _ =>
        {
            var raw = Run.ReadColumn(name);
            var values = new float[raw.Length];
            for (int i = 0; i < raw.Length; i++)
                values[i] = raw[i] switch
                {
                    null => float.NaN,
                    bool b => b ? 1 : 0,
                    string s => IndexOf(field.Categories!, s) is int k and >= 0 ? k : float.NaN,
                    var v => Convert.ToSingle(v, System.Globalization.CultureInfo.InvariantCulture),
                };
            return values;
        });
    }

    string[]? _ids;

    /// <summary>Every sample's id, in dataset order.</summary>
    public string[] Ids() => _ids ??= Run.ReadColumn("id").Select(v => v?.ToString() ?? "").ToArray();

    /// <summary>The map's coordinates, <c>[N, dimensions]</c>, or null when the run has none.</summary>
    public float[]? Map(out int dimensions)
    {
        dimensions = Run.Manifest.Map?.Dimensions ?? 0;
        if (Run.Manifest.Map == null) return null;
        return _columns.GetOrAdd("\0map", key => Run.ReadMatrix("map", out _, out _));
    }

    /// <summary>The perception vectors, read once.</summary>
    public float[] Embedding(out int width)
    {
        var e = _columns.GetOrAdd("\0embedding", key => Run.ReadMatrix("embedding", out _, out _));
        width = e.Length / Math.Max(1, Run.Count);
        return e;
    }

    /// <summary>One sample's preprocessed input and the model's input shape (for thumbnails).</summary>
    public (float[] Input, int[] Shape) Input(int sample)
    {
        lock (_dataGate)
        {
            _data ??= Run.OpenData();
            var (dataset, pre) = _data.Value;
            var (raw, _, _) = dataset.ReadSample(sample);
            return (pre.Apply(raw), pre.InputShape);
        }
    }

    public void Dispose()
    {
        if (_explainer.IsValueCreated) _explainer.Value.Dispose();
        if (_similarity.IsValueCreated) _similarity.Value.Dispose();
        _data?.Dataset.Dispose();
    }
}
