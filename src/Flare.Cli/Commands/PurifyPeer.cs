using System.Diagnostics;
using System.Text.Json;
using Flare.Experiments;
using Flare.Training;

namespace Flare.Cli.Commands;

/// <summary>Runs bench/pytorch_purify.py on the images Flare used and reads its stage times.</summary>
internal static class PurifyPeer
{
    public static (string Name, PurifyStageTimes Times) Run(string python, string script, string input, TrainingOptions training)
    {
        var start = new ProcessStartInfo(python)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(Path.GetFullPath(script))!,
        };
        foreach (var argument in new[] { Path.GetFileName(script), "--data", Path.GetFullPath(input), "--width", $"{training.Width}", "--epochs", $"{training.Epochs}", "--batch", $"{training.BatchSize}", "--seed", $"{training.Seed}" })
            start.ArgumentList.Add(argument);
        // The allocator settings Flare gives itself (TorchRuntime), so both sides reuse freed activation buffers alike.
        start.Environment["MALLOC_MMAP_THRESHOLD_"] = $"{1 << 30}";
        start.Environment["MALLOC_TRIM_THRESHOLD_"] = $"{1 << 30}";
        // And the OpenMP wait policy Flare chose for the machine's load: spinning threads under load
        // would slow the peer several times over (docs/benchmarks.md), which is no fair comparison.
        foreach (var (name, value) in Native.TorchRuntime.OpenMpEnvironment)
            start.Environment[name] = value;
        using var process = Process.Start(start) ?? throw new FlareException($"--python: {python} could not be started");
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new FlareException($"the PyTorch peer ({script}) failed: {error.Result.Trim().Split('\n')[^1]}");
        using var json = JsonDocument.Parse(output.Trim().Split('\n')[^1]);
        var root = json.RootElement;
        var seconds = root.GetProperty("seconds");
        return (root.GetProperty("peer").GetString()!, new PurifyStageTimes(
            seconds.GetProperty("training").GetDouble(), seconds.GetProperty("extraction").GetDouble(), seconds.GetProperty("embedding").GetDouble(),
            null, root.GetProperty("train_accuracy").GetDouble(), root.GetProperty("train_images_per_second").GetDouble()));
    }
}
