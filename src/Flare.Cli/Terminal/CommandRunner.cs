using Flare.IO;

namespace Flare.Cli.Terminal;

/// <summary>
/// Runs a command's body and turns failures into one line on standard error and a non-zero exit:
/// 1 for bad input or a failed write (a <see cref="FlareException"/>, an I/O error), 70 for a bug.
/// FLARE_DEBUG=1 adds the stack trace.
/// </summary>
public static class CommandRunner
{
    public const int InputError = 1;
    public const int InternalError = 70;

    public static int Run(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception caught)
        {
            // Parallel writers wrap the real failure: "disk full" must read as disk full.
            var e = Unwrap(caught);
            switch (e)
            {
                case FlareException:
                    Report($"error: {e.Message}", caught);
                    return InputError;
                case OperationCanceledException:
                    Report("cancelled", caught);
                    return InputError;
                case IOException or UnauthorizedAccessException:
                    Report($"error: {OutputFiles.InUserTerms(e.Message)}", caught);
                    return InputError;
                default:
                    Report($"internal error: {e.GetType().Name}: {e.Message.Split('\n')[0]} (set FLARE_DEBUG=1 for details)", caught);
                    return InternalError;
            }
        }
    }

    private static Exception Unwrap(Exception e)
    {
        while (e is AggregateException { InnerExceptions.Count: > 0 } aggregate)
            e = aggregate.InnerExceptions.FirstOrDefault(inner => inner is not OperationCanceledException) ?? aggregate.InnerExceptions[0];
        return e;
    }

    private static void Report(string line, Exception e)
    {
        Console.Error.WriteLine($"flare: {line}");
        if (Environment.GetEnvironmentVariable("FLARE_DEBUG") == "1") Console.Error.WriteLine(e);
    }
}
