using System.Collections.Concurrent;
using System.Data.Common;
using System.Globalization;
using Percept.Data;
using Percept.IO;

namespace Percept.Store;

/// <summary>How a field of the samples table travels to a map: a number per sample, or a category code.</summary>
/// <param name="Kind"><c>numeric</c> or <c>categorical</c>.</param>
/// <param name="Categories">A categorical field's values, in code order.</param>
public sealed record FieldInfo(string Name, string Kind, double? Min, double? Max, IReadOnlyList<string>? Categories);

/// <summary>A class and its probability for one sample.</summary>
public sealed record ClassProbability(int Class, string Name, float Probability);

/// <summary>One of the samples with the highest loss.</summary>
public sealed record WorstSample(long Index, string Label, string Prediction, float Confidence, float Loss);

/// <summary>
/// Reads a finished run for display: the fields of its samples table and their kinds, each field as one float32 per
/// sample (read once and kept), rows of the table, a sample's top classes, the map and the perception vectors. The
/// dashboard's server, the HTML report and <c>percept info</c> read runs through it. Thread-safe.
/// </summary>
public sealed class RunReader : IDisposable
{
    /// <summary>Columns that are neither a number to plot nor a category worth a legend.</summary>
    static readonly HashSet<string> Skipped = ["index", "id", "label_name", "prediction_name"];
    /// <summary>A text column with more distinct values than this is not offered as a category.</summary>
    public const int MaxCategories = 64;
    static readonly string[] BriefColumns = ["label", "label_name", "prediction", "prediction_name", "correct", "loss", "confidence"];

    readonly ConcurrentDictionary<string, float[]> _columns = new();
    readonly Lazy<IReadOnlyList<FieldInfo>> _fields;
    readonly Lazy<string[]> _ids;

    public RunReader(Run run)
    {
        Run = run;
        _fields = new Lazy<IReadOnlyList<FieldInfo>>(ReadFields);
        _ids = new Lazy<string[]>(() => Run.ReadColumn("id").Select(v => v?.ToString() ?? "").ToArray());
        _vocabulary = new Lazy<string[]>(() => ReadVocabulary(run));
    }

    public Run Run { get; }

    /// <summary>Samples in the run.</summary>
    public int Count => Run.Count;

    /// <summary>The fields a map can be coloured, sized or filtered by: the samples table's plottable columns, and the map's per-point preservation.</summary>
    public IReadOnlyList<FieldInfo> Fields => _fields.Value;

    IReadOnlyList<FieldInfo> ReadFields()
    {
        var fields = new List<FieldInfo>();
        var m = Run.Manifest;
        using var db = Run.OpenSamples();
        var types = new List<(string Name, string Type)>();
        using (var cmd = db.CreateCommand())
        {
            cmd.CommandText = "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'samples' ORDER BY ordinal_position";
            using var r = cmd.ExecuteReader();
            while (r.Read()) types.Add((r.GetString(0), r.GetString(1)));
        }
        var classes = ClassNames;
        foreach (var (name, type) in types)
        {
            if (Skipped.Contains(name)) continue;
            if (name is "label" or "prediction")
            {
                if (name == "label" && !m.Data.HasLabels) continue;
                fields.Add(new FieldInfo(name, "categorical", null, null, classes));
                continue;
            }
            if (type == "BOOLEAN")
            {
                if (name == "correct" && !m.Data.HasLabels) continue;
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
                if (name == "loss" && !m.Data.HasLabels) continue;
                var (min, max) = Range(db, name);
                fields.Add(new FieldInfo(name, "numeric", min, max, null));
            }
        }
        // The insights' per-sample scores, once computed (the cluster as a category while there are few enough clusters),
        // and a training epoch's history of each sample.
        foreach (var (folder, name) in Run.InsightFields.Select(f => (Run.InsightsFolder, f)).Concat(Run.HistoryFields.Select(f => (Run.HistoryFolder, f))))
        {
            string path = Run.PathOf(Path.Combine(folder, name + ".npy"));
            if (!File.Exists(path)) continue;
            var v = Npy.ReadFloat32(path, out var shape);
            if (shape.Length == 0 || shape[0] != Run.Count) continue;
            int clusters = name == "cluster" ? (int)v.DefaultIfEmpty(-1).Max() + 1 : 0;
            if (name == "cluster")
            {
                if (clusters < 1) continue;
                if (clusters <= MaxCategories)
                {
                    // Categories: cluster 0 … n−1; samples in no cluster are NaN (shown as none).
                    _columns[name] = v.Select(c => c < 0 ? float.NaN : c).ToArray();
                    fields.Add(new FieldInfo(name, "categorical", null, null, Enumerable.Range(0, clusters).Select(c => $"cluster {c}").ToArray()));
                    continue;
                }
            }
            if (name == "cluster") v = v.Select(c => c < 0 ? float.NaN : c).ToArray();
            _columns[name] = v;
            fields.Add(new FieldInfo(name, "numeric", v.Where(float.IsFinite).DefaultIfEmpty(0).Min(), v.Where(float.IsFinite).DefaultIfEmpty(0).Max(), null));
        }
        if (m.Map != null && m.Map.PreservationFile is { } pf && File.Exists(Run.PathOf(pf)))
        {
            var p = Run.ReadMatrix("map_preservation", out _, out _);
            _columns["map_preservation"] = p;
            fields.Add(new FieldInfo("map_preservation", "numeric", p.Where(float.IsFinite).DefaultIfEmpty(0).Min(), p.Where(float.IsFinite).DefaultIfEmpty(0).Max(), null));
        }
        return fields;
    }

    /// <summary>The class names: the run's, or the class indices as text.</summary>
    public IReadOnlyList<string> ClassNames => Run.Manifest.Classes ?? Enumerable.Range(0, Run.Manifest.NumClasses).Select(c => c.ToString(CultureInfo.InvariantCulture)).ToArray();

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
    /// <exception cref="KeyNotFoundException">The run has no such field (the message lists them).</exception>
    public float[] Column(string name)
    {
        var field = Fields.FirstOrDefault(f => f.Name == name)
            ?? throw new KeyNotFoundException($"run '{Path.GetFileName(Run.Directory)}' has no field '{name}' (fields: {string.Join(", ", Fields.Select(f => f.Name))})");
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
                    var v => Convert.ToSingle(v, CultureInfo.InvariantCulture),
                };
            return values;
        });
    }

    static int IndexOf(IReadOnlyList<string> list, string value)
    {
        for (int i = 0; i < list.Count; i++) if (list[i] == value) return i;
        return -1;
    }

    /// <summary>Every sample's id, in dataset order.</summary>
    public string[] Ids() => _ids.Value;

    /// <summary>The map's coordinates, <c>[N, dimensions]</c>, or null when the run has none.</summary>
    public float[]? Map(out int dimensions)
    {
        dimensions = Run.Manifest.Map?.Dimensions ?? 0;
        if (Run.Manifest.Map == null) return null;
        return _columns.GetOrAdd("\0map", key => Run.ReadMatrix("map", out _, out _));
    }

    /// <summary>The perception vectors, <c>[N, width]</c>, read once.</summary>
    public Matrix Embedding()
    {
        var e = _columns.GetOrAdd("\0embedding", key => Run.ReadMatrix("embedding", out _, out _));
        return new Matrix(e, Count, e.Length / Math.Max(1, Count));
    }

    /// <summary>The <paramref name="k"/> most probable classes of <paramref name="sample"/>, most probable first; none when the run has no probabilities.</summary>
    public IReadOnlyList<ClassProbability> TopClasses(int sample, int k = 5)
    {
        var m = Run.Manifest;
        if (m.NumClasses < 2 || !m.Files.TryGetValue("probabilities", out var file)) return [];
        using var reader = new IO.NpyRowReader(Run.PathOf(file));
        var p = new float[m.NumClasses];
        reader.ReadRowsAsFloat(sample, 1, p);
        var names = ClassNames;
        return Enumerable.Range(0, p.Length).OrderByDescending(c => p[c]).Take(k)
            .Select(c => new ClassProbability(c, c < names.Count ? names[c] : c.ToString(CultureInfo.InvariantCulture), p[c])).ToArray();
    }

    /// <summary>Every column of the samples table for each of <paramref name="samples"/>, in one query; NaN and infinities as null.</summary>
    public Dictionary<int, Dictionary<string, object?>> Rows(IReadOnlyCollection<int> samples) => Rows(samples, "*");

    /// <summary>Label, prediction, correctness, loss and confidence (those the run has) of each of <paramref name="samples"/>.</summary>
    public Dictionary<int, Dictionary<string, object?>> Brief(IReadOnlyCollection<int> samples)
    {
        var have = Fields.Select(f => f.Name).Concat(["label_name", "prediction_name"]).ToHashSet();
        var columns = BriefColumns.Where(have.Contains).Select(Quote).ToList();
        return Rows(samples, string.Join(", ", columns.Count > 0 ? columns : [Quote("index")]));
    }

    Dictionary<int, Dictionary<string, object?>> Rows(IReadOnlyCollection<int> samples, string columns)
    {
        var rows = samples.Distinct().ToDictionary(i => i, _ => new Dictionary<string, object?>());
        if (rows.Count == 0) return rows;
        using var db = Run.OpenSamples();
        using var cmd = db.CreateCommand();
        cmd.CommandText = $"SELECT \"index\" AS \"percept_row\", {columns} FROM samples WHERE \"index\" IN ({string.Join(", ", rows.Keys)})";
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            var row = rows[(int)r.GetInt64(0)];
            for (int c = 1; c < r.FieldCount; c++)
            {
                object? v = r.IsDBNull(c) ? null : r.GetValue(c);
                row[r.GetName(c)] = v switch
                {
                    float f when !float.IsFinite(f) => null,
                    double d when !double.IsFinite(d) => null,
                    DateTime or DateTimeOffset or DateOnly or TimeOnly => Convert.ToString(v, CultureInfo.InvariantCulture),
                    System.Numerics.BigInteger b => b.ToString(CultureInfo.InvariantCulture),
                    decimal m => (double)m,
                    _ => v,
                };
            }
        }
        return rows;
    }

    /// <summary>The labelled samples with the highest loss, highest first; none when the run has no loss.</summary>
    public IReadOnlyList<WorstSample> Worst(int count)
    {
        if (Run.Manifest.Summary?.Labelled is not > 0 || Run.Manifest.NumClasses == 0) return [];
        using var db = Run.OpenSamples();
        using var cmd = db.CreateCommand();
        cmd.CommandText = $"""
            SELECT "index", coalesce(label_name, CAST(label AS VARCHAR)), coalesce(prediction_name, CAST(prediction AS VARCHAR)), confidence, loss
            FROM samples WHERE loss IS NOT NULL ORDER BY loss DESC LIMIT {count}
            """;
        using var r = cmd.ExecuteReader();
        var worst = new List<WorstSample>();
        while (r.Read()) worst.Add(new WorstSample(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetFloat(3), r.GetFloat(4)));
        return worst;
    }

    /// <summary>One sample's preprocessed input and the model's input shape (for thumbnails); the data stay open until <see cref="Dispose"/>.</summary>
    /// <exception cref="PerceptException">The run's data are no longer where they were, or the sample cannot be read.</exception>
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

    /// <summary>
    /// For a run of a text model: sample <paramref name="sample"/>'s tokens as words of the run's vocabulary (<c>#id</c> where
    /// it has none, or without a vocabulary), trailing padding left out; null for other runs.
    /// </summary>
    public IReadOnlyList<string>? Tokens(int sample)
    {
        if (Run.Manifest.Text is not { } text) return null;
        return Words(Input(sample).Input);
    }

    /// <summary>Every sample's tokens (as <see cref="Tokens"/>), read in one pass over the data; null for runs of other models.</summary>
    public IReadOnlyList<string>[]? AllTokens()
    {
        if (Run.Manifest.Text == null) return null;
        var (dataset, pre) = Run.OpenData();
        using var _ = dataset;
        var result = new List<IReadOnlyList<string>>(Run.Count);
        int len = dataset.Format.Length;
        foreach (var batch in dataset.ReadBatches(512))
            for (int i = 0; i < batch.Count; i++) result.Add(Words(pre.Apply(batch.Values.AsSpan(i * len, len))));
        return [.. result];
    }

    /// <summary>Token ids as words of the run's vocabulary, trailing padding left out.</summary>
    IReadOnlyList<string> Words(float[] ids)
    {
        var vocabulary = _vocabulary.Value;
        int length = ids.Length;
        while (length > 0 && ids[length - 1] == Model.TokenInputs.PadId) length--;
        return ids.Take(length).Select(v => (int)v is int id && id >= 0 && id < vocabulary.Length ? vocabulary[id] : $"#{(int)v}").ToArray();
    }

    readonly Lazy<string[]> _vocabulary;

    static string[] ReadVocabulary(Run run) =>
        run.Manifest.Text?.Vocabulary is { } file && File.Exists(Path.Combine(run.Directory, file)) ? File.ReadAllLines(Path.Combine(run.Directory, file)) : [];

    readonly object _dataGate = new();
    (IDataset Dataset, Preprocessor Pre)? _data;

    public void Dispose()
    {
        lock (_dataGate) { _data?.Dataset.Dispose(); _data = null; }
    }
}
