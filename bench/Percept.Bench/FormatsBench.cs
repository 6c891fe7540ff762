using System.Diagnostics;
using DuckDB.NET.Data;
using Percept.Data;

/// <summary>
/// Reading the same samples from IDX and from Parquet (PNG bytes in the Hugging Face layout), the datasets alone:
/// samples per second, best of N, the formats alternated in each round so that they share the machine's state.
/// </summary>
static class FormatsBench
{
    public static int Run(string[] args)
    {
        if (args.Length < 3)
        {
            Console.Error.WriteLine("usage: Percept.Bench formats PARQUET IDX_IMAGES IDX_LABELS [--repeat N]");
            return 2;
        }
        string parquet = args[0], images = args[1], labels = args[2];
        int repeat = args.Length >= 5 && args[3] == "--repeat" ? int.Parse(args[4], System.Globalization.CultureInfo.InvariantCulture) : 3;
        Console.WriteLine($"{Environment.ProcessorCount} cores, batch 256, best of {repeat}, the formats alternated in each round");
        var readers = new (string Name, Func<(long Samples, double Checksum)> Read)[]
        {
            ("IDX (.gz), decoded bytes", () => ReadAll(new IdxDataset(images, labels))),
            ("Parquet: the PNG bytes only (DuckDB → Arrow)", () => ReadBytes(parquet)),
            ("Parquet: PNGs decoded (TableDataset)", () => ReadAll(new TableDataset(parquet, null, null, null, () => (28, 28, 1)))),
        };
        foreach (var r in readers) r.Read(); // warm-up: JIT, DuckDB, SkiaSharp
        var best = new double[readers.Length];
        var counts = new long[readers.Length];
        var checks = new double[readers.Length];
        Array.Fill(best, double.MaxValue);
        for (int round = 0; round < repeat; round++)
            for (int i = 0; i < readers.Length; i++)
            {
                var clock = Stopwatch.StartNew();
                (counts[i], checks[i]) = readers[i].Read();
                best[i] = Math.Min(best[i], clock.Elapsed.TotalSeconds);
            }
        Console.WriteLine("| read | samples | time | samples/s |");
        Console.WriteLine("|---|---|---|---|");
        for (int i = 0; i < readers.Length; i++)
            Console.WriteLine($"| {readers[i].Name} | {counts[i]:N0} | {best[i]:F2} s | {counts[i] / best[i]:N0} |");
        if (checks[0] != checks[2]) Console.WriteLine($"the pixels differ: checksum {checks[0]} (IDX) and {checks[2]} (Parquet)");
        else Console.WriteLine("the pixels are the same (checksums equal)");
        Console.WriteLine($"peak resident memory of the process: {Paths.PeakMiB():N0} MiB");
        return 0;
    }

    static (long, double) ReadAll(IDataset dataset)
    {
        using (dataset)
        {
            long n = 0;
            double checksum = 0;
            foreach (var b in dataset.ReadBatches(256))
            {
                n += b.Count;
                for (int i = 0; i < b.Count; i++) checksum += b.Values[i * dataset.Format.Length + 300] * (b.Labels[i] + 1);
            }
            return (n, checksum);
        }
    }

    /// <summary>The image column's bytes streamed as Percept's Parquet reader streams them, not decoded: the reading alone.</summary>
    static (long, double) ReadBytes(string parquet)
    {
        using var db = new DuckDBConnection("Data Source=:memory:");
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = $"SELECT image FROM read_parquet('{parquet.Replace("'", "''")}')";
        cmd.UseStreamingMode = true;
        using var stream = cmd.ExecuteArrowStream();
        long n = 0, bytes = 0;
        while (stream.ReadNextRecordBatchAsync().AsTask().GetAwaiter().GetResult() is { } batch)
            using (batch)
            {
                var image = (Apache.Arrow.StructArray)batch.Column(0);
                var data = (Apache.Arrow.BinaryArray)image.Fields[0];
                for (int i = 0; i < batch.Length; i++) bytes += data.GetBytes(i).Length;
                n += batch.Length;
            }
        return (n, bytes);
    }
}
