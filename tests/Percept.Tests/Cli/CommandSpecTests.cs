using System.Text.RegularExpressions;
using Percept.Cli;

namespace Percept.Tests.Cli;

/// <summary>Each command is defined once (its <see cref="CommandSpec"/>): the parser, the help and completions come from it.</summary>
public partial class CommandSpecTests
{
    [GeneratedRegex(@"\ba\.(?:Get|Has|Require|GetInt|GetFloat|GetFloats|GetEnum)\(""([a-z-]+)""")] private static partial Regex OptionRead();

    [Fact]
    public void Every_option_a_command_reads_is_in_its_definition_and_its_help()
    {
        foreach (var spec in CommandLine.Commands)
        {
            string file = Path.Combine(TestFiles.Root, "src", "Percept.Cli", "Commands", char.ToUpperInvariant(spec.Name[0]) + spec.Name[1..] + "Command.cs");
            string source = File.ReadAllText(file);
            // A command that reads its input through another command's helper reads that helper's options too.
            if (source.Contains("NeighborsCommand.LoadInput(", StringComparison.Ordinal))
            {
                string helper = File.ReadAllText(file.Replace(Path.GetFileName(file), "NeighborsCommand.cs"));
                source += helper[helper.IndexOf("static Matrix LoadInput", StringComparison.Ordinal)..];
            }
            if (source.Contains("AnalyzeCommand.Options(", StringComparison.Ordinal))
            {
                string helper = File.ReadAllText(file.Replace(Path.GetFileName(file), "AnalyzeCommand.cs"));
                int start = helper.IndexOf("internal static AnalysisOptions Options", StringComparison.Ordinal);
                source += helper[start..helper.IndexOf("        return options;", start, StringComparison.Ordinal)];
            }
            if (source.Contains("AnalyzeCommand.MapOptions(", StringComparison.Ordinal) || source.Contains("AnalyzeCommand.Options(", StringComparison.Ordinal))
            {
                string helper = File.ReadAllText(file.Replace(Path.GetFileName(file), "AnalyzeCommand.cs"));
                int start = helper.IndexOf("internal static Projection.MapOptions MapOptions", StringComparison.Ordinal);
                source += helper[start..helper.IndexOf("    };", start, StringComparison.Ordinal)];
            }
            var read = OptionRead().Matches(source).Select(m => m.Groups[1].Value).ToHashSet();
            var defined = spec.Options.Select(o => o.Name).ToHashSet();
            Assert.True(read.IsSubsetOf(defined), $"{spec.Name} reads options it does not define: {string.Join(", ", read.Except(defined))}");
            Assert.True(defined.IsSubsetOf(read), $"{spec.Name} defines options it never reads: {string.Join(", ", defined.Except(read))}");
            string help = spec.Help();
            foreach (var o in spec.Options) Assert.Contains($"--{o.Name}", help);
        }
    }

    [Fact]
    public void Help_fits_the_terminal_and_80_columns_when_there_is_none()
    {
        // Tests run with output redirected: 80 columns. Every command's help and the overview fit, words unbroken.
        Assert.Equal(80, CommandSpec.TerminalWidth());
        foreach (var text in CommandLine.Commands.Select(c => c.Help()).Append(CommandLine.Overview()))
            Assert.All(text.Split('\n'), line => Assert.True(line.Length <= 80 || !line.Trim().Contains(' '), $"{line.Length} columns: {line}"));
        // Wrapped lines keep their column: an option's help continues under its text.
        var wrapped = CommandSpec.Wrap("  --flag X     " + string.Join(" ", Enumerable.Repeat("word", 30)), 40).Split('\n');
        Assert.True(wrapped.Length > 3);
        Assert.All(wrapped.Skip(1), l => Assert.StartsWith(new string(' ', 15) + "word", l));
    }

    [Fact]
    public void Help_usage_errors_and_completions_come_from_the_definitions()
    {
        var (stdout, stderr) = (new StringWriter(), new StringWriter());
        Assert.Equal(0, CommandLine.Run(["explain", "--help"], stdout, stderr, default));
        // The method list is the registry's (wrapped to the terminal: compared with runs of spaces and line breaks as one space).
        string Flat(string s) => System.Text.RegularExpressions.Regex.Replace(s, @"\s+", " ");
        foreach (var m in Percept.Attribution.AttributionMethods.All) Assert.Contains(Flat($"{m.Name,-11} {m.Description}"), Flat(stdout.ToString()));

        stdout = new StringWriter(); stderr = new StringWriter();
        Assert.Equal(2, CommandLine.Run(["analyze", "--model"], stdout, stderr, default));
        Assert.Equal("error: --model needs a value (see 'percept analyze --help')", stderr.ToString().Trim());

        stdout = new StringWriter(); stderr = new StringWriter();
        Assert.Equal(0, CommandLine.Run(["[suggest:12]", "explain --me"], stdout, stderr, default));
        Assert.Contains("--method", stdout.ToString().Split('\n').Select(l => l.Trim()));

        stdout = new StringWriter();
        Assert.Equal(0, CommandLine.Run(["--help"], stdout, stderr, default));
        foreach (var spec in CommandLine.Commands) Assert.Contains(Flat($"  {spec.Name,-9} {spec.Summary}"), Flat(stdout.ToString()));
    }

    [Fact]
    public void A_first_argument_named_like_its_command_is_an_argument_not_the_command()
    {
        // System.CommandLine takes a first token whose file name is the root command's name for the command itself.
        var swallowed = new List<string>();
        foreach (var spec in CommandLine.Commands.Where(c => c.Arguments != null))
            foreach (string path in new[] { spec.Name, Path.Combine("some", spec.Name), Path.Combine(Path.GetTempPath(), "dir", spec.Name) })
            {
                string[][] lines = spec.Options.FirstOrDefault(o => !o.IsFlag) is { } option ? [[path], [path, "--" + option.Name, "v"]] : [[path]];
                foreach (var line in lines)
                    if (!Arguments.Parse(spec, line).Positional.SequenceEqual([path])) swallowed.Add($"{spec.Name} {string.Join(' ', line)}");
            }
        Assert.True(swallowed.Count == 0, $"arguments swallowed in: {string.Join("; ", swallowed)}");
    }
}
