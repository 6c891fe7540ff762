using System.Globalization;
using Percept.Neighbors;
using Percept.Perception;
using Percept.Projection;
using Percept.Store;

namespace Percept.Insights;

/// <summary>A metadata column of the samples: numbers (NaN for none) or categories (null for none).</summary>
public sealed record MetadataColumn(string Name, float[]? Numbers, string?[]? Categories);

/// <summary>
/// What insights are computed from: every sample's neighbours in perception space (the run's graph, or perception
/// vectors to build it from), label, class probabilities and, where the run has them, its loss, correctness, split,
/// metadata and a hash of its input's content.
/// </summary>
/// <param name="Vectors">Perception vectors, one row per sample: the neighbours are found among them, as an analysis finds them
/// (<see cref="NeighborSpace"/>, <see cref="NeighborGraph"/>). Null when <see cref="Graph"/> is given.</param>
/// <param name="Labels">Labels (−1: none).</param>
/// <param name="Probabilities">N × <paramref name="Classes"/> class probabilities, when the model gives class scores.</param>
/// <param name="Ids">Each sample's id.</param>
/// <param name="ClassNames">Names of the classes, when known.</param>
public sealed record Population(Matrix? Vectors, int[] Labels, float[]? Probabilities, int Classes, IReadOnlyList<string> Ids, IReadOnlyList<string>? ClassNames)
{
    /// <summary>The neighbour graph, built already (a run's): used when it has enough neighbours per sample.</summary>
    public RunGraph? Graph { get; init; }

    /// <summary>The space <see cref="Graph"/> was measured in, read when more neighbours are asked for than it holds.</summary>
    public Func<Matrix>? Space { get; init; }

    /// <summary>The graph of at least <paramref name="k"/> neighbours per sample: the given one, or one built as an analysis builds it.</summary>
    /// <exception cref="PerceptException">Neither vectors nor a graph of enough neighbours, or too few finite samples.</exception>
    public RunGraph Neighbors(int k)
    {
        if (Graph is { } g && g.Graph.K >= Math.Min(k, g.Finite.Length - 1)) return g;
        var space = Space?.Invoke() ?? (Vectors != null ? NeighborSpace.Of(Vectors, 0, 0).Space
            : throw new PerceptException("the population has neither perception vectors nor a neighbour graph"));
        // More neighbours than the run's graph holds: a graph of its own, said in the notes.
        if (Graph != null) ExtraNotes.Add($"{k} neighbours per sample are more than the run's graph holds ({Graph.Graph.K}): these insights built a {k}-NN graph of their own");
        return NeighborGraph.Build(space, "", new NeighborGraphOptions { K = k })?.Graph
            ?? throw new PerceptException("fewer than two samples have finite perception vectors: too few for insights");
    }

    /// <summary>Each sample's loss (NaN: none).</summary>
    public float[]? Loss { get; init; }

    /// <summary>Whether the model got each sample right (null: unlabelled).</summary>
    public bool?[]? Correct { get; init; }

    /// <summary>Each sample's split (train, test, …), for leakage across splits.</summary>
    public string[]? Splits { get; init; }

    /// <summary>A hash of each sample's input values (0: not read), for exact duplicates.</summary>
    public ulong[]? ContentHashes { get; init; }

    /// <summary>
    /// A random projection of each sample's input values to <see cref="SketchWidth"/> numbers, with the input's norm as an
    /// extra last column: distances between sketches approximate distances between inputs (Johnson–Lindenstrauss), for
    /// near duplicates in input space.
    /// </summary>
    public Matrix? InputSketches { get; init; }

    /// <summary>Numbers per input sketch (relative error of a distance about 1/√64 = 12%).</summary>
    public const int SketchWidth = 64;

    /// <summary>
    /// For an epoch of a training: each sample's probability of its label at every epoch so far (N × epochs, NaN for
    /// none), from the per-epoch losses. Its mean over the epochs (the model's confidence in the label across training)
    /// replaces the last model's probability in <c>label_issue</c>: a wrong label the model memorises late keeps a low mean.
    /// </summary>
    public Matrix? LabelProbabilityHistory { get; init; }

    /// <summary>
    /// For an epoch of a training: each sample's label margin at every epoch so far (the model's probability of the label
    /// minus its highest other, N × epochs). With <see cref="LabelAgreementHistory"/> it makes <c>label_issue</c>: a wrong
    /// label is fitted late, if at all, and its neighbours disagree with it before the model memorises it.
    /// </summary>
    public Matrix? LabelMarginHistory { get; init; }

    /// <summary>For an epoch of a training: the share of each sample's neighbours carrying its label, in every epoch's own perception space (N × epochs).</summary>
    public Matrix? LabelAgreementHistory { get; init; }

    /// <summary>For an epoch of a training: each sample's reliability-weighted agreement (<see cref="LabelEvidence.ReliableAgreement"/>) in every epoch's perception space (N × epochs).</summary>
    public Matrix? LabelReliableAgreementHistory { get; init; }

    /// <summary>Metadata columns, for what is over-represented in weak clusters and what goes with the loss.</summary>
    public IReadOnlyList<MetadataColumn> Metadata { get; init; } = [];

    /// <summary>Notes added while the insights were computed (a graph built for more neighbours than the run's holds).</summary>
    internal List<string> ExtraNotes { get; } = [];

    /// <summary>Why a kind of insight could not be computed (a note per missing input).</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];

    /// <summary>
    /// Everything a finished run holds for insights. The inputs are read again for their content hashes; when the data have
    /// moved, exact duplicates are left out and a note says so.
    /// </summary>
    public static Population FromRun(Run run, CancellationToken cancellationToken = default)
    {
        var m = run.Manifest;
        using var samples = run.OpenSamples();
        var labels = samples.ReadInt32(PerceptionFields.Label);
        bool scores = m.NumClasses >= 2 && run.Has(PerceptionFields.Probabilities);
        float[]? probabilities = scores ? run.ReadFloat32(PerceptionFields.Probabilities) : null;
        var loss = m.NumClasses >= 2 ? samples.ReadFloat32(PerceptionFields.Loss) : null;
        var correct = m.NumClasses >= 2 ? samples.ReadBool(PerceptionFields.Correct) : null;
        var splits = samples.ReadText(PerceptionFields.Split).Select(v => v ?? "").ToArray();
        var ids = samples.ReadText(PerceptionFields.Id).Select(v => v ?? "").ToArray();
        var metadata = new List<MetadataColumn>();
        // The metadata the user joined, and the mean intensity Percept records for every input.
        foreach (string name in m.Data.MetadataColumns.Append(PerceptionFields.MeanIntensity.Name).Distinct())
        {
            var column = samples.Columns.FirstOrDefault(c => c.Name == name);
            if (column == null) continue;
            if (column.Type is FieldType.Float32 or FieldType.Int32 or FieldType.Int64)
                metadata.Add(new MetadataColumn(name, samples.ReadFloat32(name), null));
            else
            {
                var text = samples.ReadText(name);
                if (text.Where(v => v != null).Distinct().Count() <= MaxCategories) metadata.Add(new MetadataColumn(name, null, text));
            }
        }
        var notes = new List<string>();
        ulong[]? hashes = null;
        Matrix? sketches = null;
        try { (hashes, sketches) = ReadInputs(run, cancellationToken); }
        catch (PerceptException e) { notes.Add($"duplicates in input space left out: the inputs could not be read again ({e.Message})"); }
        Matrix? history = run.Has(InsightFields.LabelHistory) ? run.ReadMatrix(InsightFields.LabelHistory) : null;
        Matrix? margins = run.Has(InsightFields.MarginHistory) ? run.ReadMatrix(InsightFields.MarginHistory) : null;
        Matrix? agreements = run.Has(InsightFields.AgreementHistory) ? run.ReadMatrix(InsightFields.AgreementHistory) : null;
        Matrix? reliable = run.Has(InsightFields.ReliableAgreementHistory) ? run.ReadMatrix(InsightFields.ReliableAgreementHistory) : null;
        // A model without class scores (an embedding model) with labels: the classes are the labels' (their names when given),
        // so the label-based cards still read the neighbours.
        int classCount = m.NumClasses >= 2 ? m.NumClasses : Math.Max(m.Classes?.Count ?? 0, labels.DefaultIfEmpty(-1).Max() + 1);
        var classNames = classCount >= 2
            ? Enumerable.Range(0, classCount).Select(c => m.Classes is { } named && c < named.Count ? named[c] : c.ToString(CultureInfo.InvariantCulture)).ToArray()
            : null;
        return new Population(null, labels, probabilities, classCount >= 2 ? classCount : m.NumClasses, ids, classNames)
        {
            Graph = RunGraph.Read(run), Space = () => ReadSpace(run),
            Loss = loss, Correct = correct, Splits = splits, ContentHashes = hashes, InputSketches = sketches, Metadata = metadata, Notes = notes,
            LabelProbabilityHistory = history, LabelMarginHistory = margins, LabelAgreementHistory = agreements,
            LabelReliableAgreementHistory = reliable,
        };
    }

    /// <summary>A text column with more distinct values than this is not a category.</summary>
    const int MaxCategories = 64;

    /// <summary>The space a run's graph was measured in: its stored neighbour space, or the perception vectors themselves.</summary>
    static Matrix ReadSpace(Run run) => run.ReadMatrix(run.Has(NeighborFields.Space) ? NeighborFields.Space : PerceptionFields.Embedding);

    /// <summary>
    /// In one pass over the run's data (raw values, as the dataset delivers them): a 64-bit FNV-1a hash of each sample and
    /// its input sketch (a seeded Gaussian projection, scaled by 1/√width, then the norm).
    /// </summary>
    static (ulong[] Hashes, Matrix Sketches) ReadInputs(Run run, CancellationToken cancellationToken)
    {
        var (dataset, _) = run.OpenData();
        using var _d = dataset;
        var hashes = new ulong[run.Count];
        int len = dataset.Format.Length, row = 0;
        var projection = new float[SketchWidth * len];
        var rng = new SplitMix64(0x5EED);
        for (int i = 0; i < projection.Length; i++) projection[i] = (float)(rng.NextGaussian() / Math.Sqrt(SketchWidth));
        var sketches = new Matrix(run.Count, SketchWidth + 1);
        foreach (var batch in dataset.ReadBatches(256, cancellationToken))
            for (int i = 0; i < batch.Count && row < hashes.Length; i++, row++)
            {
                var x = batch.Values.AsSpan(i * len, len);
                ulong h = 14695981039346656037UL;
                foreach (byte b in System.Runtime.InteropServices.MemoryMarshal.AsBytes(x)) { h ^= b; h *= 1099511628211UL; }
                hashes[row] = h == 0 ? 1 : h;
                var sketch = sketches.Row(row);
                for (int d = 0; d < SketchWidth; d++) sketch[d] = System.Numerics.Tensors.TensorPrimitives.Dot(projection.AsSpan(d * len, len), x);
                sketch[SketchWidth] = MathF.Sqrt(System.Numerics.Tensors.TensorPrimitives.Dot(x, x));
            }
        if (row != run.Count) throw new PerceptException($"the data now hold {row} samples; the run has {run.Count}");
        return (hashes, sketches);
    }
}
