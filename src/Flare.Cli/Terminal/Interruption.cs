using System.Runtime.InteropServices;
using Flare.IO;

namespace Flare.Cli.Terminal;

/// <summary>
/// SIGINT and SIGTERM end a run cleanly: staged outputs are deleted, one line "cancelled" is
/// printed, and the exit code is the shell's 128 + signal (130, 143), so a rerun starts afresh.
/// </summary>
internal static class Interruption
{
    public const int InterruptExit = 130;
    public const int TerminateExit = 143;

    private static int stopping;

    public static IDisposable Register() => new Registrations(
    [
        PosixSignalRegistration.Create(PosixSignal.SIGINT, context => Stop(context, InterruptExit)),
        PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => Stop(context, TerminateExit)),
    ]);

    private static void Stop(PosixSignalContext context, int exitCode)
    {
        context.Cancel = true;
        if (Interlocked.Exchange(ref stopping, 1) == 1) return;
        OutputFiles.Abandon();
        Console.Error.WriteLine("flare: cancelled");
        Console.Error.Flush();
        // _exit, not Environment.Exit: an orderly exit runs libtorch's static destructors while a
        // worker thread may still be inside libtorch, which then prints an internal error after "cancelled".
        ImmediateExit(exitCode);
    }

    [DllImport("libc", EntryPoint = "_exit")]
    private static extern void ImmediateExit(int status);

    private sealed class Registrations(PosixSignalRegistration[] registrations) : IDisposable
    {
        public void Dispose()
        {
            foreach (var registration in registrations) registration.Dispose();
        }
    }
}
