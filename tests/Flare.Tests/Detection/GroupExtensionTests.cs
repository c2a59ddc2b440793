using Flare.Detection;
using Flare.Manifold;
using Flare.Progress;

namespace Flare.Tests.Detection;

public class GroupExtensionTests
{
    private const int Labels = 4, PerLabel = 300, Core = 40, Weaker = 20, Columns = 16;

    [Fact]
    public void AnIslandTakesInTheRestOfItsLabelsPoisonWhereTheClassifierReads()
    {
        // Label 0 holds 60 poisoned samples: a core of 40 (the island) far along the trigger's column,
        // and 20 that carry the trigger less firmly, between the core and the label: most of them join. Five samples of
        // label 1 fell into the island too: too few to be a group of that label, so it is left alone.
        var (penultimate, labels, poisoned) = Build(seed: 31);
        var island = Enumerable.Range(0, Core).Concat(Enumerable.Range(PerLabel, 5)).ToArray();

        var extended = GroupExtension.ExtendIsland(penultimate, labels, island, minGroupSize: 10);

        Assert.Superset(island.ToHashSet(), extended.ToHashSet());
        var weakerFound = Enumerable.Range(Core, Weaker).Count(extended.Contains);
        Assert.True(weakerFound >= 0.75 * Weaker, $"{weakerFound} of the {Weaker} weaker poisoned samples joined");
        var clean = extended.Count(i => !poisoned[i] && labels[i] == 0);
        Assert.True(clean <= 0.01 * (PerLabel - Core - Weaker), $"{clean} clean samples of label 0 joined");
        Assert.Equal(5, extended.Count(i => labels[i] == 1));
        Assert.DoesNotContain(extended, i => labels[i] > 1);
    }

    [Fact]
    public void TheDetectorExtendsItsIslandWhenItHasTheLabelsAndThePenultimateActivations()
    {
        // The island of FlareDetectorTests' planted cluster (label 0's core), and 20 more poisoned
        // samples of label 0 that look benign in the BatchNorm features but carry the trigger, less
        // firmly, where the classifier reads.
        var (penultimate, labels, poisoned) = Build(seed: 32);
        var random = new SeededRandom(33);
        var values = new float[labels.Length * 4];
        for (var i = 0; i < labels.Length; i++)
        {
            var inIsland = i < Core;
            for (var layer = 0; layer < 3; layer++)
                values[i * 4 + layer] = inIsland ? (float)(8 + 0.1 * random.NextGaussian()) : (float)random.NextGaussian();
            values[i * 4 + 3] = (float)(10 * labels[i] + 0.3 * random.NextGaussian());
        }
        var features = new LatentFeatures(new DenseMatrix(labels.Length, 4, values), [0, 1, 2, 3], Representation.Layer);
        var options = new DetectionOptions { MinClusterSize = 20 };

        var alone = FlareDetector.Detect(features, options, SilentProgress.Instance, labels);
        var extended = FlareDetector.Detect(features, options, SilentProgress.Instance, labels, penultimate);

        Assert.Equal(Core, DetectionMetrics.Compute(alone.Flagged, poisoned).TruePositives);
        var metrics = DetectionMetrics.Compute(extended.Flagged, poisoned);
        Assert.True(metrics.TruePositiveRate >= 0.9, $"TPR {metrics.TruePositiveRate:P1}: {extended.Verdict}");
        Assert.True(metrics.FalsePositiveRate <= 0.01, $"FPR {metrics.FalsePositiveRate:P2}: {extended.Verdict}");
        Assert.Contains("extended within their labels", extended.Verdict);
        Assert.Contains(extended.Suspects, s => s is { Flagged: true, Label: null } && s.Members.Length > s.Size);
    }

    // Unit noise per column; a label's poisoned samples are its first Core + Weaker, shifted on
    // column 5 by 8 (the core) or 7 (weaker); only label 0 is poisoned.
    private static (DenseMatrix Penultimate, int[] Labels, bool[] Poisoned) Build(ulong seed)
    {
        var random = new SeededRandom(seed);
        var count = Labels * PerLabel;
        var labels = Enumerable.Range(0, count).Select(i => i / PerLabel).ToArray();
        var poisoned = Enumerable.Range(0, count).Select(i => i < Core + Weaker).ToArray();
        var values = new float[count * Columns];
        for (var i = 0; i < count; i++)
            for (var c = 0; c < Columns; c++)
                values[i * Columns + c] = (float)(random.NextGaussian() + (c == 5 && poisoned[i] ? (i < Core ? 8 : 7) : 0) + (c == 8 + labels[i] ? 3 : 0));
        return (new DenseMatrix(count, Columns, values), labels, poisoned);
    }
}
