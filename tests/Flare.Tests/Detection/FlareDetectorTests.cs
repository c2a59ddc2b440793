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

        var suspects = ClassConditionalSearch.Find(features, 0, labels, new DetectionOptions { LabelIsolation = 0.5, MinClusterSize = 10 });

        var flagged = Assert.Single(suspects, s => s.Flagged);
        Assert.Equal(0, flagged.Label);
        Assert.Equal(Enumerable.Range(0, 20), flagged.Members.Order());
        Assert.DoesNotContain(suspects, s => s.Label == 1 && s.Flagged);
    }
}
