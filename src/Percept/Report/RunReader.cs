using System.Collections.Concurrent;
using System.Globalization;
using Percept.Data;
using Percept.Perception;
using Percept.Projection;
using Percept.Store;

namespace Percept.Report;

/// <summary>How a field of a run travels to a map: a number per sample, or a category code.</summary>
/// <param name="Kind"><c>numeric</c> or <c>categorical</c>.</param>
/// <param name="Categories">A categorical field's values, in code order.</param>
/// <param name="Discrete">A numeric field of small whole numbers (a count), best shown on a stepped scale.</param>
public sealed record FieldInfo(string Name, string Kind, double? Min, double? Max, IReadOnlyList<string>? Categories, bool Discrete = false);

/// <summary>A class and its probability for one sample.</summary>
public sealed record ClassProbability(int Class, string Name, float Probability);

/// <summary>One of the samples with the highest loss.</summary>
public sealed record WorstSample(long Index, string Label, string Prediction, float Confidence, float Loss);

/// <summary>
/// Reads a finished run for display: every per-sample field a map can be coloured, sized or filtered by (the samples
/// table's columns and the scalar fields the stages wrote, found in the manifest whatever stage made them), each as one
/// float32 per sample (read once and kept), rows of the table, a sample's top classes and the map. The dashboard's
/// server, the HTML report, <c>percept info</c> and <c>percept plot</c> read runs through it. Thread-safe.
/// </summary>
public sealed class RunReader : IDisposable
{
    /// <summary>A text column with more distinct values than this is not offered as a category.</summary>
    public const int MaxCategories = 64;

    readonly ConcurrentDictionary<string, float[]> _columns = new();
    readonly Lazy<IReadOnlyList<FieldInfo>> _fields;
    readonly Lazy<string[]> _ids;

    public RunReader(Run run)
    {
        Run = run;
        _fields = new Lazy<IReadOnlyList<FieldInfo>>(ReadFields);
        _ids = new Lazy<string[]>(() => { using var s = Run.OpenSamples(); return s.ReadText(PerceptionFields.Id).Select(v => v ?? "").ToArray(); });
        _vocabulary = new Lazy<string[]>(() => run.ReadDocument(PerceptionFields.Vocabulary)?.Split('\n') ?? []);
    }

    public Run Run { get; }

    /// <summary>Samples in the run.</summary>
    public int Count => Run.Count;

    /// <summary>The fields a map can be coloured, sized or filtered by.</summary>
    public IReadOnlyList<FieldInfo> Fields => _fields.Value;

    IReadOnlyList<FieldInfo> ReadFields()
    {
        var fields = new List<FieldInfo>();
        using var table = Run.OpenSamples();
        foreach (var column in table.Columns)
        {
            var declared = column.Declared;
            // Identifiers and names shown next to their codes are not plotted; nor is a column without a single value
            // (the label, loss and correctness of an unlabelled run).
            if (declared?.Kind is FieldKind.Text or FieldKind.Other || table.CountNotNull(column.Name) == 0) continue;
            if (declared?.ClassCodes == true) { fields.Add(new FieldInfo(column.Name, "categorical", null, null, ClassNames)); continue; }
            if (column.Type == FieldType.Bool)
            {
                fields.Add(new FieldInfo(column.Name, "categorical", null, null, declared?.Categories ?? ["false", "true"]));
                continue;
            }
            if (column.Type == FieldType.Text)
            {
                var distinct = table.Distinct(column.Name, MaxCategories);
                if (distinct.Count is > 0 and <= MaxCategories) fields.Add(new FieldInfo(column.Name, "categorical", null, null, distinct));
                continue;
            }
            var (min, max) = table.Range(column.Name);
            fields.Add(new FieldInfo(column.Name, "numeric", min, max, null, declared?.Kind == FieldKind.Count));
        }
        // The stages' other per-sample scalars (map preservation, insights' scores, a training's history), whatever made them.
        foreach (var entry in Run.Fields.Where(f => f is { Layout: FieldLayout.Matrix, PerSample: true, Width: 1 }
                     && f.Kind is FieldKind.Number or FieldKind.Count or FieldKind.Category && f.Rows == Count))
        {
            float[] v;
            using (var r = Run.Open(entry)) v = entry.Type == FieldType.Int32 ? r.ReadAllInt32().Select(x => (float)x).ToArray() : r.ReadAll();
            if (entry.Kind == FieldKind.Category)
            {
                // Codes 0 … n−1; a negative code is none.
                for (int i = 0; i < v.Length; i++) if (v[i] < 0) v[i] = float.NaN;
                int codes = v.Where(float.IsFinite).Select(c => (int)c + 1).DefaultIfEmpty(0).Max();
                if (codes < 1) continue;
                _columns[entry.Name] = v;
                if (entry.Categories != null || codes <= MaxCategories)
                {
                    fields.Add(new FieldInfo(entry.Name, "categorical", null, null,
                        entry.Categories ?? Enumerable.Range(0, codes).Select(c => $"{entry.Name} {c}").ToArray()));
                    continue;
                }
            }
            _columns[entry.Name] = v;
            var finite = v.Where(float.IsFinite).DefaultIfEmpty(0);
            fields.Add(new FieldInfo(entry.Name, "numeric", finite.Min(), finite.Max(), null, entry.Kind == FieldKind.Count));
        }
        return fields;
    }

    /// <summary>The class names: the run's, or the class indices as text.</summary>
    public IReadOnlyList<string> ClassNames => Run.Manifest.Classes ?? Enumerable.Range(0, Run.Manifest.NumClasses).Select(c => c.ToString(CultureInfo.InvariantCulture)).ToArray();

    /// <summary>A field as one float32 per sample, in dataset order: the value, or the category's code; NaN for null.</summary>
    /// <exception cref="KeyNotFoundException">The run has no such field (the message lists them).</exception>
    public float[] Column(string name)
    {
        var field = Fields.FirstOrDefault(f => f.Name == name)
            ?? throw new KeyNotFoundException($"run '{Path.GetFileName(Run.Directory)}' has no field '{name}' (fields: {string.Join(", ", Fields.Select(f => f.Name))})");
        return _columns.GetOrAdd(name, _ =>
        {
            using var table = Run.OpenSamples();
            var column = table.Columns.First(c => c.Name == name);
            if (column.Type != FieldType.Text) return table.ReadFloat32(name);
            var codes = field.Categories!.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => p.i);
            return table.ReadText(name).Select(s => s != null && codes.TryGetValue(s, out int k) ? k : float.NaN).ToArray();
        });
    }

    /// <summary>Every sample's id, in dataset order.</summary>
    public string[] Ids() => _ids.Value;

    /// <summary>The map's coordinates, <c>[N, dimensions]</c>, or null when the run has none.</summary>
    public float[]? Map(out int dimensions)
    {
        dimensions = Run.Manifest.Map?.Dimensions ?? 0;
        if (Run.Manifest.Map == null) return null;
        return _columns.GetOrAdd("\0map", _ => Run.ReadFloat32(MapFields.Map));
    }

    /// <summary>The <paramref name="k"/> most probable classes of <paramref name="sample"/>, most probable first; none when the run has no probabilities.</summary>
    public IReadOnlyList<ClassProbability> TopClasses(int sample, int k = 5)
    {
        var m = Run.Manifest;
        if (m.NumClasses < 2 || !Run.Has(PerceptionFields.Probabilities)) return [];
        using var reader = Run.Open(PerceptionFields.Probabilities);
        var p = new float[reader.Columns];
        reader.ReadRow(sample, p);
        var names = ClassNames;
        return Enumerable.Range(0, p.Length).OrderByDescending(c => p[c]).Take(k)
            .Select(c => new ClassProbability(c, c < names.Count ? names[c] : c.ToString(CultureInfo.InvariantCulture), p[c])).ToArray();
    }

    /// <summary>Every column of the samples table for each of <paramref name="samples"/>, in one query; NaN and infinities as null.</summary>
    public Dictionary<int, Dictionary<string, object?>> Rows(IReadOnlyCollection<int> samples)
    {
        using var table = Run.OpenSamples();
        return table.Rows(samples);
    }

    static readonly Field[] BriefColumns =
        [PerceptionFields.Label, PerceptionFields.LabelName, PerceptionFields.Prediction, PerceptionFields.PredictionName, PerceptionFields.Correct,
         PerceptionFields.Loss, PerceptionFields.Confidence];

    /// <summary>Label, prediction, correctness, loss and confidence (those the run has) of each of <paramref name="samples"/>.</summary>
    public Dictionary<int, Dictionary<string, object?>> Brief(IReadOnlyCollection<int> samples)
    {
        var have = Fields.Select(f => f.Name).Concat([PerceptionFields.LabelName.Name, PerceptionFields.PredictionName.Name]).ToHashSet();
        using var table = Run.OpenSamples();
        var columns = BriefColumns.Select(c => c.Name).Where(have.Contains).ToList();
        return table.Rows(samples, columns.Count > 0 ? columns : [PerceptionFields.Index.Name]);
    }

    /// <summary>The labelled samples with the highest loss, highest first; none when the run has no loss.</summary>
    public IReadOnlyList<WorstSample> Worst(int count)
    {
        if (Run.Manifest.Summary?.Labelled is not > 0 || Run.Manifest.NumClasses == 0) return [];
        using var table = Run.OpenSamples();
        string Name(Dictionary<string, object?> v, Field name, Field code) =>
            v[name.Name]?.ToString() ?? Convert.ToString(v[code.Name], CultureInfo.InvariantCulture) ?? "";
        return table.Largest(PerceptionFields.Loss.Name, count,
                [PerceptionFields.Label.Name, PerceptionFields.LabelName.Name, PerceptionFields.Prediction.Name, PerceptionFields.PredictionName.Name,
                 PerceptionFields.Confidence.Name, PerceptionFields.Loss.Name])
            .Select(r => new WorstSample(r.Index, Name(r.Values, PerceptionFields.LabelName, PerceptionFields.Label),
                Name(r.Values, PerceptionFields.PredictionName, PerceptionFields.Prediction),
                Convert.ToSingle(r.Values[PerceptionFields.Confidence.Name] ?? float.NaN, CultureInfo.InvariantCulture),
                Convert.ToSingle(r.Values[PerceptionFields.Loss.Name], CultureInfo.InvariantCulture)))
            .ToArray();
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
        if (Run.Manifest.Text is null) return null;
        return Words(Input(sample).Input);
    }

    /// <summary>Every sample's tokens (as <see cref="Tokens"/>), read in one pass over the data; null for runs of other models.</summary>
    public IReadOnlyList<string>[]? AllTokens(CancellationToken cancellationToken = default)
    {
        if (Run.Manifest.Text == null) return null;
        var (dataset, pre) = Run.OpenData();
        using var _ = dataset;
        var result = new List<IReadOnlyList<string>>(Run.Count);
        int len = dataset.Format.Length;
        foreach (var batch in dataset.ReadBatches(512, cancellationToken))
            for (int i = 0; i < batch.Count; i++) result.Add(Words(pre.Apply(batch.Values.AsSpan(i * len, len))));
        return [.. result];
    }

    /// <summary>Token ids as words of the run's vocabulary, trailing padding left out.</summary>
    IReadOnlyList<string> Words(float[] ids)
    {
        var vocabulary = _vocabulary.Value;
        int length = ids.Length;
        while (length > 0 && ids[length - 1] == (Run.Manifest.Text?.PadId ?? Model.TokenInputs.PadId)) length--;
        return ids.Take(length).Select(v => (int)v is int id && id >= 0 && id < vocabulary.Length ? vocabulary[id] : $"#{(int)v}").ToArray();
    }

    readonly Lazy<string[]> _vocabulary;

    readonly object _dataGate = new();
    (IDataset Dataset, Preprocessor Pre)? _data;

    public void Dispose()
    {
        lock (_dataGate) { _data?.Dataset.Dispose(); _data = null; }
    }
}
