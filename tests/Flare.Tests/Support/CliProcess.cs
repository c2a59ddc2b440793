using System.Diagnostics;

namespace Flare.Tests.Support;

public sealed record CliResult(int ExitCode, string Output, string Error);

/// <summary>Runs the real `flare` CLI (flare.dll copied beside the tests) in its own process.</summary>
public static class CliProcess
{
    public static CliResult Run(params string[] arguments)
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
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        return new CliResult(process.ExitCode, output.Result, error.Result);
    }

    /// <summary>Asserts the run failed with exactly one error line that mentions <paramref name="expected"/>.</summary>
    public static void AssertOneLineError(CliResult result, string expected)
    {
        Assert.True(result.ExitCode != 0, $"expected a failure mentioning '{expected}', but the command succeeded:\n{result.Output}\n{result.Error}");
        var lines = result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(line => line.StartsWith("flare:", StringComparison.Ordinal))
            .ToArray();
        Assert.Single(lines);
        Assert.Contains(expected, lines[0]);
        Assert.DoesNotContain("   at ", result.Error);
        Assert.DoesNotContain("Exception", result.Error);
    }
}
