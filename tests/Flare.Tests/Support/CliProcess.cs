using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Flare.Tests.Support;

public sealed record CliResult(int ExitCode, string Output, string Error);

/// <summary>Runs the real `flare` CLI (flare.dll copied beside the tests) in its own process.</summary>
public static partial class CliProcess
{
    public const int SigInt = 2;
    public const int SigTerm = 15;

    public static CliResult Run(params string[] arguments) => RunWith(null, arguments);

    /// <summary>Runs with extra environment variables (e.g. the output layer's write-failure injection).</summary>
    public static CliResult RunWith(IReadOnlyDictionary<string, string>? environment, params string[] arguments)
    {
        using var process = Process.Start(StartInfo(environment, arguments))!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        return new CliResult(process.ExitCode, output.Result, error.Result);
    }

    /// <summary>
    /// Starts the CLI, waits until <paramref name="ready"/> (given the standard error so far) holds,
    /// sends <paramref name="signal"/> and waits for the exit. A run that ends first is returned as it ended.
    /// </summary>
    public static CliResult RunInterrupted(int signal, Func<string, bool> ready, params string[] arguments)
    {
        using var process = new Process { StartInfo = StartInfo(null, arguments) };
        var output = new StringBuilder();
        var error = new StringBuilder();
        process.OutputDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { lock (error) error.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var clock = Stopwatch.StartNew();
        while (!process.HasExited && clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            string soFar;
            lock (error) soFar = error.ToString();
            if (ready(soFar))
            {
                Assert.Equal(0, Kill(process.Id, signal));
                break;
            }
            Thread.Sleep(20);
        }
        process.WaitForExit();
        lock (error) lock (output) return new CliResult(process.ExitCode, output.ToString(), error.ToString());
    }

    private static readonly Lock ConsoleGate = new();

    /// <summary>
    /// Runs the CLI's entry point inside the test process with the console captured: the same code
    /// as <see cref="Run"/> without a process start, for the many runs that fail before any work.
    /// One at a time, since the console is process-wide.
    /// </summary>
    public static CliResult RunInProcess(params string[] arguments)
    {
        var entry = typeof(Flare.Cli.Terminal.CommandRunner).Assembly.EntryPoint!;
        lock (ConsoleGate)
        {
            var (output, error) = (Console.Out, Console.Error);
            using var capturedOutput = new StringWriter();
            using var capturedError = new StringWriter();
            Console.SetOut(capturedOutput);
            Console.SetError(capturedError);
            try
            {
                var exit = (int)entry.Invoke(null, [arguments])!;
                return new CliResult(exit, capturedOutput.ToString(), capturedError.ToString());
            }
            finally
            {
                Console.SetOut(output);
                Console.SetError(error);
            }
        }
    }

    /// <summary>Asserts the run failed with exactly one error line that mentions <paramref name="expected"/>.</summary>
    public static void AssertOneLineError(CliResult result, string expected)
    {
        Assert.True(result.ExitCode != 0, $"expected a failure mentioning '{expected}', but the command succeeded:\n{result.Output}\n{result.Error}");
        var lines = ErrorLines(result);
        Assert.Single(lines);
        Assert.Contains(expected, lines[0]);
        Assert.DoesNotContain("   at ", result.Error);
        Assert.DoesNotContain("Exception", result.Error);
    }

    /// <summary>The lines of standard error that the CLI's error reporting wrote ("flare: ...").</summary>
    public static string[] ErrorLines(CliResult result) => result.Error
        .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        .Where(line => line.StartsWith("flare:", StringComparison.Ordinal))
        .ToArray();

    private static ProcessStartInfo StartInfo(IReadOnlyDictionary<string, string>? environment, string[] arguments)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "flare.dll"));
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        info.Environment.Remove("FLARE_DEBUG");
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) info.Environment[name] = value;
        return info;
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
