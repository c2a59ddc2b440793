using Flare.Mitigation;
using Flare.Reporting;

namespace Flare.Tests.Mitigation;

public class MitigationWarningTests
{
    [Fact]
    public void ACleanModelWithAHigherAsrIsWarnedAgainst()
    {
        // (R) measured on BadNets UT: ASR 57 % before, 82 % after (docs/mitigation.md).
        var run = Run(beforeAsr: 0.5715, afterAsr: 0.817);

        Assert.NotNull(run.Warning);
        Assert.Contains("strengthened the backdoor", run.Warning);
        Assert.Contains("**Warning:", MitigationReport.Markdown(run));
    }

    [Theory]
    [InlineData(0.99, 0.08)]
    [InlineData(0.5, 0.5)]
    public void AnAsrThatDidNotRiseIsNotWarnedAgainst(double beforeAsr, double afterAsr)
    {
        var run = Run(beforeAsr, afterAsr);

        Assert.Null(run.Warning);
        Assert.DoesNotContain("Warning", MitigationReport.Markdown(run));
    }

    private static MitigationRun Run(double beforeAsr, double afterAsr) => new()
    {
        Result = new MitigationResult { Method = MitigationMethod.Unlearn, Flagged = 100, Kept = 900, Seconds = 1 },
        Options = new MitigationOptions(),
        Before = new ModelScore(0.68, 2000, beforeAsr, 1800),
        After = new ModelScore(0.66, 2000, afterAsr, 1800),
    };
}
