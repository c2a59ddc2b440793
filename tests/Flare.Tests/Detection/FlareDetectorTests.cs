using Flare.Detection;
using Flare.Manifold;
using Flare.Progress;

namespace Flare.Tests.Detection;

public class FlareDetectorTests
{
    private const int Samples = 2000;
    private const int Poisoned = 200;

    [Fact]
    public void FlagsAPlantedStableClusterOnceClassSpecificLayersAreDropped()
    {
        var features = Synthetic(planted: true, seed: 3);

        var result = FlareDetector.Detect(features, new DetectionOptions(), SilentProgress.Instance);

        var metrics = DetectionMetrics.Compute(result.Flagged, Truth());
        Assert.True(result.DroppedLayers is not null, result.Verdict);
        Assert.True(metrics.TruePositiveRate >= 0.95, $"TPR {metrics.TruePositiveRate:P1}: {result.Verdict}");
        Assert.True(metrics.FalsePositiveRate <= 0.01, $"FPR {metrics.FalsePositiveRate:P2}: {result.Verdict}");
        // The suspicion ranking puts the planted samples first, and the strongest suspect is the flagged island.
        var top = Enumerable.Range(0, Samples).OrderByDescending(i => result.Suspicion[i]).Take(Poisoned);
        Assert.True(top.Count(i => i < Poisoned) >= 0.95 * Poisoned, "planted samples do not lead the suspicion ranking");
        Assert.True(result.StrongestSuspect is { Flagged: true, Label: null }, result.Verdict);
    }

    [Fact]
    public void FlagsNothingWithoutAPlantedCluster()
    {
        var features = Synthetic(planted: false, seed: 4);

        var result = FlareDetector.Detect(features, new DetectionOptions(), SilentProgress.Instance);

        Assert.True(result.FlaggedCount <= Samples / 100, $"{result.FlaggedCount} flagged: {result.Verdict}");
        Assert.True(result.StrongestSuspect is null or { Flagged: false }, result.Verdict);
        Assert.All(result.Suspicion, s => Assert.InRange(s, 0, 1));
    }

    [Fact]
    public void TooFewSamplesForTheClusterSizeIsAClearError()
    {
        var features = Synthetic(planted: false, seed: 5);
        var error = Assert.Throws<FlareException>(() => FlareDetector.Detect(features, new DetectionOptions { MinClusterSize = 1500 }, SilentProgress.Instance));
        Assert.Contains("too few", error.Message);
    }

    private static bool[] Truth() => Enumerable.Range(0, Samples).Select(i => i < Poisoned).ToArray();

    /// <summary>
    /// Four one-column "layers". Benign samples form one broad blob in the first three and ten
    /// class clusters in the last (category-specific, as deep layers are); planted samples form a
    /// tight cluster away from the blob in the first three and sit among the classes in the last.
    /// </summary>
    private static LatentFeatures Synthetic(bool planted, ulong seed)
    {
        var random = new SeededRandom(seed);
        var values = new float[Samples * 4];
        for (var i = 0; i < Samples; i++)
        {
            var poisoned = planted && i < Poisoned;
            for (var layer = 0; layer < 3; layer++)
                values[i * 4 + layer] = poisoned ? (float)(8 + 0.1 * random.NextGaussian()) : (float)random.NextGaussian();
            values[i * 4 + 3] = (float)(10 * random.NextInt(10) + 0.3 * random.NextGaussian());
        }
        return new LatentFeatures(new DenseMatrix(Samples, 4, values), [0, 1, 2, 3], Representation.Layer);
    }
}

public class ClassConditionalSearchTests
{
    // The development candidate for the within-label threshold (PoisonedClusterChoice.DefaultLabelIsolation's comment).
    private const double DevelopmentLabelIsolation = 0.5;

    [Fact]
    public void AnIslandWithinOneLabelIsFlaggedAndTheOtherLabelIsLeftAlone()
    {
        // Label 0: 180 samples in a blob and 20 far away (another class's images carrying a trigger);
        // label 1: 200 samples in a blob. Two one-column layers.
        var random = new SeededRandom(11);
        var rows = new List<float[]>();
        var labels = new List<int>();
        for (var i = 0; i < 400; i++)
        {
            var island = i < 20;
            var centre = island ? 30.0 : 0.0;
            rows.Add([(float)(centre + random.NextGaussian()), (float)(centre + random.NextGaussian())]);
            labels.Add(i < 200 ? 0 : 1);
        }
        var features = new LatentFeatures(DenseMatrix.FromRows(rows), [0, 1], Representation.Layer);

        var suspects = ClassConditionalSearch.Find(features, 0, labels, new DetectionOptions { LabelIsolation = DevelopmentLabelIsolation, MinClusterSize = 10 });

        var flagged = Assert.Single(suspects, s => s.Flagged);
        Assert.Equal(0, flagged.Label);
        Assert.Equal(Enumerable.Range(0, 20), flagged.Members.Order());
        Assert.DoesNotContain(suspects, s => s.Label == 1 && s.Flagged);
    }
    [Fact]
    public void EveryLabelsIslandIsFlaggedTogether()
    {
        // All-to-all poison: in each of five labels, 20 of 200 samples (another class's images with
        // the trigger) sit apart, each label's in its own place.
        var (features, labels) = Labelled(labelCount: 5, perLabel: 200, island: 20, islandDistance: 30, seed: 12);

        var suspects = ClassConditionalSearch.Find(features, 0, labels, new DetectionOptions { LabelIsolation = DevelopmentLabelIsolation, MinClusterSize = 10 });

        var flagged = suspects.Where(s => s.Flagged).ToList();
        Assert.Equal(Enumerable.Range(0, 5), flagged.Select(s => s.Label!.Value).Order());
        Assert.Equal(Enumerable.Range(0, 5).SelectMany(l => Enumerable.Range(l * 200, 20)), flagged.SelectMany(s => s.Members).Order());
    }

    [Fact]
    public void BenignGroupsWithinLabelsAreNotIslands()
    {
        // Each label holds a sub-group overlapping its blob (as benign images with a shared background
        // do): a mode of the label, not apart from it.
        var (features, labels) = Labelled(labelCount: 5, perLabel: 200, island: 60, islandDistance: 1.5, seed: 13, islandSpread: 1.0);

        var suspects = ClassConditionalSearch.Find(features, 0, labels, new DetectionOptions { LabelIsolation = DevelopmentLabelIsolation, MinClusterSize = 10 });

        Assert.DoesNotContain(suspects, s => s.Flagged);
    }

    [Fact]
    public void AnIslandInTheWholeSetDoesNotEndTheSearchWithinLabels()
    {
        // Five labels whose blobs overlap around a ring. 100 poisoned samples of label 0 lie far from
        // everything (an island of the whole set); labels 1-4 each hold 30 poisoned samples that look
        // like another label's images: inside that label's blob, so apart only within their own label.
        var random = new SeededRandom(14);
        var rows = new List<float[]>();
        var labels = new List<int>();
        var truth = new List<bool>();
        (double X, double Y) Centre(int label) => (6 * Math.Cos(2 * Math.PI * label / 5), 6 * Math.Sin(2 * Math.PI * label / 5));
        for (var label = 0; label < 5; label++)
            for (var i = 0; i < 400; i++)
            {
                var poisoned = label == 0 ? i < 100 : i < 30;
                var (x, y) = !poisoned ? Centre(label) : label == 0 ? (0.0, 40.0) : Centre((label + 2) % 5);
                var spread = poisoned ? 0.3 : 3.0;
                rows.Add([(float)(x + spread * random.NextGaussian()), (float)(y + spread * random.NextGaussian())]);
                labels.Add(label);
                truth.Add(poisoned);
            }
        var features = new LatentFeatures(DenseMatrix.FromRows(rows), [0, 1], Representation.Layer);

        // What is tested is the union, not the whole-set threshold: this fixture's island measures about 0.1.
        var result = FlareDetector.Detect(features, new DetectionOptions { MinClusterSize = 20, MaxDroppedLayers = 0, Isolation = 0.3, LabelIsolation = DevelopmentLabelIsolation }, SilentProgress.Instance, labels);

        var metrics = DetectionMetrics.Compute(result.Flagged, truth.ToArray());
        var where = string.Join("; ", result.Suspects.Where(s => s.Flagged).Select(s => $"label {s.Label?.ToString() ?? "-"}: {s.Size} samples, {s.Members.Count(i => truth[i])} poisoned"));
        Assert.True(metrics.TruePositiveRate >= 0.95, $"TPR {metrics.TruePositiveRate:P1}: {where}");
        Assert.True(metrics.FalsePositiveRate <= 0.01, $"FPR {metrics.FalsePositiveRate:P2}: {where}");
        Assert.Contains(result.Suspects, s => s.Flagged && s.Label is null);
        Assert.Contains(result.Suspects, s => s.Flagged && s.Label is not null);
    }

    /// <summary>
    /// Two one-column layers; label l's samples form a blob at (20 l, 0); its first <paramref name="island"/>
    /// samples sit at <paramref name="islandDistance"/> from the blob in a label-specific direction.
    /// </summary>
    private static (LatentFeatures Features, int[] Labels) Labelled(int labelCount, int perLabel, int island, double islandDistance, ulong seed, double islandSpread = 0.3)
    {
        var random = new SeededRandom(seed);
        var rows = new List<float[]>();
        var labels = new List<int>();
        for (var label = 0; label < labelCount; label++)
            for (var i = 0; i < perLabel; i++)
            {
                var inIsland = i < island;
                var angle = 2 * Math.PI * label / labelCount;
                var (x, y) = inIsland ? (20.0 * label + islandDistance * Math.Cos(angle), islandDistance * Math.Sin(angle)) : (20.0 * label, 0.0);
                var spread = inIsland ? islandSpread : 1.0;
                rows.Add([(float)(x + spread * random.NextGaussian()), (float)(y + spread * random.NextGaussian())]);
                labels.Add(label);
            }
        return (new LatentFeatures(DenseMatrix.FromRows(rows), [0, 1], Representation.Layer), labels.ToArray());
    }
}

