using System.CommandLine;
using System.Globalization;

namespace Percept.Cli;

/// <summary>A command line mistake: printed with the command's usage and exit code 2.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>
/// One command's parsed command line (parsed by System.CommandLine from the command's <see cref="CommandSpec"/>), with
/// typed reads whose mistakes are usage errors: options given (<c>--name value</c>, <c>--name=value</c>, <c>--flag</c>)
/// and positional arguments.
/// </summary>
public sealed class Arguments
{
    readonly Dictionary<string, string?> _options = new(StringComparer.Ordinal);
    readonly List<string> _positional = [];
    readonly Dictionary<string, string[]> _many = new(StringComparer.Ordinal);

    /// <summary>Parses <paramref name="args"/> (after the command's name) as <paramref name="spec"/> defines them.</summary>
    /// <exception cref="UsageException">An unknown option, a missing value or an extra argument.</exception>
    public static Arguments Parse(CommandSpec spec, IReadOnlyList<string> args)
    {
        var (command, options, positional) = spec.Build();
        // The command's own name goes first: System.CommandLine takes a first token whose file name is the command's
        // name (watch ckpts/watch) for the command itself, and would drop that argument.
        var result = command.Parse([spec.Name, .. args]);
        // An option the command does not know reads as an argument or an unmatched token: say it is unknown.
        var values = positional != null && result.GetResult(positional) is { } p ? p.Tokens.Select(t => t.Value).ToList() : [];
        foreach (var token in values.Concat(result.UnmatchedTokens))
            if (token.StartsWith("--", StringComparison.Ordinal) && token.Length > 2) throw new UsageException($"unknown option {token.Split('=', ':')[0]}");
        if (spec.Arguments is { } expected && values.Count > expected.Max) throw new UsageException($"unexpected argument '{values[expected.Max]}'");
        if (spec.Arguments == null && values.Count > 0) throw new UsageException($"unexpected argument '{values[0]}'");
        if (result.Errors.Count > 0)
        {
            string error = result.Errors[0].Message.TrimEnd('.');
            // System.CommandLine's words for an option given without its value.
            var missing = System.Text.RegularExpressions.Regex.Match(error, "^Required argument missing for option: '(--[^']+)'$");
            throw new UsageException(missing.Success ? $"{missing.Groups[1].Value} needs a value" : error);
        }
        var parsed = new Arguments();
        foreach (var (name, option) in options)
        {
            if (result.GetResult(option) is not { Implicit: false }) continue;
            if (option is Option<string[]> many)
            {
                parsed._many[name] = result.GetValue(many) ?? [];
                parsed._options[name] = string.Join(' ', parsed._many[name]);
            }
            else parsed._options[name] = option is Option<string> valued ? result.GetValue(valued) : null;
        }
        parsed._positional.AddRange(values);
        return parsed;
    }

    Arguments() { }

    public IReadOnlyList<string> Positional => _positional;

    public bool Has(string name) => _options.ContainsKey(name);

    public string? Get(string name) => _options.TryGetValue(name, out var v) ? v : null;

    /// <summary>Every value of an option that takes several; empty when it was not given.</summary>
    public IReadOnlyList<string> GetAll(string name) => _many.TryGetValue(name, out var v) ? v : Get(name) is { } one ? [one] : [];

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
