namespace Flare.Cli.Terminal;

/// <summary>
/// Runs a command's body and turns failures into one line on standard error and a non-zero exit:
/// 1 for bad input (a <see cref="FlareException"/>), 70 for a bug. FLARE_DEBUG=1 adds the stack trace.
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
        catch (FlareException e)
        {
            Report($"error: {e.Message}", e);
            return InputError;
        }
        catch (OperationCanceledException e)
        {
            Report("cancelled", e);
            return InputError;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Report($"error: {e.Message}", e);
            return InputError;
        }
        catch (Exception e)
        {
            Report($"internal error: {e.GetType().Name}: {e.Message.Split('\n')[0]} (set FLARE_DEBUG=1 for details)", e);
            return InternalError;
        }
    }

    private static void Report(string line, Exception e)
    {
        Console.Error.WriteLine($"flare: {line}");
        if (Environment.GetEnvironmentVariable("FLARE_DEBUG") == "1") Console.Error.WriteLine(e);
    }
}
