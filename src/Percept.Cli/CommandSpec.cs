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

    /// <summary>Columns of the terminal the help is printed on: its width, or 80 when output is not a terminal.</summary>
    internal static int TerminalWidth()
    {
        try { return Console.IsOutputRedirected ? 80 : Math.Max(40, Console.WindowWidth); }
        catch (IOException) { return 80; }
    }

    /// <summary>The help text, wrapped to <see cref="TerminalWidth"/>.</summary>
    public string Help() => Wrap(RawHelp(), TerminalWidth());

    /// <summary>
    /// Lines longer than <paramref name="width"/> broken at spaces, each continuation indented as its line's text (so an
    /// option's help stays in its column); a word longer than the width stays whole.
    /// </summary>
    internal static string Wrap(string text, int width)
    {
        var output = new StringBuilder();
        foreach (var line in text.Split('\n'))
        {
            if (line.Length <= width) { output.AppendLine(line); continue; }
            int indent = line.Length - line.TrimStart().Length;
            // An option's help: continue under its text, not under the option's name.
            var column = System.Text.RegularExpressions.Regex.Match(line, @"^\s+\S.*?\s{2,}(?=\S)");
            string pad = new(' ', column.Success && column.Length < width / 2 ? column.Length : indent);
            string rest = line;
            bool first = true;
            while (rest.Length > width)
            {
                int cut = rest.LastIndexOf(' ', width);
                if (cut <= pad.Length) cut = rest.IndexOf(' ', width);
                if (cut < 0) break;
                output.AppendLine(rest[..cut].TrimEnd());
                rest = pad + rest[(cut + 1)..].TrimStart();
                first = false;
            }
            if (!first || rest.Trim().Length > 0) output.AppendLine(rest);
        }
        return output.ToString().TrimEnd();
    }

    /// <summary>
    /// A description as paragraphs, each one line (blank lines part them): its source is hard-wrapped at the code's width,
    /// and the help wraps it again at the terminal's.
    /// </summary>
    static string Reflow(string text) => string.Join("\n\n", text.Replace("\r", "").Split("\n\n", StringSplitOptions.RemoveEmptyEntries)
        .Select(p => string.Join(' ', p.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))).Where(p => p.Length > 0));

    /// <summary>The help text: synopsis, description, the arguments and options grouped, and the epilogue.</summary>
    string RawHelp()
    {
        var text = new StringBuilder();
        foreach (var line in Synopsis) text.AppendLine(line);
        if (Description.Length > 0) text.AppendLine().AppendLine(Reflow(Description));
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
