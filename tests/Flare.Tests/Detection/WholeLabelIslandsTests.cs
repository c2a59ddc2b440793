using Flare.Detection;

namespace Flare.Tests.Detection;

public class WholeLabelIslandsTests
{
    // Ten labels of 100 samples: sample i has label i / 100.
    private static readonly WholeLabelIslands TenLabels = new(Enumerable.Range(0, 1000).Select(i => i / 100).ToArray());

    [Fact]
    public void AnIslandHoldingMostOfOneLabelIsThatClass()
    {
        var island = Enumerable.Range(100, 88).Append(5).ToArray(); // label 1 but 12 samples, and one stray

        Assert.Equal([1], TenLabels.Of(island));
    }

    [Fact]
    public void SeveralLabelsHeldWholeTogetherAreClasses()
    {
        var island = Enumerable.Range(500, 100).Concat(Enumerable.Range(700, 95)).Concat(Enumerable.Range(900, 90)).Concat(Enumerable.Range(0, 40)).ToArray();

        Assert.Equal([5, 7, 9], TenLabels.Of(island));
    }

    [Fact]
    public void PoisonThatLeavesItsLabelsClassOutsideIsNotAClass()
    {
        // All-to-one: 100 images of label 0 plus 100 poisoned ones relabelled 0; the island holds the poison.
        var labels = Enumerable.Range(0, 1000).Select(i => i / 100).Concat(Enumerable.Repeat(0, 100)).ToArray();
        var poisoned = Enumerable.Range(1000, 100).ToArray();

        Assert.Empty(new WholeLabelIslands(labels).Of(poisoned));
    }

    [Fact]
    public void AnIslandMostlyOfLabelsItDoesNotHoldWholeIsNotAClass()
    {
        // Label 3 entirely, but outnumbered by a group from three labels that keep most of their samples outside.
        var island = Enumerable.Range(300, 100).Concat(Enumerable.Range(0, 40)).Concat(Enumerable.Range(100, 40)).Concat(Enumerable.Range(200, 40)).ToArray();

        Assert.Empty(TenLabels.Of(island));
    }

    [Fact]
    public void ReportsNameAClassIslandAsClassesNotPoison()
    {
        var suspect = new SuspectCluster(0, null, 300, false) { Members = [], Suspicion = 0, Isolation = 0.02, WholeLabels = [5, 7, 9] };

        Assert.Equal("isolation 0.02, holds labels 5, 7, 9 whole: classes", Flare.Reporting.DetectionReport.Evidence(suspect));
    }
}
