using Percept.Cli.Commands;

namespace Percept.Cli;

/// <summary>
/// The <c>percept</c> command: dispatches to a command and turns every failure into one line on stderr and an exit
/// code (0 ok, 1 bad input, 2 bad command line, 130 interrupted, 70 internal error). Set PERCEPT_DEBUG=1 for stack traces.
/// </summary>
public static class CommandLine
{
    public const int Ok = 0, BadInput = 1, BadUsage = 2, Internal = 70, Interrupted = 130;

    /// <summary>Every command, in the order the overview lists them; each is defined once, in its own file.</summary>
    internal static readonly CommandSpec[] Commands =
    [
        AnalyzeCommand.Spec, MergeCommand.Spec, PlaceCommand.Spec, WatchCommand.Spec, ExportCommand.Spec, LayersCommand.Spec, InfoCommand.Spec, PlotCommand.Spec, ExplainCommand.Spec, ProjectCommand.Spec,
        NeighborsCommand.Spec, BenchCommand.Spec, InsightsCommand.Spec, CompareCommand.Spec, ServeCommand.Spec, ReportCommand.Spec, DemoCommand.Spec, SchemaCommand.Spec,
    ];

    /// <summary>What 'percept --help' prints: every command with its one-line summary.</summary>
    internal static string Overview()
    {
        var text = new System.Text.StringBuilder("percept — how a trained model perceives its data\n\nCommands:\n");
        foreach (var c in Commands) text.AppendLine($"  {c.Name,-9} {c.Summary}");
        text.AppendLine().AppendLine("'percept COMMAND --help' shows a command's options. Shell completions: 'percept [suggest] PARTIAL' (dotnet-suggest).");
        return CommandSpec.Wrap(text.ToString().TrimEnd(), CommandSpec.TerminalWidth());
    }

    /// <summary>All commands as one System.CommandLine tree (for completions).</summary>
    static System.CommandLine.RootCommand Root()
    {
        var root = new System.CommandLine.RootCommand("percept — how a trained model perceives its data");
        foreach (var c in Commands) root.Subcommands.Add(c.Build().Command);
        return root;
    }

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        using var cancel = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; cancel.Cancel(); };
        Console.CancelKeyPress += onCancel;
        // SIGTERM (a service manager, `kill`) stops the same way as Ctrl+C: the dashboard shuts down, an analysis leaves no partial run.
        using var term = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c => { c.Cancel = true; cancel.Cancel(); });
        try { return Run(args, stdout, stderr, cancel.Token); }
        finally { Console.CancelKeyPress -= onCancel; }
    }

    /// <summary>The command line's words for the library's options and operations: its flags and commands.</summary>
    sealed class Vocabulary : Terms.IVocabulary
    {
        public string? OptionName(string key) => "--" + key;
        public string? CommandName(string key, string? argument) => key == "checkpoints"
            ? "'percept analyze --checkpoints'" : $"'percept {key}{(argument != null ? " " + argument : "")}'";
    }

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        using var words = Terms.Use(new Vocabulary());
        if (args.Length == 0 || args[0] is "--help" or "-h" or "help") { stdout.WriteLine(Overview()); return args.Length == 0 ? BadUsage : Ok; }
        if (args[0] is "--version") { stdout.WriteLine($"percept {Analysis.Version}"); return Ok; }
        if (args[0].StartsWith("[suggest", StringComparison.Ordinal))
            return Root().Parse(args).Invoke(new System.CommandLine.InvocationConfiguration { Output = stdout, Error = stderr });
        var command = Commands.FirstOrDefault(c => c.Name == args[0]);
        if (command == null)
        {
            stderr.WriteLine($"error: unknown command '{args[0]}' (commands: {string.Join(", ", Commands.Select(c => c.Name))})");
            return BadUsage;
        }
        var rest = args[1..];
        if (rest.Contains("--help") || rest.Contains("-h")) { stdout.WriteLine(command.Help()); return Ok; }
        try
        {
            return command.Run(Arguments.Parse(command, rest), stdout, stderr, cancellationToken);
        }
        catch (UsageException e)
        {
            stderr.WriteLine($"error: {e.Message} (see 'percept {args[0]} --help')");
            return BadUsage;
        }
        catch (PerceptException e)
        {
            stderr.WriteLine($"error: {e.Message}");
            Debug(stderr, e);
            return BadInput;
        }
        catch (OperationCanceledException)
        {
            stderr.WriteLine("interrupted: nothing was written");
            return Interrupted;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"error: {e.Message}");
            Debug(stderr, e);
            return BadInput;
        }
        catch (Exception e)
        {
            stderr.WriteLine($"internal error: {e.GetType().Name}: {e.Message.Split('\n')[0]} (set PERCEPT_DEBUG=1 for details)");
            Debug(stderr, e);
            return Internal;
        }
    }

    static void Debug(TextWriter stderr, Exception e)
    {
        if (Environment.GetEnvironmentVariable("PERCEPT_DEBUG") == "1") stderr.WriteLine(e);
    }
}
