using System.Text.Json;
using Percept.Data;
using Percept.IO;
using Percept.Neighbors;
using Percept.Perception;
using Percept.Projection;
using Percept.Store;

namespace Percept.Cluster;

/// <summary>
/// Places a run's samples on a landmark map in shards, as an array job (<c>percept place --shard I/N</c>): the map was
/// fitted on its landmarks only (<c>percept merge --map-landmarks N --place-later</c>); each task rebuilds the fitted
/// model from the landmarks' rows of the neighbour space and their coordinates, places its slice of the other samples
/// (UMAP's transform: their nearest landmarks, a weighted start, optimisation against the fixed landmarks), and writes a
/// part. <see cref="Complete"/> writes every part into the run's map and measures the map.
/// </summary>
public static class LandmarkPlacement
{
    const string RowsFile = "placed_rows.npy", MapFile = "placed.npy", PartFile = "part.json";

    sealed record Part(string Run, int Index, int Count, int Rows);

    /// <summary>The samples the map has yet to place (finite vectors, no coordinates), ascending.</summary>
    static (Matrix Map, int[] Landmarks, int[] Pending) Split(Run run)
    {
        if (run.Manifest.Map is not { Unplaced: true } section)
            throw new PerceptException($"{run.Directory} has no map waiting for its samples ({Terms.Command("merge")} with a landmark map, placed later, makes one)");
        var map = run.ReadMatrix(MapFields.Map);
        var finite = RunGraph.Read(run).Finite;
        var landmarks = new List<int>();
        var pending = new List<int>();
        foreach (int i in finite) (float.IsFinite(map.Row(i)[0]) ? landmarks : pending).Add(i);
        if (landmarks.Count != section.Landmarks) throw new PerceptException($"{run.Directory}: its map places {landmarks.Count} samples, not its {section.Landmarks} landmarks: damaged");
        return (map, [.. landmarks], [.. pending]);
    }

    /// <summary>What the map was made with, as <see cref="Maps"/> takes it.</summary>
    static MapOptions Options(Run run, int threads)
    {
        var m = run.Manifest.Map!;
        return new MapOptions
        {
            Method = MapMethod.Umap, Dimensions = m.Dimensions, Neighbors = m.Neighbors, MinDist = m.MinDist, Seed = m.Seed, Threads = threads,
            Metric = run.Manifest.Neighbors?.Metric == "cosine" ? Metric.Cosine : Metric.Euclidean,
        };
    }

    /// <summary>Places shard <paramref name="shard"/> of the samples the map has yet to place, and writes the part to <paramref name="output"/> (atomically).</summary>
    /// <exception cref="PerceptException">The run has no map waiting, or the part cannot be written.</exception>
    public static string Place(Run run, ShardSpec shard, string output, int threads = 0, CancellationToken cancellationToken = default)
    {
        var (map, landmarks, pending) = Split(run);
        var (start, count) = shard.Slice(pending.Length, 1);
        var rows = pending.AsSpan(start, count).ToArray();
        using var space = run.Open(run.Has(NeighborFields.Space) ? NeighborFields.Space : PerceptionFields.Embedding);
        var coordinates = new Matrix(landmarks.Length, map.Columns);
        for (int t = 0; t < landmarks.Length; t++) map.Row(landmarks[t]).CopyTo(coordinates.Row(t));
        var model = Maps.LandmarkModel(MapQuality.Subset(space, landmarks), coordinates, Options(run, threads));
        cancellationToken.ThrowIfCancellationRequested();
        var placed = rows.Length > 0 ? model.Transform(MapQuality.Subset(space, rows)) : new Matrix(0, map.Columns);

        string final = Path.GetFullPath(output.TrimEnd('/', '\\'));
        if (Directory.Exists(final) && File.Exists(Path.Combine(final, PartFile))) Directory.Delete(final, recursive: true);
        else if (Directory.Exists(final) && Directory.EnumerateFileSystemEntries(final).Any())
            throw new PerceptException($"{Terms.Option("out")} {output} exists and is not a part of a placement; choose another folder");
        string work = Path.Combine(Path.GetDirectoryName(final)!, $".{Path.GetFileName(final)}.{Environment.ProcessId}.partial");
        Directory.CreateDirectory(work);
        try
        {
            Npy.Write(Path.Combine(work, RowsFile), rows.Select(r => (long)r).ToArray(), rows.Length);
            Npy.Write(Path.Combine(work, MapFile), placed.Data, placed.Rows, placed.Columns);
            File.WriteAllText(Path.Combine(work, PartFile), JsonSerializer.Serialize(new Part(Identity(run), shard.Index, shard.Count, rows.Length)));
            if (Directory.Exists(final)) Directory.Delete(final);
            Directory.Move(work, final);
        }
        finally { if (Directory.Exists(work)) Directory.Delete(work, recursive: true); }
        return final;
    }

    /// <summary>Which run a part belongs to: its folder's name and when it was made.</summary>
    static string Identity(Run run) => $"{Path.GetFileName(run.Directory)} {run.Manifest.Created:O}";

    /// <summary>
    /// Writes every part (folders, or folders holding them) into the run's map, then its per-sample preservation and its
    /// quality; refuses, with one line, a part of another run, a part given twice, or parts that do not cover every sample.
    /// </summary>
    public static Run Complete(Run run, IReadOnlyList<string> parts, int threads = 0)
    {
        var (map, _, pending) = Split(run);
        var folders = new List<string>();
        foreach (string p in parts)
        {
            if (File.Exists(Path.Combine(p, PartFile))) folders.Add(p);
            else if (Directory.Exists(p)) folders.AddRange(Directory.EnumerateDirectories(p).Where(d => File.Exists(Path.Combine(d, PartFile))).Order(StringComparer.Ordinal));
            else throw new PerceptException($"part not found: {p}");
        }
        if (folders.Count == 0) throw new PerceptException("no parts of a placement given");
        var expected = pending.ToHashSet();
        var placed = new HashSet<int>();
        string identity = Identity(run);
        int? count = null;
        foreach (string folder in folders)
        {
            var part = JsonSerializer.Deserialize<Part>(File.ReadAllText(Path.Combine(folder, PartFile)))!;
            if (part.Run != identity) throw new PerceptException($"{folder} places the samples of another run ({part.Run}), not of {identity}");
            if (count is { } c && c != part.Count) throw new PerceptException($"{folder} is part {part.Index + 1} of {part.Count}; the others are of {c}");
            count = part.Count;
            var rows = Npy.ReadInt64(Path.Combine(folder, RowsFile), out _);
            var coordinates = Npy.ReadFloat32(Path.Combine(folder, MapFile), out var shape);
            if (rows.Length != part.Rows || coordinates.Length != rows.Length * map.Columns) throw new PerceptException($"{folder} is damaged: {rows.Length} rows, {shape[0]} placed");
            for (int t = 0; t < rows.Length; t++)
            {
                int i = (int)rows[t];
                if (!expected.Contains(i)) throw new PerceptException($"{folder} places sample {i}, which the map does not wait for");
                if (!placed.Add(i)) throw new PerceptException($"{folder} places sample {i} again: a part given twice");
                coordinates.AsSpan(t * map.Columns, map.Columns).CopyTo(map.Row(i));
            }
        }
        if (placed.Count != expected.Count)
            throw new PerceptException($"the parts place {placed.Count:N0} of the {expected.Count:N0} samples the map waits for: a part is missing");

        var graph = RunGraph.Read(run);
        var finite = graph.Finite;
        var ofFinite = new Matrix(finite.Length, map.Columns);
        for (int r = 0; r < finite.Length; r++) map.Row(finite[r]).CopyTo(ofFinite.Row(r));
        using var update = run.Update();
        update.Write(MapFields.Map, map.Data, map.Columns);
        using var vectors = run.Open(PerceptionFields.Embedding);
        var options = Options(run, threads);
        var (q, k) = MapStage.Measure(update, vectors, ofFinite, graph.Compact(), finite, map.Rows, options);
        return update.Commit(m => m with
        {
            Map = m.Map! with
            {
                Unplaced = false, Trustworthiness = q?.Trustworthiness ?? double.NaN, KnnPreservation = q?.KnnPreservation ?? double.NaN,
                QualityK = k, QualitySample = q?.SampleSize ?? 0,
            },
        });
    }
}
