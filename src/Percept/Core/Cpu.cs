using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Percept.Core;

/// <summary>
/// What the CPU is and which kernel paths Percept takes on it, decided once at start-up from its features. Where a
/// kernel's best form depends on the micro-architecture (not only on the instruction set), the choice is named here,
/// can be forced with an environment variable, and every path gives the same results (tests pin them together).
/// </summary>
public static class Cpu
{
    /// <summary>The model name the operating system reports (<c>/proc/cpuinfo</c>), or the vendor.</summary>
    public static string Model { get; } = ReadModel();

    /// <summary>x86 vendor, family and model from CPUID (empty elsewhere).</summary>
    public static (string Vendor, int Family, int Model) Id { get; } = ReadId();

    /// <summary>
    /// Whether AVX2 gathers are slow here, so that UMAP's negative samples are better loaded one by one into the vector:
    /// AMD family 17h (Zen, Zen+, Zen 2; Hygon's 18h is Zen 1), where a 256-bit gather is microcoded into a dozen or
    /// more micro-ops and issues about once every nine cycles, against four scalar loads and two inserts. Intel CPUs
    /// from Skylake to Tiger Lake with the Downfall (GDS) microcode mitigation also gather slowly; they are not
    /// recognised here: PERCEPT_GATHER=loads (or =hardware) forces a choice, with the same results either way.
    /// </summary>
    public static bool SlowGathers { get; } = Environment.GetEnvironmentVariable("PERCEPT_GATHER") switch
    {
        "hardware" => false,
        "loads" => true,
        _ => Id.Vendor is "AuthenticAMD" or "HygonGenuine" && Id.Family is 0x17 or 0x18,
    };

    /// <summary>CPUs online on the machine (<c>/sys/devices/system/cpu/online</c>; elsewhere the CPUs this process may use).</summary>
    public static int Online { get; } = ReadOnline();

    /// <summary>
    /// The intra-op threads to give ONNX Runtime for <paramref name="requested"/> (0: its default). Left to itself, ONNX
    /// Runtime makes a thread per physical core of the machine and pins each to its core, outside the CPUs the process was
    /// given (<c>taskset</c>, a scheduler's affinity mask): a process held to fewer CPUs than the machine has online gets
    /// one thread per CPU it may use instead, which ONNX Runtime does not pin.
    /// </summary>
    public static int IntraOpThreads(int requested) => IntraOpThreads(requested, Environment.ProcessorCount, Online);

    internal static int IntraOpThreads(int requested, int usable, int online) => requested > 0 ? requested : usable < online ? usable : 0;

    /// <summary>The CPUs in a Linux CPU list such as <c>0-3,8,10-11</c>; 0 when it cannot be read.</summary>
    internal static int CountCpuList(string list)
    {
        int count = 0;
        foreach (var part in list.Trim().Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var ends = part.Split('-');
            if (ends.Length > 2 || !int.TryParse(ends[0], out int from) || !int.TryParse(ends[^1], out int to) || to < from) return 0;
            count += to - from + 1;
        }
        return count;
    }

    static int ReadOnline()
    {
        try
        {
            const string path = "/sys/devices/system/cpu/online";
            if (File.Exists(path) && CountCpuList(File.ReadAllText(path)) is > 0 and var n) return n;
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return Environment.ProcessorCount;
    }

    /// <summary>The kernel paths taken, in a line for benchmark output.</summary>
    public static string Kernels =>
        $"vectors {(Vector512.IsHardwareAccelerated ? 512 : Vector256.IsHardwareAccelerated ? 256 : Vector128.IsHardwareAccelerated ? 128 : 0)}-bit" +
        $" (AVX2 {(Avx2.IsSupported ? "yes" : "no")}, FMA {(Fma.IsSupported ? "yes" : "no")}, AVX-512F {(Avx512F.IsSupported ? "yes" : "no")});" +
        $" UMAP negatives and t-SNE attraction: {(!Avx2.IsSupported ? "scalar" : SlowGathers ? "vector, loaded one by one (slow gathers)" : "vector, hardware gathers")};" +
        $" dot products: {(Vector256.IsHardwareAccelerated ? "2 x 4 tiles on 256-bit (NN-descent, PCA)" : "portable")};" +
        $" exact k-NN: {(Vector512.IsHardwareAccelerated ? "4 x 32 on 512-bit" : Vector256.IsHardwareAccelerated ? "4 x 16 on 256-bit" : "portable")};" +
        $" sparse projection: {(Vector256.IsHardwareAccelerated ? "256-bit columns" : "portable")}";

    /// <summary>One line: the CPU, its CPUID and the kernels.</summary>
    public static string Describe() =>
        $"cpu: {Model}{(Id.Vendor.Length > 0 ? $" ({Id.Vendor} family {Id.Family:x}h model {Id.Model:x}h)" : "")}, {Environment.ProcessorCount} cores; kernels: {Kernels}";

    static string ReadModel()
    {
        try
        {
            if (File.Exists("/proc/cpuinfo"))
                foreach (var line in File.ReadLines("/proc/cpuinfo"))
                    if (line.StartsWith("model name", StringComparison.Ordinal)) return line.Split(':', 2)[1].Trim();
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return ReadId().Vendor is { Length: > 0 } v ? v : "unknown";
    }

    static (string Vendor, int Family, int Model) ReadId()
    {
        if (!X86Base.IsSupported) return ("", 0, 0);
        var (_, ebx, ecx, edx) = X86Base.CpuId(0, 0);
        Span<byte> vendor = stackalloc byte[12];
        BitConverter.TryWriteBytes(vendor, ebx); BitConverter.TryWriteBytes(vendor[4..], edx); BitConverter.TryWriteBytes(vendor[8..], ecx);
        int eax = X86Base.CpuId(1, 0).Eax;
        int baseFamily = (eax >> 8) & 0xF, baseModel = (eax >> 4) & 0xF;
        int family = baseFamily == 0xF ? baseFamily + ((eax >> 20) & 0xFF) : baseFamily;
        int model = baseFamily is 0x6 or 0xF ? baseModel + (((eax >> 16) & 0xF) << 4) : baseModel;
        return (System.Text.Encoding.ASCII.GetString(vendor), family, model);
    }
}
