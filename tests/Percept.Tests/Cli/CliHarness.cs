using Percept.Cli;

namespace Percept.Tests.Cli;

/// <summary>The command line run in-process, as a user types it: exit code, stdout and stderr.</summary>
static class CliHarness
{
    public static (int Code, string Out, string Err) Percept(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = CommandLine.Run(args, o, e, CancellationToken.None);
        return (code, o.ToString(), e.ToString());
    }

    /// <summary>The one line a mistake gives on stderr (asserted to be one line, with no stack trace).</summary>
    public static string OneLineError(string err)
    {
        var lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("error: ", lines[0]);
        Assert.DoesNotContain("   at ", err);
        return lines[0];
    }
}
