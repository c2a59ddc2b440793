using Flare.Tests.Support;

namespace Flare.Tests.Cli;

public class BenchCliTests
{
    [Fact]
    public void DetectionBenchChecksEveryCaseBeforeReadingDataOrWriting()
    {
        using var temp = new TempFolder();
        var output = temp.Combine("out");
        CliResult Bench(params string[] extra) =>
            CliProcess.Run(["bench", "detection", "--train", temp.Combine("missing"), "--test", temp.Combine("missing"), "--out", output, .. extra]);

        CliProcess.AssertOneLineError(Bench("--attacks", "grating,tint", "--rate", "1"), "--rate must be in (0, 1)");
        CliProcess.AssertOneLineError(Bench("--attacks", "rotated-patch,refool"), "--attack: unknown attack 'refool'");
        CliProcess.AssertOneLineError(Bench("--attacks", "tint", "--modes", "a2o,o2a"), "--mode: unknown mode 'o2a'");
        Assert.False(Directory.Exists(output));
        // Valid cases get as far as the data.
        CliProcess.AssertOneLineError(Bench("--attacks", "grating,tint,rotated-patch", "--rate", "0.05"), "missing");
    }
}
