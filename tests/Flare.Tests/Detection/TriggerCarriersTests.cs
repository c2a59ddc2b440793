using Flare.Detection;
using Flare.Manifold;
using Flare.Progress;

namespace Flare.Tests.Detection;

public class TriggerCarriersTests
{
    private const int Labels = 10, PerLabel = 400, Carriers = 40, Poisoned = 120, Columns = 16;

    [Fact]
    public void CarriersThatKeepTheirLabelsAreSetAsideAndThePoisonKept()
    {
        // Adaptive-Patch in miniature: the island holds 40 carriers in every label, nudged a little on the
        // trigger's columns (0-3), and in label 0 also 120 poisoned samples far from the label (columns 4-15).
        var (penultimate, labels, poisoned, carriers) = Build(seed: 41, carrierShift: 0.7, poisonShift: 4, spreadPoison: false);
        var island = Enumerable.Range(0, labels.Length).Where(i => poisoned[i] || carriers[i]).ToArray();

        var split = TriggerCarriers.Split(penultimate, labels, island, IslandMask(labels.Length, island), minGroupSize: 20);

        Assert.Equal([0], split.PoisonLabels);
        var poisonKept = split.Poisoned.Count(i => poisoned[i]);
        Assert.True(poisonKept >= 0.95 * Poisoned, $"{poisonKept} of {Poisoned} poisoned samples kept");
        var carriersSetAside = split.Carriers.Count(i => carriers[i]);
        Assert.True(carriersSetAside >= 0.95 * Carriers * Labels, $"{carriersSetAside} of {Carriers * Labels} carriers set aside");
        var labelZeroCarriers = split.Carriers.Count(i => carriers[i] && labels[i] == 0);
        Assert.True(labelZeroCarriers >= 0.8 * Carriers, $"{labelZeroCarriers} of label 0's {Carriers} carriers set aside");
        Assert.Empty(split.Poisoned.Intersect(split.Carriers));
        Assert.Equal(island.Order(), split.Poisoned.Concat(split.Carriers).Order());
        Assert.True(split.PoisonShare >= TriggerCarriers.OutstandingShareRatio * split.MedianShare);
    }

    [Theory]
    [InlineData(true, 42)] // all-to-all: every label's group is poison, as large as the next; none stands out
    [InlineData(false, 43)] // all-to-one without carriers: one group, nothing to compare it with
    public void PoisonWithoutCarriersIsLeftWhole(bool spreadPoison, ulong seed)
    {
        var (penultimate, labels, poisoned, _) = Build(seed, carrierShift: 0, poisonShift: 3, spreadPoison);
        var island = Enumerable.Range(0, labels.Length).Where(i => poisoned[i]).ToArray();

        var split = TriggerCarriers.Split(penultimate, labels, island, IslandMask(labels.Length, island), minGroupSize: 20);

        Assert.Equal(island, split.Poisoned);
        Assert.Empty(split.Carriers);
        Assert.Null(split.PoisonShare);
    }

    [Fact]
    public void TheDetectorFlagsThePoisonAndNamesTheCarriers()
    {
        // The BatchNorm features hold one island of everything carrying the trigger; the penultimate
        // activations tell the poison (label 0, far) from the carriers (every label, near their label).
        var (penultimate, labels, poisoned, carriers) = Build(seed: 44, carrierShift: 0.7, poisonShift: 4, spreadPoison: false);
        var random = new SeededRandom(45);
        var values = new float[labels.Length * 4];
        for (var i = 0; i < labels.Length; i++)
        {
            var trigger = poisoned[i] || carriers[i];
            for (var layer = 0; layer < 3; layer++)
                values[i * 4 + layer] = trigger ? (float)(8 + 0.1 * random.NextGaussian()) : (float)random.NextGaussian();
            values[i * 4 + 3] = (float)(10 * labels[i] + 0.3 * random.NextGaussian());
        }
        var features = new LatentFeatures(new DenseMatrix(labels.Length, 4, values), [0, 1, 2, 3], Representation.Layer);

        var result = FlareDetector.Detect(features, new DetectionOptions { MinClusterSize = 20 }, SilentProgress.Instance, labels, penultimate);

        var metrics = DetectionMetrics.Compute(result.Flagged, poisoned);
        Assert.True(metrics.TruePositiveRate >= 0.95, $"TPR {metrics.TruePositiveRate:P1}: {result.Verdict}");
        Assert.True(metrics.FalsePositiveRate <= 0.01, $"FPR {metrics.FalsePositiveRate:P2}: {result.Verdict}");
        Assert.Contains("trigger carriers that keep their labels", result.Verdict);
        var island = Assert.Single(result.Suspects, s => s is { Flagged: true, Label: null });
        Assert.True(island.Carriers.Count(i => carriers[i]) >= 0.95 * Carriers * Labels);
        Assert.All(island.Carriers, i => Assert.Equal(SuspectCluster.HighestUnflagged, result.Suspicion[i]));
    }

    private static bool[] IslandMask(int count, int[] island)
    {
        var mask = new bool[count];
        foreach (var i in island) mask[i] = true;
        return mask;
    }

    // Unit noise per column, each label's content on its own column; the first Poisoned samples of
    // label 0 (or, spread, the first Poisoned / Labels of every label) are poisoned, shifted by
    // poisonShift on columns 4-15; the next Carriers samples of every label carry the trigger, shifted by
    // carrierShift on columns 0-3.
    private static (DenseMatrix Penultimate, int[] Labels, bool[] Poisoned, bool[] Carriers) Build(ulong seed, double carrierShift, double poisonShift, bool spreadPoison)
    {
        var random = new SeededRandom(seed);
        var count = Labels * PerLabel;
        var labels = Enumerable.Range(0, count).Select(i => i / PerLabel).ToArray();
        var poisonedPerLabel = spreadPoison ? Poisoned / Labels * 3 : Poisoned;
        var poisoned = Enumerable.Range(0, count).Select(i => (spreadPoison || labels[i] == 0) && i % PerLabel < poisonedPerLabel).ToArray();
        var carriers = Enumerable.Range(0, count).Select(i => carrierShift > 0 && i % PerLabel >= poisonedPerLabel && i % PerLabel < poisonedPerLabel + Carriers).ToArray();
        var direction = Enumerable.Range(0, Labels).Select(_ => Enumerable.Range(0, Columns).Select(c => c >= 4 ? random.NextGaussian() : 0).ToArray()).ToArray();
        var values = new float[count * Columns];
        for (var i = 0; i < count; i++)
        {
            var norm = Math.Sqrt(direction[labels[i]].Sum(d => d * d) / 12);
            for (var c = 0; c < Columns; c++)
            {
                var shift = poisoned[i] && c >= 4 ? poisonShift * (spreadPoison ? direction[labels[i]][c] / norm : 1) : carriers[i] && c < 4 ? carrierShift : 0;
                values[i * Columns + c] = (float)(random.NextGaussian() + shift + (c == 4 + labels[i] ? 3 : 0));
            }
        }
        return (new DenseMatrix(count, Columns, values), labels, poisoned, carriers);
    }
}
