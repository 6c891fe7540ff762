using System.Diagnostics;
using Percept.Data;
using Percept.Perception;
using Percept.Projection;
using Percept.Store;

namespace Percept.Cluster;

/// <summary>What <see cref="ShardMerge.Merge"/> writes, and how the stages after the model pass run.</summary>
public sealed record MergeOptions
{
    /// <summary>The run's folder.</summary>
    public required string OutputDirectory { get; init; }
    /// <summary>Replace a run already there.</summary>
    public bool Overwrite { get; init; }
    /// <summary>The map, as <c>percept analyze</c> makes it.</summary>
    public MapOptions Map { get; init; } = new();
    /// <summary>Threads for the vectors, the graph and the map (0: all cores).</summary>
    public int Threads { get; init; }
    /// <summary>Find insights once the run is written.</summary>
    public bool Insights { get; init; } = true;
}

/// <summary>
/// Makes the run of a whole dataset from the shards of its analysis (<c>percept analyze --shard I/N</c>, one per array
/// task of a cluster's scheduler): checks that they belong together, joins their rows, outputs and pooled layers in
/// order, merges their feature statistics segment by segment in the order one pass would, then builds the perception
/// vectors, the neighbour graph, the map and the insights as one machine does. The merged run equals the single pass's:
/// the same samples table, bit-identical outputs and vectors. Like an analysis, the run appears only when complete.
/// </summary>
public static class ShardMerge
{
    /// <summary>
    /// The shard folders named: each path is a shard, or a folder whose subfolders holding a manifest are taken (in
    /// name order; which shard each is comes from its manifest).
    /// </summary>
    /// <exception cref="PerceptException">A path does not exist, or a folder holds no shard.</exception>
    public static IReadOnlyList<string> Find(IReadOnlyList<string> paths)
    {
        var found = new List<string>();
        foreach (string path in paths)
        {
            if (!Directory.Exists(path)) throw new PerceptException($"shard not found: {path}");
            if (Run.IsRun(path)) { found.Add(path); continue; }
            var inside = Directory.EnumerateDirectories(path).Where(d => !Path.GetFileName(d).StartsWith('.') && Run.IsRun(d)).Order(StringComparer.Ordinal).ToArray();
            if (inside.Length == 0) throw new PerceptException($"{path} is neither a shard nor a folder of shards");
            found.AddRange(inside);
        }
        return found;
    }

    /// <summary>Opens the shards and checks that they make one analysis; returns them in shard order.</summary>
    /// <exception cref="PerceptException">One line naming the shard that does not belong, the one missing or the one given twice.</exception>
    public static IReadOnlyList<Run> Open(IReadOnlyList<string> paths)
    {
        if (paths.Count == 0) throw new PerceptException("no shards given");
        var shards = new List<Run>();
        foreach (string path in paths)
        {
            var run = Run.OpenAny(path);
            if (run.Manifest.Shard == null) throw new PerceptException($"{path} is a run, not a shard ({Terms.Command("analyze")} {Terms.Option("shard")} I/N makes shards)");
            shards.Add(run);
        }
        var first = shards[0];
        var a = first.Manifest;
        var s0 = a.Shard!;
        foreach (var run in shards.Skip(1))
        {
            var m = run.Manifest;
            var s = m.Shard!;
            if (s.Count != s0.Count) throw new PerceptException($"{run.Directory} is shard {s.Index + 1} of {s.Count}; {first.Directory} is of {s0.Count}: shards of different analyses");
            if (m.PerceptVersion != a.PerceptVersion)
                throw new PerceptException($"{run.Directory} was made by Percept {m.PerceptVersion}; {first.Directory} by {a.PerceptVersion}: make every shard with one version");
            if (m.Model.Sha256 != a.Model.Sha256)
                throw new PerceptException($"{run.Directory} was made with another model ({m.Model.Path}, sha256 {Short(m.Model.Sha256)}) than {first.Directory} ({a.Model.Path}, {Short(a.Model.Sha256)})");
            if (!SameData(m, a) || s.DatasetCount != s0.DatasetCount)
                throw new PerceptException($"{run.Directory} read other data ({m.Data.Path}, {s.DatasetCount:N0} samples) than {first.Directory} ({a.Data.Path}, {s0.DatasetCount:N0})");
            if (m.Data.Preprocessing != a.Data.Preprocessing)
                throw new PerceptException($"{run.Directory} preprocessed its data otherwise ({m.Data.Preprocessing}) than {first.Directory} ({a.Data.Preprocessing})");
            if (!SamePerception(m.Perception, a.Perception) || m.Model.Output != a.Model.Output || m.Model.OutputKind != a.Model.OutputKind)
                throw new PerceptException($"{run.Directory} was made with other perception options (layers, pooling, width, seed or output) than {first.Directory}");
            if ((m.Text?.MaskedPooling ?? false) != (a.Text?.MaskedPooling ?? false))
                throw new PerceptException($"{run.Directory} pooled its token layers {(m.Text?.MaskedPooling == true ? "over the tokens that are not padding" : "over every position")}; {first.Directory} did not: make every shard with one build of Percept");
            if (s.BatchSize != s0.BatchSize || s.Segment != s0.Segment)
                throw new PerceptException($"{run.Directory} was made with batch size {s.BatchSize}; {first.Directory} with {s0.BatchSize}: give every shard the same {Terms.Option("batch-size")}");
        }
        var byIndex = new Run?[s0.Count];
        foreach (var run in shards)
        {
            var s = run.Manifest.Shard!;
            if (byIndex[s.Index] is { } twice) throw new PerceptException($"{twice.Directory} and {run.Directory} are both shard {s.Index + 1} of {s.Count}");
            byIndex[s.Index] = run;
            var (start, count) = new ShardSpec(s.Index, s.Count).Slice(s.DatasetCount, s.Segment);
            if (s.Start != start || s.SliceCount != count)
                throw new PerceptException($"{run.Directory}: shard {s.Index + 1} of {s.Count} records samples {s.Start:N0}+{s.SliceCount:N0}, not {start:N0}+{count:N0}: damaged");
            if (s.Rows != s.SliceCount && run.Manifest.Data.Skipped == 0)
                throw new PerceptException($"{run.Directory} holds {s.Rows:N0} rows of its slice's {s.SliceCount:N0}: not a complete shard");
        }
        var missing = Enumerable.Range(0, s0.Count).Where(i => byIndex[i] == null).ToArray();
        if (missing.Length > 0)
            throw new PerceptException($"shard{(missing.Length > 1 ? "s" : "")} {string.Join(", ", missing.Take(10).Select(i => i + 1))}{(missing.Length > 10 ? ", …" : "")} of {s0.Count} {(missing.Length > 1 ? "are" : "is")} missing");
        return byIndex!;
    }

    static string Short(string sha) => sha.Length > 12 ? sha[..12] : sha;

    static bool SameData(RunManifest m, RunManifest a)
    {
        var x = m.Source?.Files?.Select(f => (f.Role, f.Sha256)).ToArray() ?? [];
        var y = a.Source?.Files?.Select(f => (f.Role, f.Sha256)).ToArray() ?? [];
        return x.SequenceEqual(y) && m.Data.Split == a.Data.Split && m.Data.HasLabels == a.Data.HasLabels;
    }

    static bool SamePerception(RunManifest.PerceptionSection p, RunManifest.PerceptionSection q) =>
        p.Pooling == q.Pooling && p.MaxWidth == q.MaxWidth && p.Seed == q.Seed
        && p.Layers.Select(l => (l.Name, l.Tensor, l.Width)).SequenceEqual(q.Layers.Select(l => (l.Name, l.Tensor, l.Width)));

    /// <summary>Merges the shards at <paramref name="paths"/> (see <see cref="Find"/>) into one run.</summary>
    /// <exception cref="PerceptException">The shards do not make one analysis, or the run cannot be written.</exception>
    public static Run Merge(IReadOnlyList<string> paths, MergeOptions options, IProgress<AnalysisProgress>? progress = null,
        Action<string>? warn = null, CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        var shards = Open(Find(paths));
        string target = Path.GetFullPath(options.OutputDirectory.TrimEnd('/', '\\'));
        foreach (var shard in shards)
            if (target == shard.Directory || target.StartsWith(shard.Directory + Path.DirectorySeparatorChar, StringComparison.Ordinal)
                || shard.Directory.StartsWith(target + Path.DirectorySeparatorChar, StringComparison.Ordinal))
                throw new PerceptException($"{Terms.Option("out")} {options.OutputDirectory} and the shard {shard.Directory} lie in one another; write the run elsewhere");
        var reference = shards[0].Manifest;
        long rows = shards.Sum(s => s.Manifest.Shard!.Rows);
        var stages = new Dictionary<string, double>();
        double mark = 0;
        void Stage(string name) { stages[name] = Math.Round(clock.Elapsed.TotalSeconds - mark, 3); mark = clock.Elapsed.TotalSeconds; }

        using var writer = new RunWriter(options.OutputDirectory, options.Overwrite, warn);
        // Rows, in shard order (each shard's rows carry their dataset index already).
        var table = writer.CreateSamples(PerceptionFields.Columns);
        foreach (var shard in shards)
        {
            cancellationToken.ThrowIfCancellationRequested();
            table.AppendRowsOf(shard);
        }
        // A slice of an image folder that skipped undecodable files numbered its rows from its first file: close the gaps,
        // as one pass numbers the samples it kept.
        if (shards.Any(s => s.Manifest.Data.Skipped > 0)) table.RenumberIndex();
        var metadata = reference.Data.Metadata is { } metadataPath
            ? File.Exists(metadataPath) ? new MetadataFile(metadataPath) : null
            : null;
        if (reference.Data.Metadata != null && metadata == null)
            warn?.Invoke($"the metadata {reference.Data.Metadata} the shards were made with is not there: the run has no metadata columns");
        // A manifest's or a table's own fields join from the data, first, as one pass joins them.
        using var fieldData = DatasetWithFields(shards[0], warn);
        var fields = fieldData != null ? MetadataFile.FieldsOf(fieldData, reference.Data.Path) : null;
        var samples = writer.FinishSamplesAsync(rows, new[] { fields, metadata }.OfType<MetadataFile>().ToArray(), warn);

        // Outputs and pooled layers, shard after shard.
        var matrices = new[] { PerceptionFields.Logits, PerceptionFields.Probabilities, PerceptionFields.Outputs }.Where(f => shards[0].Has(f)).ToList();
        var layerFields = reference.Perception.Layers.Select(l => PerceptionFields.Layer.Member(l.Name)).ToArray();
        long copied = 0, total = rows * (matrices.Count + layerFields.Length);
        foreach (var field in matrices.Concat(layerFields))
            copied = Concatenate(writer, field, shards, copied, total, progress, cancellationToken);

        // Statistics: every segment, in order, as one pass merges them.
        var stats = new FeatureStatistics[layerFields.Length];
        for (int l = 0; l < stats.Length; l++) stats[l] = new FeatureStatistics(reference.Perception.Layers[l].Width);
        foreach (var shard in shards)
        {
            var layers = ShardStatistics.Read(shard);
            if (layers.Count != stats.Length) throw new PerceptException($"{shard.Directory}: {PerceptionFields.ShardStatistics.Name} has {layers.Count} layers, not {stats.Length}: damaged");
            for (int l = 0; l < stats.Length; l++)
                foreach (var segment in layers[l].Segments)
                {
                    if (segment.Mean.Length != stats[l].Features || segment.M2.Length != stats[l].Features)
                        throw new PerceptException($"{shard.Directory}: the statistics of layer {layers[l].Layer} have {segment.Mean.Length} features, not {stats[l].Features}: damaged");
                    stats[l].Merge(segment.Count, segment.Mean, segment.M2);
                }
        }
        Stage("merge");

        IReadOnlyList<string> metadataColumns;
        PerceptionVectorBuilder vectors;
        try
        {
            vectors = PerceptionVectors.Write(writer, reference.Perception.Layers.Select(l => l.Name).ToArray(), layerFields, stats, rows,
                reference.Perception.MaxWidth, reference.Perception.Seed, options.Threads, progress, cancellationToken);
        }
        finally { metadataColumns = samples.GetAwaiter().GetResult(); }
        Stage("vectors");
        if (reference.Text is { Vocabulary: true } && shards[0].ReadDocument(PerceptionFields.Vocabulary) is { } vocabulary)
            writer.WriteDocument(PerceptionFields.Vocabulary, vocabulary);

        var (neighbors, map) = Analysis.NeighboursAndMap(writer, options.Map, options.Threads, Stage, progress, warn, cancellationToken);
        long labelled = shards.Sum(s => s.Manifest.Shard!.Labelled), correct = shards.Sum(s => s.Manifest.Shard!.Correct);
        double loss = shards.Sum(s => s.Manifest.Shard!.LossSum);
        bool scored = labelled > 0 && reference.Model.OutputKind != "other";
        var manifest = reference with
        {
            Created = DateTimeOffset.UtcNow,
            Model = reference.Model with { RelativePath = RunSources.Relative(reference.Model.Path, options.OutputDirectory) },
            Data = reference.Data with
            {
                Count = (int)rows, Skipped = shards.Sum(s => s.Manifest.Data.Skipped), MetadataColumns = metadataColumns,
            },
            Source = reference.Source is { } source ? source with
            {
                Files = source.Files?.Select(f => f with { RelativePath = RunSources.Relative(f.Path, options.OutputDirectory) }).ToArray(),
            } : null,
            Perception = reference.Perception with
            {
                ConcatenatedWidth = vectors.ConcatenatedWidth, Width = vectors.Width, Projected = vectors.Width != vectors.ConcatenatedWidth,
                Layers = reference.Perception.Layers.Select((l, i) => l with { Weight = vectors.LayerWeights[i] }).ToArray(),
            },
            Neighbors = neighbors,
            Map = map,
            Summary = new RunManifest.SummarySection(scored ? (double)correct / labelled : null, scored ? loss / labelled : null, (int)labelled),
            Shard = null,
            Stages = null,
        };
        return Analysis.InsightsAndCommit(writer, manifest, options.Insights, options.OutputDirectory, stages, clock, Stage, progress, warn, cancellationToken);
    }

    /// <summary>The shards' dataset, opened again, when it may carry fields of its own (a manifest, a Parquet or Arrow table); null otherwise or when it cannot be found.</summary>
    static IDataset? DatasetWithFields(Run shard, Action<string>? warn)
    {
        if (shard.Manifest.Source?.Data is not { CarriesFields: true }) return null;
        try { return shard.OpenData().Dataset; }
        catch (PerceptException e)
        {
            warn?.Invoke($"the run has none of the data's own fields: {e.Message}");
            return null;
        }
    }

    /// <summary>Appends <paramref name="field"/> of every shard, in order, to the run; returns the rows copied so far.</summary>
    static long Concatenate(RunWriter writer, Field field, IReadOnlyList<Run> shards, long copied, long total, IProgress<AnalysisProgress>? progress, CancellationToken ct)
    {
        FieldWriter? output = null;
        try
        {
            foreach (var shard in shards)
            {
                if (!shard.Has(field)) throw new PerceptException($"{shard.Directory} lacks the field {field.Name} that {shards[0].Directory} holds: not a complete shard");
                using var input = shard.Open(field);
                output ??= writer.Create(field, input.Columns);
                if (input.Columns != output.Width) throw new PerceptException($"{shard.Directory}: {field.Name} has {input.Columns} columns, not {output.Width}");
                int chunk = Math.Max(1, (1 << 22) / Math.Max(1, input.Columns));
                var buffer = new float[(long)chunk * input.Columns];
                for (int start = 0; start < input.Rows; start += chunk)
                {
                    ct.ThrowIfCancellationRequested();
                    int n = Math.Min(chunk, input.Rows - start);
                    input.Read(start, n, buffer.AsSpan(0, n * input.Columns));
                    output.Append(buffer.AsSpan(0, n * input.Columns));
                    copied += n;
                    progress?.Report(new AnalysisProgress("merge", copied, total));
                }
            }
        }
        finally { output?.Dispose(); }
        return copied;
    }
}
