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
    private const int LabelCount = 5;
    private const int PerLabel = 200;
    private const int Group = 24;
    private static readonly DetectionOptions Options = new() { MinClusterSize = 10 };
    private static readonly DetectionOptions InBatchNorm = new() { MinClusterSize = 10, LabelsInBatchNorm = true };

    [Fact]
    public void AllToAllGroupsWithALargeShiftInEveryLabelAreFlagged()
    {
        // Each label's group is another class's images carrying a trigger: in the last layer it sits
        // 2.5 standard deviations towards the next class, a different direction in every label; in
        // the first layers all groups are shifted the same way, by the trigger.
        var fixture = LabelFixture.Build(seed: 21, group: l => LabelFixture.TowardsClass(l, (l + 1) % LabelCount, 2.5), trigger: true);

        var suspects = ClassConditionalSearch.Find(fixture.Features, 0, fixture.Labels, fixture.Nothing, Options).Groups;

        var metrics = fixture.Score(suspects);
        Assert.True(metrics.TruePositiveRate >= 0.95, $"TPR {metrics.TruePositiveRate:P1}: {Describe(suspects)}");
        Assert.True(metrics.FalsePositiveRate <= 0.01, $"FPR {metrics.FalsePositiveRate:P2}: {Describe(suspects)}");
        Assert.Equal(Enumerable.Range(0, LabelCount), suspects.Where(s => s.Flagged).Select(s => s.Label!.Value).Distinct().Order());
        Assert.All(suspects.Where(s => s.Flagged), s => Assert.True(s.EarlyAgreement >= ClassConditionalSearch.SharedEarlyDirection));
    }

    [Fact]
    public void LargeShiftsInEveryLabelWithoutOneTriggerInTheFirstLayersAreLeftAlone()
    {
        // The same large shifts towards the next class in every label, but each label's group stands
        // apart in the first layers in a direction of its own (a background, a style): groups of a
        // data set whose classes look alike, not one trigger (the clean Fashion-MNIST case).
        var fixture = LabelFixture.Build(seed: 21, group: l => LabelFixture.TowardsClass(l, (l + 1) % LabelCount, 2.5));

        var suspects = ClassConditionalSearch.Find(fixture.Features, 0, fixture.Labels, fixture.Nothing, Options).Groups;

        Assert.DoesNotContain(suspects, s => s.Flagged);
        Assert.Equal(LabelCount, suspects.Where(s => s.Shift >= s.LargeShiftBar).Select(s => s.Label).Distinct().Count());
        Assert.All(suspects.Where(s => s.Shift >= s.LargeShiftBar), s => Assert.True(s.EarlyAgreement < ClassConditionalSearch.SharedEarlyDirection, $"label {s.Label}: first layers {s.EarlyAgreement:F2}"));
        Assert.All(suspects, s => Assert.InRange(s.Suspicion, 0, SuspectCluster.HighestUnflagged));
    }

    [Fact]
    public void AFlaggedGroupIsExtendedWhereTheClassifierReads()
    {
        // All-to-all poison whose core is the tight group of every label, plus 16 poisoned samples per
        // label that look like their label in every BatchNorm feature; only the classifier's input
        // (the penultimate activations) carries their trigger.
        var fixture = LabelFixture.Build(seed: 21, group: l => LabelFixture.TowardsClass(l, (l + 1) % LabelCount, 2.5), trigger: true, hidden: 16);
        var penultimate = fixture.Penultimate(seed: 26, triggerShift: 8);

        var alongTheLastLayer = fixture.Score(ClassConditionalSearch.Find(fixture.Features, 0, fixture.Labels, fixture.Nothing, Options).Groups);
        var suspects = ClassConditionalSearch.Find(fixture.Features, 0, fixture.Labels, fixture.Nothing, InBatchNorm, penultimate).Groups;

        var metrics = fixture.Score(suspects);
        Assert.True(metrics.TruePositiveRate >= 0.95, $"TPR {metrics.TruePositiveRate:P1}: {Describe(suspects)}");
        Assert.True(metrics.FalsePositiveRate <= 0.01, $"FPR {metrics.FalsePositiveRate:P2}: {Describe(suspects)}");
        Assert.True(alongTheLastLayer.TruePositiveRate < 0.9, $"the last layer alone found {alongTheLastLayer.TruePositiveRate:P1} of the poison, hidden samples included");
    }

    [Fact]
    public void GroupsAreFoundAndMeasuredWhereTheClassifierReads()
    {
        // Each label's poisoned group is apart in the early layers (all the same way) but not shifted
        // in the last BatchNorm layer; only the classifier's input (the penultimate activations)
        // carries its trigger, 8 on the label's own column. By default the stage clusters and
        // measures there; in the BatchNorm features it flags nothing.
        var fixture = LabelFixture.Build(seed: 27, group: _ => LabelFixture.NoShift, trigger: true);
        var penultimate = fixture.Penultimate(seed: 28, triggerShift: 8);

        var alongTheLastLayer = ClassConditionalSearch.Find(fixture.Features, 0, fixture.Labels, fixture.Nothing, InBatchNorm, penultimate).Groups;
        var suspects = ClassConditionalSearch.Find(fixture.Features, 0, fixture.Labels, fixture.Nothing, Options, penultimate).Groups;

        Assert.DoesNotContain(alongTheLastLayer, s => s.Flagged);
        var metrics = fixture.Score(suspects);
        Assert.True(metrics.TruePositiveRate >= 0.95, $"TPR {metrics.TruePositiveRate:P1}: {Describe(suspects)}");
        Assert.True(metrics.FalsePositiveRate <= 0.01, $"FPR {metrics.FalsePositiveRate:P2}: {Describe(suspects)}");
        Assert.All(suspects, s => Assert.Equal("penultimate activations", s.ShiftSpace));
        Assert.All(suspects, s => Assert.True(s.LargeShiftBar >= ClassConditionalSearch.LargeShift));
    }

    [Theory]
    [InlineData(29, 0.0, false)]
    [InlineData(33, 8.0, true)]
    public void PenultimateGroupsAlikeInEveryLabelFlagNothing(ulong seed, double groupShift, bool large)
    {
        // Without a trigger, or with every label's group shifted as far where the classifier reads,
        // each on its label's own column (towards nothing the labels share): one label's group is
        // no outlier among them.
        var fixture = LabelFixture.Build(seed, group: _ => LabelFixture.NoShift);
        var penultimate = fixture.Penultimate(seed + 1, triggerShift: groupShift);

        var suspects = ClassConditionalSearch.Find(fixture.Features, 0, fixture.Labels, fixture.Nothing, Options, penultimate).Groups;

        Assert.DoesNotContain(suspects, s => s.Flagged);
        Assert.All(suspects, s => Assert.InRange(s.Suspicion, 0, SuspectCluster.HighestUnflagged));
        var strongest = suspects.MaxBy(s => s.Shift)!;
        Assert.Equal(large, strongest.Shift >= strongest.LargeShiftBar);
        Assert.True(strongest.Shift < ClassConditionalSearch.LoneShiftRatio * strongest.OtherLabelsShift, Describe(suspects));
    }

    [Fact]
    public void ASharedTriggerShiftIsFlaggedThoughNoLabelShiftsFar()
    {
        // Untargeted: a moderate shift (0.8 standard deviations; at 0.7 the noise of 24-sample means puts the expected cosine at 0.91, on the bar) in a direction no class mean spans,
        // the same in every label.
        var fixture = LabelFixture.Build(seed: 22, group: _ => LabelFixture.Trigger(0.8), trigger: true);

        var suspects = ClassConditionalSearch.Find(fixture.Features, 0, fixture.Labels, fixture.Nothing, Options).Groups;

        var metrics = fixture.Score(suspects);
        Assert.True(metrics.TruePositiveRate >= 0.95, $"TPR {metrics.TruePositiveRate:P1}: {Describe(suspects)}");
        Assert.True(metrics.FalsePositiveRate <= 0.01, $"FPR {metrics.FalsePositiveRate:P2}: {Describe(suspects)}");
        Assert.All(suspects.Where(s => s.Flagged), s => Assert.True(s.Agreement >= ClassConditionalSearch.SharedDirection && s.SharedEarlyAgreement >= ClassConditionalSearch.SharedEarlyDirection));
    }

    [Fact]
    public void ASharedShiftWithoutOneTriggerInTheFirstLayersIsLeftAlone()
    {
        // The untargeted case's shift where the classifier reads, the same in every label, but each
        // label's group stands apart in the first layers in a direction of its own: relabelled images
        // the model did not learn (label noise), which are other classes' images, not one trigger.
        var fixture = LabelFixture.Build(seed: 22, group: _ => LabelFixture.Trigger(0.8));

        var suspects = ClassConditionalSearch.Find(fixture.Features, 0, fixture.Labels, fixture.Nothing, Options).Groups;

        Assert.DoesNotContain(suspects, s => s.Flagged);
        var shared = suspects.Where(s => s.Shift >= ClassConditionalSearch.SharedShiftFloor && s.Agreement >= ClassConditionalSearch.SharedDirection).ToList();
        Assert.Equal(LabelCount, shared.Select(s => s.Label).Distinct().Count());
        Assert.All(shared, s => Assert.True(s.SharedEarlyAgreement < ClassConditionalSearch.SharedEarlyDirection, $"label {s.Label}: first layers {s.SharedEarlyAgreement:F2}"));
    }

    [Fact]
    public void BenignGroupsThatLookLikeAnotherClassAreLeftAlone()
    {
        // Every label has a group of its own (a background, a pose) apart in the early layers and
        // shifted a little towards another class in the last; one label's group shifts far (ambiguous
        // images), which a single label does not make an all-to-all attack. Read in the last
        // BatchNorm layer, where a lone label's shift is not weighed.
        var fixture = LabelFixture.Build(seed: 23, group: l => LabelFixture.TowardsClass(l, (l + 2) % LabelCount, l == 0 ? 2.0 : 0.4));

        var suspects = ClassConditionalSearch.Find(fixture.Features, 0, fixture.Labels, fixture.Nothing, Options).Groups;

        Assert.DoesNotContain(suspects, s => s.Flagged);
        Assert.Contains(suspects, s => s.Label == 0 && s.Shift >= ClassConditionalSearch.LargeShift);
        Assert.All(suspects, s => Assert.Null(s.OtherLabelsShift));
        Assert.All(suspects, s => Assert.InRange(s.Suspicion, 0, 1));
    }

    [Fact]
    public void AnAllToOneGroupThatStandsAloneInItsLabelIsFlagged()
    {
        // All-to-one poison that is no island of the whole set: only label 0's group is poison, and
        // only it is shifted where the classifier reads (8 on one of 16 penultimate columns). The
        // other labels' groups are benign modes, apart in the early layers only.
        var fixture = LabelFixture.Build(seed: 31, group: _ => LabelFixture.NoShift, trigger: true);
        var targetOnly = fixture with { Truth = fixture.Truth.Select((t, i) => t && fixture.Labels[i] == 0).ToArray() };
        var penultimate = targetOnly.Penultimate(seed: 32, triggerShift: 8);

        var suspects = ClassConditionalSearch.Find(fixture.Features, 0, fixture.Labels, fixture.Nothing, Options, penultimate).Groups;

        var metrics = targetOnly.Score(suspects);
        Assert.True(metrics.TruePositiveRate >= 0.95, $"TPR {metrics.TruePositiveRate:P1}: {Describe(suspects)}");
        Assert.True(metrics.FalsePositiveRate <= 0.01, $"FPR {metrics.FalsePositiveRate:P2}: {Describe(suspects)}");
        Assert.All(suspects.Where(s => s.Flagged), s => Assert.True(s.Label == 0 && s.Shift >= ClassConditionalSearch.LoneShiftRatio * s.OtherLabelsShift, Describe(suspects)));
        Assert.Contains("x the strongest other label's shift", suspects.First(s => s.Flagged).Agreements);
    }

    [Fact]
    public void TooFewLabelsToCompareAreNotSearched()
    {
        var fixture = LabelFixture.Build(seed: 24, group: _ => LabelFixture.Trigger(0.8), labels: 2);

        var (groups, notSearched) = ClassConditionalSearch.Find(fixture.Features, 0, fixture.Labels, fixture.Nothing, Options);

        Assert.Empty(groups);
        Assert.Contains("2 label(s) are too few", notSearched);
        // The verdict must not read as though every label had been searched and found clean.
        var result = FlareDetector.Detect(fixture.Features, new DetectionOptions { MinClusterSize = 20, MaxDroppedLayers = 0 }, SilentProgress.Instance, fixture.Labels);
        Assert.DoesNotContain("nor within any label", result.Verdict);
        Assert.Contains("labels not searched: 2 label(s) are too few", result.Verdict);
    }

    [Fact]
    public void SamplesTheWholeSetFlaggedAreLeftOutOfTheirLabels()
    {
        // Label 0's poison is an island of the whole set (far in every layer) that the whole-set
        // search flagged; labels 1-4 hold groups with a shared trigger shift, apart only within their labels.
        var fixture = LabelFixture.Build(seed: 25, group: _ => LabelFixture.Trigger(0.8), trigger: true, island: true);
        var flaggedByTheWholeSet = Enumerable.Range(0, fixture.Labels.Length).Select(i => fixture.Labels[i] == 0 && fixture.Truth[i]).ToArray();

        var suspects = ClassConditionalSearch.Find(fixture.Features, 0, fixture.Labels, flaggedByTheWholeSet, Options).Groups;

        Assert.DoesNotContain(suspects, s => s.Members.Any(m => flaggedByTheWholeSet[m]));
        Assert.Equal([1, 2, 3, 4], suspects.Where(s => s.Flagged).Select(s => s.Label!.Value).Distinct().Order());
        var metrics = fixture.Score(suspects);
        Assert.True(metrics.FalsePositiveRate <= 0.01, $"FPR {metrics.FalsePositiveRate:P2}: {Describe(suspects)}");
    }

    [Fact]
    public void TheLabelsFlagsJoinTheResult()
    {
        var fixture = LabelFixture.Build(seed: 22, group: _ => LabelFixture.Trigger(0.8), trigger: true);

        var result = FlareDetector.Detect(fixture.Features, new DetectionOptions { MinClusterSize = 20, MaxDroppedLayers = 0 }, SilentProgress.Instance, fixture.Labels);

        var metrics = DetectionMetrics.Compute(result.Flagged, fixture.Truth);
        var where = $"{result.Verdict} | {Describe(result.Suspects)}";
        Assert.True(metrics.TruePositiveRate >= 0.95, $"TPR {metrics.TruePositiveRate:P1}: {where}");
        Assert.True(metrics.FalsePositiveRate <= 0.01, $"FPR {metrics.FalsePositiveRate:P2}: {where}");
        Assert.Contains("within 5 label(s)", result.Verdict);
        Assert.True(result.StrongestSuspect is { Flagged: true, Label: not null }, where);
    }

    [Fact]
    public void TheStageCanBeSwitchedOff()
    {
        var fixture = LabelFixture.Build(seed: 22, group: _ => LabelFixture.Trigger(0.8), trigger: true);

        var result = FlareDetector.Detect(fixture.Features, new DetectionOptions { MinClusterSize = 20, MaxDroppedLayers = 0, WithinLabels = false }, SilentProgress.Instance, fixture.Labels);

        Assert.DoesNotContain(result.Suspects, s => s.Label is not null);
    }

    private static string Describe(IEnumerable<SuspectCluster> suspects) =>
        string.Join("; ", suspects.Where(s => s.Flagged || s.Shift >= 0.5).Select(s => $"label {s.Label?.ToString() ?? "-"}: {s.Size}/{s.Members.Length} shift {s.Shift:F2} {s.Agreements} flagged {s.Flagged}"));

    /// <summary>
    /// Three layers: two early ones (eight columns each) and the last (48 channels). Label l's
    /// samples form a blob at 12 on early column l and carry class l's template (4 on channel l) in
    /// the last, with unit noise. The first <see cref="Group"/> samples of every label form a tight
    /// group 6 away in the early layers, on a column of the label's own (5 + l), or with
    /// <c>trigger</c> the same way in every label (columns 10 to 15), and shifted in the last layer
    /// as the case says. The last <see cref="Group"/> samples of every label are a benign mode of it: as
    /// tight, 6 the other way on the label's own column, not shifted in the last layer. With
    /// <c>island</c>, label 0's group is far from everything instead: an island of the whole set.
    /// With <c>hidden</c>, that many more samples per label are poisoned but look like the rest of
    /// their label in these features (see <see cref="Penultimate"/>).
    /// </summary>
    private sealed record LabelFixture(LatentFeatures Features, int[] Labels, bool[] Truth)
    {
        private const int LastChannels = 48;

        public bool[] Nothing => new bool[Labels.Length];

        public DetectionMetrics Score(IEnumerable<SuspectCluster> suspects)
        {
            var flagged = new bool[Labels.Length];
            foreach (var suspect in suspects.Where(s => s.Flagged))
                foreach (var member in suspect.Members) flagged[member] = true;
            return DetectionMetrics.Compute(flagged, Truth);
        }

        /// <summary>A group not shifted in the last layer.</summary>
        public static double[] NoShift => new double[LastChannels];

        /// <summary>A last-layer shift of <paramref name="size"/> (RMS over channels) from class l towards class other.</summary>
        public static double[] TowardsClass(int label, int other, double size)
        {
            var shift = new double[LastChannels];
            var each = size * Math.Sqrt(LastChannels / 2.0);
            shift[label] = -each;
            shift[other] = each;
            return shift;
        }

        /// <summary>A last-layer shift of <paramref name="size"/> (RMS) along channels no class template uses.</summary>
        public static double[] Trigger(double size)
        {
            var shift = new double[LastChannels];
            for (var c = LastChannels / 2; c < LastChannels; c++) shift[c] = size * Math.Sqrt(2.0);
            return shift;
        }

        /// <summary>Sixteen penultimate activations per sample: unit noise, and every poisoned sample of label l <paramref name="triggerShift"/> away on column l.</summary>
        public DenseMatrix Penultimate(ulong seed, double triggerShift)
        {
            var random = new SeededRandom(seed);
            const int Columns = 16;
            var values = new float[Labels.Length * Columns];
            for (var i = 0; i < Labels.Length; i++)
                for (var c = 0; c < Columns; c++)
                    values[i * Columns + c] = (float)(random.NextGaussian() + (Truth[i] && c == Labels[i] ? triggerShift : 0));
            return new DenseMatrix(Labels.Length, Columns, values);
        }

        private const int EarlyColumns = 16, TriggerColumns = 6;

        public static LabelFixture Build(ulong seed, Func<int, double[]> group, int labels = LabelCount, bool trigger = false, bool island = false, int hidden = 0)
        {
            var random = new SeededRandom(seed);
            var rows = new List<float[]>();
            var labelOf = new List<int>();
            var truth = new List<bool>();
            for (var label = 0; label < labels; label++)
                for (var i = 0; i < PerLabel; i++)
                {
                    var inGroup = i < Group;
                    var inMode = i >= PerLabel - Group;
                    var isIsland = island && label == 0 && inGroup;
                    var row = new float[EarlyColumns + LastChannels];
                    for (var c = 0; c < EarlyColumns; c++)
                    {
                        var groupOffset = inMode ? (c == 5 + label ? -6 : 0)
                            : !inGroup ? 0
                            : trigger ? (c >= EarlyColumns - TriggerColumns ? 6 / Math.Sqrt(TriggerColumns) : 0)
                            : (c == 5 + label ? 6 : 0);
                        var centre = isIsland ? 200.0 : (c == label ? 12.0 : 0) + groupOffset;
                        row[c] = (float)(centre + (inGroup || inMode ? 0.3 : 1.0) * random.NextGaussian());
                    }
                    var shift = isIsland ? Enumerable.Repeat(50.0, LastChannels).ToArray() : inGroup ? group(label) : new double[LastChannels];
                    for (var c = 0; c < LastChannels; c++)
                        row[EarlyColumns + c] = (float)((c == label ? 4 : 0) + shift[c] + random.NextGaussian());
                    rows.Add(row);
                    labelOf.Add(label);
                    truth.Add(inGroup || i < Group + hidden);
                }
            int[] layers = [.. Enumerable.Repeat(0, EarlyColumns / 2), .. Enumerable.Repeat(1, EarlyColumns / 2), .. Enumerable.Repeat(2, LastChannels)];
            return new LabelFixture(new LatentFeatures(DenseMatrix.FromRows(rows), layers, Representation.Channel), labelOf.ToArray(), truth.ToArray());
        }
    }
}
