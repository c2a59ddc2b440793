using Flare.Data;
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

    [Fact]
    public void FlaggedSamplesSpreadOverLabelsGetANote()
    {
        // Untargeted-looking: ten labels, none with half of the flagged samples.
        var note = Mitigator.SpreadLabelsNote(Flagged(Enumerable.Range(0, 40).Select(i => i % 10)));

        Assert.NotNull(note);
        Assert.Contains("40 flagged samples carry 10 different labels", note);
        Assert.Contains("--mitigate retrain", note);
    }

    [Theory]
    [InlineData(40, 0)]
    [InlineData(20, 20)]
    public void FlaggedSamplesSharingOneLabelGetNoNote(int onTarget, int elsewhere)
    {
        // All-to-one: the target label holds at least half of the flagged samples.
        var labels = Enumerable.Repeat(3, onTarget).Concat(Enumerable.Range(0, elsewhere).Select(i => i % 3));

        Assert.Null(Mitigator.SpreadLabelsNote(Flagged(labels)));
    }

    private static ImageSet Flagged(IEnumerable<int> labels)
    {
        var labelArray = labels.ToArray();
        return new ImageSet(2, 2, new byte[labelArray.Length * ImageSet.Channels * 4], labelArray,
            Enumerable.Range(0, 10).Select(c => $"class{c}").ToArray(), labelArray.Select((_, i) => $"{i}.png").ToArray(), root: null);
    }

    private static MitigationRun Run(double beforeAsr, double afterAsr) => new()
    {
        Result = new MitigationResult { Method = MitigationMethod.Unlearn, Flagged = 100, Kept = 900, Seconds = 1 },
        Options = new MitigationOptions(),
        Before = new ModelScore(0.68, 2000, beforeAsr, 1800),
        After = new ModelScore(0.66, 2000, afterAsr, 1800),
    };
}
