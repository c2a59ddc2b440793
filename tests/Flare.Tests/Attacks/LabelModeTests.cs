using Flare.Attacks;

namespace Flare.Tests.Attacks;

public class LabelModeTests
{
    [Fact]
    public void AllToOneSendsEveryOtherClassToTheTargetAndLeavesTheTargetAlone()
    {
        var mode = new LabelMode(LabelModeKind.AllToOne, classes: 5, target: 3);
        var random = new SeededRandom(1);
        for (var y = 0; y < 5; y++)
        {
            if (y == 3)
            {
                Assert.False(mode.Changes(y));
                Assert.Throws<ArgumentException>(() => mode.PoisonLabel(y, random));
                continue;
            }
            Assert.True(mode.Changes(y));
            Assert.Equal(3, mode.PoisonLabel(y, random));
            Assert.Equal(3, mode.TestLabel(y));
        }
    }

    [Fact]
    public void AllToAllShiftsByOneAndWrapsTheLastClassToZero()
    {
        var mode = new LabelMode(LabelModeKind.AllToAll, classes: 4);
        var random = new SeededRandom(1);
        Assert.Equal([1, 2, 3, 0], Enumerable.Range(0, 4).Select(y => mode.PoisonLabel(y, random)));
        Assert.Equal([1, 2, 3, 0], Enumerable.Range(0, 4).Select(mode.TestLabel));
        Assert.All(Enumerable.Range(0, 4), y => Assert.True(mode.Changes(y)));
        Assert.Null(mode.Target);
    }

    [Fact]
    public void UntargetedNeverKeepsTheTrueLabelAndReachesEveryOtherLabelAboutEqually()
    {
        const int classes = 5;
        var mode = new LabelMode(LabelModeKind.Untargeted, classes);
        var random = new SeededRandom(7);
        for (var y = 0; y < classes; y++)
        {
            var counts = new int[classes];
            for (var draw = 0; draw < 4000; draw++) counts[mode.PoisonLabel(y, random)]++;
            Assert.Equal(0, counts[y]);
            // 1,000 expected per other label; a uniform draw stays within 15 % of that with overwhelming probability.
            Assert.All(Enumerable.Range(0, classes).Where(c => c != y), c => Assert.InRange(counts[c], 850, 1150));
            // A triggered test image stays filed under its true label: the attack wants any other one.
            Assert.Equal(y, mode.TestLabel(y));
        }
    }

    [Fact]
    public void SuccessRuleFollowsTheMode()
    {
        int[] trueLabels = [0, 1, 2, 3, 1, 2];
        int[] predictions = [2, 2, 2, 0, 1, 0];

        // A2O (target 2): only images outside class 2 are triggered; success when the prediction is 2 -> 3 of 6.
        int[] outsideTarget = [0, 1, 3, 3, 1, 0];
        Assert.Equal(3 / 6.0, new LabelMode(LabelModeKind.AllToOne, 4, target: 2).SuccessRate(predictions, outsideTarget), 12);
        Assert.Throws<ArgumentException>(() => new LabelMode(LabelModeKind.AllToOne, 4, target: 2).SuccessRate(predictions, trueLabels));
        // A2A: success when the prediction is y + 1 mod 4 -> (1->2), (3->0) = 2 of 6.
        Assert.Equal(2 / 6.0, new LabelMode(LabelModeKind.AllToAll, 4).SuccessRate(predictions, trueLabels), 12);
        // UT: success when the prediction differs from the true label -> all but (2,2) and (1,1) = 4 of 6.
        Assert.Equal(4 / 6.0, new LabelMode(LabelModeKind.Untargeted, 4).SuccessRate(predictions, trueLabels), 12);
    }

    [Fact]
    public void TargetsAreClassNamesOrIndicesAndBadOnesAreRejected()
    {
        string[] classes = ["cat", "dog", "frog"];
        Assert.Equal(1, LabelMode.ResolveTarget("dog", classes));
        Assert.Equal(2, LabelMode.ResolveTarget("2", classes));
        Assert.Contains("--target '3' is not a class", Assert.Throws<FlareException>(() => LabelMode.ResolveTarget("3", classes)).Message);
        Assert.Contains("--target '-1' is not a class", Assert.Throws<FlareException>(() => LabelMode.ResolveTarget("-1", classes)).Message);
        Assert.Contains("--target", Assert.Throws<FlareException>(() => new LabelMode(LabelModeKind.AllToOne, 3, target: 3)).Message);
        Assert.Contains("unknown mode 'a2b'", Assert.Throws<FlareException>(() => LabelMode.ParseKind("a2b")).Message);
        Assert.Equal(LabelModeKind.Untargeted, LabelMode.ParseKind("UT"));
    }
}
