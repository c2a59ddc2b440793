namespace Flare;

/// <summary>
/// An error caused by the user's input (a path, an option, a file's content). Its message is one
/// line that names what is wrong; the CLI prints it without a stack trace.
/// </summary>
public sealed class FlareException : Exception
{
    public FlareException(string message) : base(message) { }

    public FlareException(string message, Exception inner) : base(message, inner) { }
}
