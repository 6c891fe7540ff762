namespace Percept.Core;

/// <summary>
/// A problem with what the user gave Percept (a missing file, a corrupt dataset, a model that does not fit the data).
/// Its message is one line meant for the user; the CLI prints it without a stack trace and exits non-zero.
/// </summary>
public sealed class PerceptException : Exception
{
    public PerceptException(string message) : base(message) { }
    public PerceptException(string message, Exception inner) : base(message, inner) { }
}
