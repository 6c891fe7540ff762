using System.CommandLine;
using System.Text;

namespace Percept.Cli;

/// <summary>An option of a command: its name without dashes, the placeholder of its value (null for a flag), its help.</summary>
/// <param name="Group">The heading it is listed under in the help (null: "Options").</param>
/// <param name="Many">The option takes one or more values (<c>--checkpoints a.onnx b.onnx</c>).</param>
public sealed record OptionSpec(string Name, string? Value, string Help, string? Group = null, bool Many = false)
{
    public bool IsFlag => Value == null;
}

/// <summary>The positional arguments of a command: a placeholder, its help, and how many it takes (the command says what is missing; more than <paramref name="Max"/> is a usage error).</summary>
public sealed record ArgumentSpec(string Name, string Help, int Min, int Max);

/// <summary>
/// One command's one definition: its name, what it does, its arguments and options with their help, and what runs it.
/// The parser (System.CommandLine), the help text and shell completions are all made from it, so the help cannot
/// go stale.
/// </summary>
public sealed class CommandSpec
{
    public required string Name { get; init; }
    /// <summary>One line for the overview of every command.</summary>
    public required string Summary { get; init; }
    /// <summary>The usage lines (the first is the usual form).</summary>
    public required string[] Synopsis { get; init; }
    /// <summary>What the command does, in prose (may be empty).</summary>
    public string Description { get; init; } = "";
    public ArgumentSpec? Arguments { get; init; }
    public OptionSpec[] Options { get; init; } = [];
    /// <summary>Notes printed after the options.</summary>
    public string Epilogue { get; init; } = "";
    public required Func<Arguments, TextWriter, TextWriter, CancellationToken, int> Run { get; init; }

    /// <summary>The help text: synopsis, description, the arguments and options grouped, and the epilogue.</summary>
    public string Help()
    {
        var text = new StringBuilder();
        foreach (var line in Synopsis) text.AppendLine(line);
        if (Description.Length > 0) text.AppendLine().AppendLine(Description.TrimEnd());
        var rows = new List<(string Group, string Left, string Help)>();
        if (Arguments is { } args) rows.Add(("Arguments", args.Name, args.Help));
        foreach (var o in Options) rows.Add((o.Group ?? "Options", o.IsFlag ? $"--{o.Name}" : $"--{o.Name} {o.Value}", o.Help));
        int width = rows.Count == 0 ? 0 : Math.Min(28, rows.Max(r => r.Left.Length) + 2);
        foreach (var group in rows.GroupBy(r => r.Group))
        {
            text.AppendLine().AppendLine($"{group.Key}:");
            foreach (var (_, left, help) in group)
            {
                var lines = help.Split('\n');
                if (left.Length + 2 > width) { text.AppendLine($"  {left}"); text.AppendLine($"  {new string(' ', width)}{lines[0]}"); }
                else text.AppendLine($"  {left.PadRight(width)}{lines[0]}");
                foreach (var more in lines.Skip(1)) text.AppendLine($"  {new string(' ', width)}{more}");
            }
        }
        if (Epilogue.Length > 0) text.AppendLine().AppendLine(Epilogue.TrimEnd());
        return text.ToString().TrimEnd();
    }

    /// <summary>The System.CommandLine command of this definition, with the symbols that parse each option.</summary>
    internal (Command Command, Dictionary<string, Option> Options, Argument<string[]>? Arguments) Build()
    {
        var command = new Command(Name, Summary);
        var options = new Dictionary<string, Option>(StringComparer.Ordinal);
        foreach (var o in Options)
        {
            Option option = o.IsFlag
                ? new Option<bool>("--" + o.Name) { Description = o.Help, Arity = ArgumentArity.Zero }
                : o.Many
                    ? new Option<string[]>("--" + o.Name) { Description = o.Help, HelpName = o.Value, Arity = ArgumentArity.OneOrMore, AllowMultipleArgumentsPerToken = true }
                    : new Option<string>("--" + o.Name) { Description = o.Help, HelpName = o.Value, Arity = ArgumentArity.ExactlyOne };
            command.Options.Add(option);
            options[o.Name] = option;
        }
        Argument<string[]>? arguments = null;
        if (Arguments is { } a)
        {
            arguments = new Argument<string[]>(a.Name) { Description = a.Help, Arity = ArgumentArity.ZeroOrMore };
            command.Arguments.Add(arguments);
        }
        return (command, options, arguments);
    }
}
