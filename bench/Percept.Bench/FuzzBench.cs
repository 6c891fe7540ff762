using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using Percept;
using Percept.Data;
using Percept.Model;
using SkiaSharp;

/// <summary>
/// Seeded mutation fuzzing of Percept's readers: valid IDX, NPY, CSV, PNG and ONNX files are mutated (bit flips,
/// interesting bytes, header fields overwritten, chunks cut, repeated or truncated) and each mutant is read through the
/// same route an analysis takes. A reader may accept a mutant or refuse it with a PerceptException; any other exception
/// is a crash, and a read that does not finish in time a hang. Crashes are printed with their seed, to join
/// tests/corpus/.
/// </summary>
static class FuzzBench
{
    public static int Run(string[] args)
    {
        int perFormat = 300;
        ulong seed = 1;
        bool verbose = args.Contains("--verbose");
        for (int i = 0; i + 1 < args.Length; i++)
        {
            if (args[i] == "--cases") perFormat = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
            if (args[i] == "--seed") seed = ulong.Parse(args[i + 1], CultureInfo.InvariantCulture);
        }
        string dir = Path.Combine(Path.GetTempPath(), $"percept-fuzz-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        try
        {
            var formats = new (string Name, string Extension, byte[] Seed, Action<string> Read)[]
            {
                ("IDX", ".idx", Idx(), path => ReadAll(new DataSource { Path = path }, [1, 28, 28])),
                ("IDX.gz", ".idx.gz", Gzip(Idx()), path => ReadAll(new DataSource { Path = path }, [1, 28, 28])),
                ("NPY", ".npy", Npy(), path => ReadAll(new DataSource { Path = path }, [1, 28, 28])),
                ("CSV", ".csv", Csv(), path => ReadAll(new DataSource { Path = path }, [4])),
                ("PNG", ".png", Png(), path => ReadImage(path)),
                ("ONNX", ".onnx", File.ReadAllBytes(Path.Combine(Paths.Root, "models", "fmnist-cnn", "epoch-5.onnx")), path => ReadModel(path)),
            };
            Console.WriteLine($"| format | mutants | accepted | refused (PerceptException) | crashes | hangs | seconds |");
            Console.WriteLine($"|---|---|---|---|---|---|---|");
            int crashes = 0, hangs = 0;
            foreach (var (name, extension, original, read) in formats)
            {
                var clock = Stopwatch.StartNew();
                int accepted = 0, refused = 0, crashed = 0, hung = 0;
                var reasons = new Dictionary<string, int>();
                // The unmutated seed must read: otherwise every mutant would be refused for the seed's fault.
                string check = name == "PNG" ? Path.Combine(dir, "seed-images", "a", "x.png") : Path.Combine(dir, "seed" + extension);
                Directory.CreateDirectory(Path.GetDirectoryName(check)!);
                File.WriteAllBytes(check, original);
                read(name == "PNG" ? Path.Combine(dir, "seed-images") : check);
                var rng = new Random((int)(seed * 1_000_003 + (ulong)name.Length));
                for (int c = 0; c < perFormat; c++)
                {
                    var mutant = Mutate(original, rng);
                    string path = Path.Combine(dir, $"m{c}{extension}");
                    if (name == "PNG")
                    {
                        // An image folder: one class folder holding the mutant.
                        path = Path.Combine(dir, $"images{c}", "a", "x.png");
                        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                    }
                    File.WriteAllBytes(path, mutant);
                    var task = Task.Run(() => read(name == "PNG" ? Path.Combine(dir, $"images{c}") : path));
                    try
                    {
                        if (!task.Wait(TimeSpan.FromSeconds(20))) { hung++; Console.Error.WriteLine($"HANG {name} case {c} (seed {seed})"); continue; }
                        accepted++;
                    }
                    catch (AggregateException e) when (e.InnerException is PerceptException p)
                    {
                        refused++;
                        string reason = System.Text.RegularExpressions.Regex.Replace(p.Message.Replace(dir, ""), @"[0-9][0-9,]*", "N");
                        reasons[reason[..Math.Min(70, reason.Length)]] = reasons.GetValueOrDefault(reason[..Math.Min(70, reason.Length)]) + 1;
                    }
                    catch (AggregateException e)
                    {
                        crashed++;
                        var inner = e.InnerException!;
                        string keep = Path.Combine(dir, "..", $"percept-fuzz-crash-{name}-{seed}-{c}{extension}");
                        File.WriteAllBytes(keep, mutant);
                        Console.Error.WriteLine($"CRASH {name} case {c} (seed {seed}): {inner.GetType().Name}: {inner.Message.Split('\n')[0]} — kept as {keep}");
                    }
                    finally
                    {
                        if (name == "PNG") Directory.Delete(Path.Combine(dir, $"images{c}"), true); else File.Delete(path);
                    }
                }
                crashes += crashed; hangs += hung;
                if (verbose)
                    foreach (var (reason, n) in reasons.OrderByDescending(r => r.Value).Take(6)) Console.Error.WriteLine($"  {name}: {n} × {reason}");
                Console.WriteLine($"| {name} | {perFormat} | {accepted} | {refused} | {crashed} | {hung} | {clock.Elapsed.TotalSeconds:F1} |");
            }
            Console.WriteLine($"seed {seed}: {crashes} crashes, {hangs} hangs");
            return crashes + hangs > 0 ? 1 : 0;
        }
        finally { Directory.Delete(dir, true); }
    }

    static void ReadAll(DataSource source, int[] modelSample)
    {
        using var dataset = source.Open(modelSample, new PreprocessOptions());
        var pre = new Preprocessor(dataset.Format, modelSample, new PreprocessOptions());
        var x = new float[256 * pre.InputLength];
        foreach (var b in dataset.ReadBatches(256)) pre.Apply(b.Values, dataset.Format.Length, b.Count, x);
        if (dataset.Count > 0) dataset.ReadSample(dataset.Count - 1);
    }

    static void ReadImage(string folder) => ReadAll(new DataSource { Path = folder, Strict = true }, [1, 28, 28]);

    static void ReadModel(string path)
    {
        var model = OnnxModel.Load(path);
        var input = model.SelectInput(null);
        string output = model.SelectOutput(null);
        int[] sample = input.Shape.Skip(1).Select(d => d > 0 ? (int)d : 1).ToArray();
        _ = model.PerceptionLayers;
        using var runner = new ModelRunner(model, input, sample, [new Fetch(output)]);
        using var r = runner.Run(new float[(runner.FixedBatch ?? 1) * sample.Aggregate(1, (a, b) => a * b)], 1);
    }

    /// <summary>One to four mutations of a copy of <paramref name="original"/>.</summary>
    static byte[] Mutate(byte[] original, Random rng)
    {
        var data = new List<byte>(original);
        int count = 1 + rng.Next(4);
        byte[] interesting = [0x00, 0xFF, 0x7F, 0x80, 0x01, 0xFE];
        for (int m = 0; m < count && data.Count > 0; m++)
        {
            int at = rng.Next(data.Count);
            // Headers are where readers trust most: half of the mutations land in the first 64 bytes.
            if (rng.NextDouble() < 0.5) at = rng.Next(Math.Min(64, data.Count));
            switch (rng.Next(7))
            {
                case 0: data[at] ^= (byte)(1 << rng.Next(8)); break;
                case 1: data[at] = interesting[rng.Next(interesting.Length)]; break;
                case 2: // a 32-bit field overwritten with an extreme value
                {
                    var field = new byte[4];
                    BinaryPrimitives.WriteInt32BigEndian(field, rng.Next(3) switch { 0 => int.MaxValue, 1 => -1, _ => 65536 });
                    for (int k = 0; k < 4 && at + k < data.Count; k++) data[at + k] = field[k];
                    break;
                }
                case 3: data.RemoveRange(at, Math.Min(data.Count - at, 1 + rng.Next(256))); break;
                case 4: data.InsertRange(at, data.GetRange(at, Math.Min(data.Count - at, 1 + rng.Next(256)))); break;
                case 5: data.RemoveRange(at, data.Count - at); break; // truncated
                default: data.InsertRange(at, Enumerable.Range(0, 1 + rng.Next(16)).Select(_ => (byte)rng.Next(256))); break;
            }
        }
        return [.. data];
    }

    static byte[] Idx()
    {
        var b = new List<byte> { 0, 0, 0x08, 3 };
        foreach (int d in new[] { 20, 28, 28 }) { var f = new byte[4]; BinaryPrimitives.WriteInt32BigEndian(f, d); b.AddRange(f); }
        b.AddRange(Enumerable.Range(0, 20 * 784).Select(i => (byte)(i * 31 % 256)));
        return [.. b];
    }

    static byte[] Gzip(byte[] data)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest)) gz.Write(data);
        return ms.ToArray();
    }

    static byte[] Npy()
    {
        string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (20, 28, 28), }";
        header += new string(' ', (64 - (10 + header.Length + 1) % 64) % 64) + "\n";
        var b = new List<byte> { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0, (byte)(header.Length & 0xFF), (byte)(header.Length >> 8) };
        b.AddRange(System.Text.Encoding.ASCII.GetBytes(header));
        b.AddRange(Enumerable.Range(0, 20 * 784).SelectMany(i => BitConverter.GetBytes(i % 97 / 97f)));
        return [.. b];
    }

    static byte[] Csv() => System.Text.Encoding.UTF8.GetBytes("a,b,c,d,label\n" + string.Concat(Enumerable.Range(0, 30).Select(i => $"{i % 5},{i % 7 * 0.5},{i % 3},{-i},{i % 3}\n")));

    static byte[] Png()
    {
        using var bitmap = new SKBitmap(28, 28, SKColorType.Gray8, SKAlphaType.Opaque);
        for (int y = 0; y < 28; y++) for (int x = 0; x < 28; x++) bitmap.SetPixel(x, y, new SKColor((byte)(x * 9), (byte)(x * 9), (byte)(x * 9)));
        using var image = SKImage.FromBitmap(bitmap);
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        return png.ToArray();
    }
}
