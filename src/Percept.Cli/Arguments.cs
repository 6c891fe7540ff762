using System.Globalization;

namespace Percept.Cli;

/// <summary>A command line mistake: printed with the command's usage and exit code 2.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>
/// Parses <c>--name value</c>, <c>--name=value</c> and <c>--flag</c> options and positional arguments for one command,
/// rejecting options the command does not know.
/// </summary>
public sealed class Arguments
{
    readonly Dictionary<string, string?> _options = new(StringComparer.Ordinal);
    readonly List<string> _positional = [];
    readonly HashSet<string> _used = [];

    /// <param name="args">Arguments after the command name.</param>
    /// <param name="valueOptions">Options that take a value.</param>
    /// <param name="flags">Options that take none.</param>
    public Arguments(IEnumerable<string> args, IReadOnlyCollection<string> valueOptions, IReadOnlyCollection<string> flags)
    {
        using var e = args.GetEnumerator();
        while (e.MoveNext())
        {
            string a = e.Current;
            if (!a.StartsWith("--", StringComparison.Ordinal) || a == "--") { _positional.Add(a); continue; }
            string name = a[2..];
            string? value = null;
            int eq = name.IndexOf('=');
            if (eq >= 0) { value = name[(eq + 1)..]; name = name[..eq]; }
            if (flags.Contains(name))
            {
                if (value != null) throw new UsageException($"--{name} takes no value");
                _options[name] = null;
            }
            else if (valueOptions.Contains(name))
            {
                if (value == null)
                {
                    if (!e.MoveNext()) throw new UsageException($"--{name} needs a value");
                    value = e.Current;
                }
                _options[name] = value;
            }
            else throw new UsageException($"unknown option --{name}");
        }
    }

    public IReadOnlyList<string> Positional => _positional;

    public bool Has(string name) => _options.ContainsKey(name);

    public string? Get(string name) => _options.TryGetValue(name, out var v) ? v : null;

    public string Require(string name) => Get(name) ?? throw new UsageException($"--{name} is required");

    public int? GetInt(string name)
    {
        string? v = Get(name);
        if (v == null) return null;
        return int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int i) ? i : throw new UsageException($"--{name} takes an integer, not '{v}'");
    }

    public float? GetFloat(string name)
    {
        string? v = Get(name);
        if (v == null) return null;
        if (v.Contains('/'))
        {
            var parts = v.Split('/');
            if (parts.Length == 2 && float.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out float a)
                && float.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out float b) && b != 0) return a / b;
        }
        return float.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out float f) ? f : throw new UsageException($"--{name} takes a number, not '{v}'");
    }

    public float[]? GetFloats(string name)
    {
        string? v = Get(name);
        if (v == null) return null;
        return v.Split(',', StringSplitOptions.TrimEntries).Select(p =>
            float.TryParse(p, NumberStyles.Float, CultureInfo.InvariantCulture, out float f) ? f : throw new UsageException($"--{name} takes comma-separated numbers, not '{v}'")).ToArray();
    }

    public T GetEnum<T>(string name, T fallback) where T : struct, Enum
    {
        string? v = Get(name);
        if (v == null) return fallback;
        return Enum.TryParse<T>(v, ignoreCase: true, out var r) && Enum.IsDefined(r) ? r
            : throw new UsageException($"--{name} takes one of {string.Join(", ", Enum.GetNames<T>().Select(n => n.ToLowerInvariant()))}, not '{v}'");
    }
}
