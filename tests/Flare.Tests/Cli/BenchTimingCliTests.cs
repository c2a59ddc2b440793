using System.Text.Json;
using Flare.Tests.Support;

namespace Flare.Tests.Cli;

[Collection(TorchCollection.Name)]
public class BenchTimingCliTests
{
    [Fact]
    public void TrainingBenchTimesEveryPartAndRepeatsTheSameWeights()
    {
        using var temp = new TempFolder();
        var images = SyntheticImages.Create(perClass: 16, classes: 2, height: 32, width: 32);
        var folder = SyntheticImages.WriteFolder(images, temp.Combine("data"));

        string Digest()
        {
            var run = CliProcess.Run("bench", "training", "--data", folder, "--limit", "32", "--width", "16", "--epochs", "1", "--json");
            Assert.True(run.ExitCode == 0, run.Error);
            using var summary = JsonDocument.Parse(run.Output);
            var root = summary.RootElement;
            Assert.Equal(32, root.GetProperty("images").GetInt64());
            Assert.Equal(1, root.GetProperty("steps").GetInt32());
            var parts = root.GetProperty("parts").EnumerateArray().ToList();
            Assert.Equal(["Assembly", "Copy", "Forward", "Backward", "Optimizer", "Metrics", "Release"], parts.Select(p => p.GetProperty("part").GetString()));
            Assert.Equal(1.0, parts.Sum(p => p.GetProperty("share").GetDouble()), 6);
            Assert.True(parts.Single(p => p.GetProperty("part").GetString() == "Forward").GetProperty("milliseconds_per_step").GetDouble() > 0);
            return root.GetProperty("weight_digest").GetString()!;
        }

        var first = Digest();
        Assert.Matches("^[0-9a-f]{64}$", first);
        Assert.Equal(first, Digest());
    }

    [Fact]
    public void BenchOptionsAreCheckedBeforeAnyWork()
    {
        using var temp = new TempFolder();
        CliProcess.AssertOneLineError(CliProcess.Run("bench", "purify", "--data", temp.Path, "--peer", temp.Combine("missing.py")), "not found");
        CliProcess.AssertOneLineError(CliProcess.Run("bench", "purify", "--data", temp.Path, "--peer-epochs", "0"), "--peer-epochs");
        CliProcess.AssertOneLineError(CliProcess.Run("bench", "throughput", "--layouts", "sideways"), "--layouts");
    }
}
