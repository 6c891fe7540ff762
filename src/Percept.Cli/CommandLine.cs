using Percept.Cli.Commands;

namespace Percept.Cli;

/// <summary>
/// The <c>percept</c> command: dispatches to a command and turns every failure into one line on stderr and an exit
/// code (0 ok, 1 bad input, 2 bad command line, 130 interrupted, 70 internal error). Set PERCEPT_DEBUG=1 for stack traces.
/// </summary>
public static class CommandLine
{
    public const int Ok = 0, BadInput = 1, BadUsage = 2, Internal = 70, Interrupted = 130;

    static readonly Dictionary<string, (string Usage, Func<string[], TextWriter, TextWriter, CancellationToken, int> Run)> Commands = new()
    {
        ["analyze"] = (AnalyzeCommand.Usage, AnalyzeCommand.Run),
        ["export"] = (ExportCommand.Usage, ExportCommand.Run),
        ["layers"] = (LayersCommand.Usage, LayersCommand.Run),
        ["info"] = (InfoCommand.Usage, InfoCommand.Run),
        ["project"] = (ProjectCommand.Usage, ProjectCommand.Run),
        ["neighbors"] = (NeighborsCommand.Usage, NeighborsCommand.Run),
        ["bench"] = (BenchCommand.Usage, BenchCommand.Run),
        ["plot"] = (PlotCommand.Usage, PlotCommand.Run),
        ["explain"] = (ExplainCommand.Usage, ExplainCommand.Run),
        ["demo"] = (DemoCommand.Usage, DemoCommand.Run),
        ["serve"] = (ServeCommand.Usage, ServeCommand.Run),
        ["report"] = (ReportCommand.Usage, ReportCommand.Run),
    };

    const string Overview = """
        percept — how a trained model perceives its data

        Commands:
          analyze   run an ONNX model over a dataset and store a run (results, layer activations, perception vectors)
          export    write one field of a run to .npy, .csv or .parquet
          layers    list a model's layers with op type, output shape and parameter count
          info      summarise a run
          plot      draw a run's map as a PNG, coloured by any column
          explain   heat maps of what drives the model's output for one sample (Grad-CAM, saliency, integrated gradients, occlusion, …)
          project   map any float32 .npy matrix to 2-D or 3-D (UMAP, t-SNE, PCA)
          neighbors k nearest neighbours of any float32 .npy matrix (NN-descent, graph search, exact)
          bench     'percept bench maps': neighbours and maps of all 70k Fashion-MNIST images, timed and scored
          serve     the web dashboard over one or more runs
          report    the dashboard as one self-contained HTML file
          demo      analyse the bundled Fashion-MNIST demo and open its dashboard

        'percept COMMAND --help' shows a command's options.
        """;

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

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        if (args.Length == 0 || args[0] is "--help" or "-h" or "help") { stdout.WriteLine(Overview); return args.Length == 0 ? BadUsage : Ok; }
        if (args[0] is "--version") { stdout.WriteLine($"percept {Analysis.Version}"); return Ok; }
        if (!Commands.TryGetValue(args[0], out var command))
        {
            stderr.WriteLine($"error: unknown command '{args[0]}' (commands: {string.Join(", ", Commands.Keys)})");
            return BadUsage;
        }
        var rest = args[1..];
        if (rest.Contains("--help") || rest.Contains("-h")) { stdout.WriteLine(command.Usage); return Ok; }
        try
        {
            return command.Run(rest, stdout, stderr, cancellationToken);
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
