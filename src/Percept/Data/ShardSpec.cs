using System.Globalization;

namespace Percept.Data;

/// <summary>
/// Which shard of an analysis this process runs: shard <see cref="Index"/> (0-based) of <see cref="Count"/>. Shards are
/// contiguous slices of the dataset by sample index, made of whole statistics segments (so that merging them gives the
/// single pass's statistics bit for bit), as even as segments allow.
/// </summary>
public readonly record struct ShardSpec(int Index, int Count)
{
    /// <summary>At most this many shards.</summary>
    public const int MaxCount = 100_000;

    /// <summary>The slice of a dataset of <paramref name="samples"/> samples this shard runs, in segments of <paramref name="segment"/>.</summary>
    public (int Start, int Count) Slice(int samples, int segment)
    {
        long segments = (samples + (long)segment - 1) / segment;
        long first = segments * Index / Count, last = segments * (Index + 1) / Count;
        long start = Math.Min(samples, first * segment), end = Math.Min(samples, last * segment);
        return ((int)start, (int)(end - start));
    }

    /// <summary>
    /// Reads "I/N" (I from 1 to N, as a person counts: --shard 1/4 is the first of four), or "auto": the scheduler's array
    /// task (Slurm's SLURM_ARRAY_TASK_ID, less SLURM_ARRAY_TASK_MIN, of SLURM_ARRAY_TASK_COUNT; Kubernetes'
    /// JOB_COMPLETION_INDEX, 0-based, of <paramref name="count"/>).
    /// </summary>
    /// <param name="count">The number of shards when the scheduler does not say (an Indexed Job's completions), or null.</param>
    /// <param name="environment">Reads an environment variable (null: unset).</param>
    /// <exception cref="PerceptException">The text or the scheduler's variables do not name a shard.</exception>
    public static ShardSpec Parse(string text, int? count, Func<string, string?> environment)
    {
        if (text == "auto") return FromScheduler(count, environment);
        var parts = text.Split('/');
        if (parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int i) || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int n))
            throw new PerceptException($"{Terms.Option("shard")} takes I/N (the I-th of N shards, from 1) or auto, not '{text}'");
        return Checked(i - 1, n, $"{Terms.Option("shard")} {text}");
    }

    static ShardSpec FromScheduler(int? count, Func<string, string?> environment)
    {
        static int? Number(string? v) => int.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int n) ? n : null;
        if (environment("SLURM_ARRAY_TASK_ID") is { } id)
        {
            int task = Number(id) ?? throw new PerceptException($"SLURM_ARRAY_TASK_ID is '{id}', not a number");
            int min = Number(environment("SLURM_ARRAY_TASK_MIN")) ?? 0;
            int n = count ?? Number(environment("SLURM_ARRAY_TASK_COUNT"))
                ?? throw new PerceptException($"SLURM_ARRAY_TASK_COUNT is not set: give the number of shards with {Terms.Option("shard-count")}");
            return Checked(task - min, n, $"Slurm array task {task} (first {min}) of {n}");
        }
        if (environment("JOB_COMPLETION_INDEX") is { } index)
        {
            int task = Number(index) ?? throw new PerceptException($"JOB_COMPLETION_INDEX is '{index}', not a number");
            int n = count ?? throw new PerceptException($"a Kubernetes Indexed Job does not say how many shards there are: give {Terms.Option("shard-count")} (the Job's completions)");
            return Checked(task, n, $"Kubernetes completion index {task} of {n}");
        }
        throw new PerceptException($"{Terms.Option("shard")} auto needs a scheduler's array task: neither SLURM_ARRAY_TASK_ID nor JOB_COMPLETION_INDEX is set (outside a scheduler, give I/N)");
    }

    static ShardSpec Checked(int index, int count, string what)
    {
        if (count < 1 || count > MaxCount) throw new PerceptException($"{what}: the number of shards must be from 1 to {MaxCount:N0}");
        if (index < 0 || index >= count) throw new PerceptException($"{what}: no such shard (shards are 1 to {count})");
        return new ShardSpec(index, count);
    }

    public override string ToString() => $"{Index + 1}/{Count}";
}
