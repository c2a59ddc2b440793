using System.Globalization;
using System.Diagnostics;
using Flare.Manifold;
using Flare.Manifold.Clustering;
using Flare.Manifold.Neighbors;
using Flare.Native;
using Flare.Progress;

namespace Flare.Detection;

/// <summary>Wall time of each detection stage, in seconds.</summary>
public sealed record StageTimes
{
    public double Training { get; init; }
    public double Extraction { get; init; }
    public double Umap { get; init; }
    public double Hdbscan { get; init; }
    public double SubspaceSearch { get; init; }
}

/// <summary>
/// A cluster FLARE weighed: in which subspace (k) and label (null: the whole data set), the evidence
/// its test measured, and whether it was flagged. Size is the cluster's; a flagged cluster also holds,
/// in Members, the samples it was extended by within its labels (<see cref="GroupExtension"/>).
/// </summary>
public sealed record SuspectCluster(int DroppedLayers, int? Label, int Size, bool Flagged)
{
    public required int[] Members { get; init; }

    /// <summary>1 when flagged; otherwise how close the cluster came to its test, below 1 (1 - isolation in the whole set, 0 for whole classes; within a label the shift over the bar that counted as large, or its agreement across labels).</summary>
    public required double Suspicion { get; init; }

    /// <summary>The highest suspicion of a cluster that was not flagged: flagged samples always rank first.</summary>
    public const double HighestUnflagged = 0.99;

    /// <summary>Whole set: the density at which it splits off over the density at which the majority splits.</summary>
    public double? Isolation { get; init; }

    /// <summary>Whole set, flagged: its members set aside as trigger carriers that keep their labels (<see cref="TriggerCarriers"/>); they rank just below flagged samples.</summary>
    public int[] Carriers { get; init; } = [];

    /// <summary>Whole set, with carriers set aside: the split of all islands that set them aside, with its evidence.</summary>
    public CarrierSplit? CarrierSplit { get; init; }

    /// <summary>Whole set: the labels it holds whole when it is classes, not poison (<see cref="WholeLabelIslands"/>); empty otherwise.</summary>
    public IReadOnlyList<int> WholeLabels { get; init; } = [];

    /// <summary>Within a label: the shift from the rest of the label, in its standard deviations (RMS over columns), measured in <see cref="ShiftSpace"/>.</summary>
    public double? Shift { get; init; }

    /// <summary>Within a label: where the shift was measured (the penultimate activations, else the last BatchNorm layer).</summary>
    public string? ShiftSpace { get; init; }

    /// <summary>Within a label: the shift that counted as large in this data set (at least 1, and a multiple of the median cluster's).</summary>
    public double? LargeShiftBar { get; init; }

    /// <summary>Within a label: the cosine by which its shift recurs in the median other label.</summary>
    public double? Agreement { get; init; }

    /// <summary>Within a label: the strongest shift of any other label's group, which an all-to-one group must exceed <see cref="ClassConditionalSearch.LoneShiftRatio"/> times; null with fewer than <see cref="ClassConditionalSearch.MinLabels"/> labels weighed, or where the shift is read in the last BatchNorm layer.</summary>
    public double? OtherLabelsShift { get; init; }

    /// <summary>Within a label, for a large shift: the cosine by which its shift in the first layers recurs among the other labels' large shifts (the median label's best); null when not measured.</summary>
    public double? EarlyAgreement { get; init; }

    /// <summary>Within a label, for a shift that recurs across labels: the cosine by which its shift in the first layers recurs among the other labels' recurring shifts (the median label's best); null when not measured.</summary>
    public double? SharedEarlyAgreement { get; init; }

    /// <summary>Within a label: how it compares with other labels, as the verdict and the reports print it.</summary>
    public string Agreements => string.Create(CultureInfo.InvariantCulture,
        $"agreement {Agreement:G2}{(SharedEarlyAgreement is { } shared ? $" (first layers {shared:G2})" : "")}{(EarlyAgreement is { } early ? $", first layers among large shifts {early:G2}" : "")}{(OtherLabelsShift is > 0 and { } other ? $", {Shift / other:G2}x the strongest other label's shift" : "")}");
}

/// <summary>What FLARE concluded about a data set.</summary>
public sealed record DetectionResult
{
    public required bool[] Flagged { get; init; }

    /// <summary>Per sample, the primary cluster (a child of the condensed tree's root) it belongs to, or -1.</summary>
    public required int[] PrimaryCluster { get; init; }

    /// <summary>Layers dropped in the subspace where the poisoned cluster was found (k); null when none was.</summary>
    public required int? DroppedLayers { get; init; }

    public required IReadOnlyList<SubspaceTrial> Trials { get; init; }
    public required PoisonedClusterDecision? Decision { get; init; }

    /// <summary>Every minority cluster weighed, in the whole data set (stable subspaces) and within labels (the class-conditional stage).</summary>
    public required IReadOnlyList<SuspectCluster> Suspects { get; init; }

    /// <summary>
    /// Per sample, the suspicion of the most suspicious cluster holding it (global or within a
    /// label), 0 for samples in none. When nothing is flagged, the top of this ranking is where to look.
    /// </summary>
    public required double[] Suspicion { get; init; }

    /// <summary>The most suspicious cluster weighed anywhere, flagged or not: the strongest evidence the search saw.</summary>
    public SuspectCluster? StrongestSuspect => Suspects.MaxBy(s => s.Suspicion);
    public required string Verdict { get; init; }
    public required Representation Representation { get; init; }
    public required int MinClusterSize { get; init; }
    public required StageTimes Times { get; init; }

    /// <summary>The subspace the report shows: where the poisoned cluster was found, else the first stable one, else k = 0.</summary>
    public required SubspaceTrial Shown { get; init; }

    public int FlaggedCount => Flagged.Count(f => f);
}

/// <summary>
/// FLARE's detection stage on extracted features. For k = 0, 1, ... (up to the option's limit) it
/// tries the subspace without the last k layers; in a stable subspace it makes the stability-based
/// choice, and stops at the first subspace where that choice finds a poisoned cluster. Benign data
/// split by class in the deep layers can hide the poisoned cluster, which is why a stable subspace
/// without one does not end the search.
/// </summary>
public static class FlareDetector
{
    /// <param name="labels">The training labels; with them the whole set's islands made of whole labels are passed over as classes (<see cref="WholeLabelIslands"/>), and the search also looks within each label (<see cref="ClassConditionalSearch"/>) and flags the islands it finds there beside the whole set's.</param>
    /// <param name="penultimate">The input of the model's last linear layer, where the whole set's islands and a label's flagged groups are extended, the islands' trigger carriers set aside (<see cref="TriggerCarriers"/>), and a label's groups clustered and measured (<see cref="ClassConditionalSearch"/>) unless <see cref="DetectionOptions.LabelsInBatchNorm"/>; without it, the BatchNorm features serve.</param>
    public static DetectionResult Detect(LatentFeatures features, DetectionOptions options, IProgressSink progress, IReadOnlyList<int>? labels = null, DenseMatrix? penultimate = null, CancellationToken cancellationToken = default)
    {
        options.Validate();
        var minClusterSize = options.MinClusterSizeFor(features.Count);
        if (features.Count < 2 * minClusterSize)
            throw new FlareException($"{features.Count} samples are too few for detection with min_cluster_size {minClusterSize} (need at least {2 * minClusterSize}); lower --min-cluster-size");
        var maxDropped = options.MaxDroppedLayersFor(features.LayerCount);
        var clock = Stopwatch.StartNew();
        var trials = new List<SubspaceTrial>();
        var suspects = new List<SuspectCluster>();
        PoisonedClusterDecision? decision = null;
        SubspaceTrial? deciding = null;
        var classes = labels is null ? null : new WholeLabelIslands(labels);
        using (var stage = progress.Begin("searching a stable subspace", maxDropped + 1))
        {
            KnnGraph? neighbors = null;
            for (var k = 0; k <= maxDropped && deciding is null; k++)
            {
                var trial = StableSubspaceSearch.Try(features, k, options, ref neighbors, cancellationToken);
                trials.Add(trial);
                ProcessMemory.Release(); // hand this subspace's UMAP garbage back before the next one
                string status;
                if (trial.Stable)
                {
                    var choice = PoisonedClusterChoice.Choose(trial.Clustering.CondensedTree, options.Isolation, options.Depth, classes);
                    decision ??= choice; // the first stable subspace's choice is the one shown when none decides
                    suspects.AddRange(Suspects(trial, choice));
                    if (choice.PoisonedClusters.Count > 0) (decision, deciding) = (choice, trial);
                    status = choice.PoisonedClusters.Count == 0 ? "stable, no isolated minority cluster" : $"{choice.PoisonedClusters.Count} poisoned cluster(s) found";
                }
                else
                {
                    status = "not stable";
                }
                stage.Advance(1, $"k={k}: {status}");
            }
        }
        var shown = deciding ?? trials.FirstOrDefault(t => t.Stable) ?? trials[0];
        var tree = shown.Clustering.CondensedTree;
        // An island is the core of its labels' poison: extended within each label it holds, where the classifier reads.
        var islandSize = suspects.Where(s => s.Flagged).SelectMany(s => s.Members).Distinct().Count();
        var readLabels = deciding is not null && labels is not null && penultimate is not null && options.WithinLabels;
        if (readLabels)
            suspects = suspects.Select(s => s.Flagged ? s with { Members = GroupExtension.ExtendIsland(penultimate!, labels!, s.Members, minClusterSize) } : s).ToList();
        var flagged = FlaggedBy(features.Count, suspects);
        var islandExtension = flagged.Count(f => f) > islandSize ? $", extended within their labels to {flagged.Count(f => f)} samples" : "";
        // Cover samples carry the trigger under their own labels: set aside where the island's groups say so.
        var carrierText = "";
        if (readLabels)
        {
            var split = TriggerCarriers.Split(penultimate!, labels!, Enumerable.Range(0, flagged.Length).Where(i => flagged[i]).ToArray(), flagged, minClusterSize);
            if (split.Carriers.Length > 0)
            {
                suspects = suspects.Select(s => s.Flagged ? SetAsideCarriers(s, split) : s).ToList();
                flagged = FlaggedBy(features.Count, suspects);
                carrierText = $"; {split.Carriers.Length} of them set aside as trigger carriers that keep their labels ({split.Evidence}), not flagged";
            }
        }

        // All-to-all and untargeted poison splits by target label: one island in the whole set need
        // not be all of it, so the labels are searched whether or not the whole set held one.
        var searchedLabels = labels is not null && options.WithinLabels;
        string? labelsNotSearched = null;
        if (searchedLabels)
        {
            using var stage = progress.Begin($"searching within each label (k = {shown.DroppedLayers})", 1);
            var explained = (bool[])flagged.Clone();
            foreach (var point in suspects.SelectMany(s => s.Carriers)) explained[point] = true;
            var (groups, notSearched) = ClassConditionalSearch.Find(features, shown.DroppedLayers, labels!, explained, options, penultimate, cancellationToken);
            foreach (var group in groups.Where(i => i.Flagged))
                foreach (var point in group.Members) flagged[point] = true;
            suspects.AddRange(groups);
            ProcessMemory.Release();
            labelsNotSearched = notSearched is null ? null : $"; labels not searched: {notSearched}";
            stage.Advance(1, notSearched is null ? $"{groups.Where(i => i.Flagged).Select(i => i.Label).Distinct().Count()} label(s) with a shifted group" : "not searched");
        }
        var searchSeconds = clock.Elapsed.TotalSeconds;
        var flaggedGroups = suspects.Where(s => s.Flagged && s.Label is not null).ToList();
        var withinLabels = flaggedGroups.Count > 0
            ? $"within {flaggedGroups.Select(g => g.Label).Distinct().Count()} label(s) a group stands apart from its label in the {flaggedGroups[0].ShiftSpace} ({string.Join(", ", flaggedGroups.Select(g => $"label {g.Label}: {g.Size} samples, extended to {g.Members.Length}, shift {g.Shift:G2}, {g.Agreements}"))})"
            : null;
        var verdict = (deciding, withinLabels) switch
        {
            (not null, null) => decision!.Reason + islandExtension + carrierText + labelsNotSearched,
            (not null, _) => $"{decision!.Reason}{islandExtension}{carrierText}; {withinLabels}",
            (null, not null) => $"no island in the whole data set; {withinLabels}",
            _ => trials.Any(t => t.Stable)
                ? $"no isolated minority cluster in the stable subspaces (k = 0..{maxDropped}){(searchedLabels && labelsNotSearched is null ? " nor within any label" : "")}: nothing flagged{labelsNotSearched}"
                : $"no stable subspace (k = 0..{maxDropped}): nothing flagged{labelsNotSearched}",
        };
        return new DetectionResult
        {
            Flagged = flagged,
            PrimaryCluster = PrimaryClusters(tree, decision),
            DroppedLayers = deciding?.DroppedLayers ?? (flaggedGroups.Count > 0 ? shown.DroppedLayers : null),
            Trials = trials,
            Suspects = suspects,
            Suspicion = Suspicion(features.Count, suspects),
            Shown = shown,
            Decision = decision,
            Verdict = verdict,
            Representation = features.Representation,
            MinClusterSize = minClusterSize,
            Times = new StageTimes
            {
                Umap = trials.Sum(t => t.UmapSeconds),
                Hdbscan = trials.Sum(t => t.HdbscanSeconds),
                SubspaceSearch = searchSeconds,
            },
        };
    }

    private static bool[] FlaggedBy(int count, IEnumerable<SuspectCluster> suspects)
    {
        var flagged = new bool[count];
        foreach (var suspect in suspects.Where(s => s.Flagged))
            foreach (var point in suspect.Members) flagged[point] = true;
        return flagged;
    }

    private static SuspectCluster SetAsideCarriers(SuspectCluster island, CarrierSplit split)
    {
        var carriers = new HashSet<int>(split.Carriers);
        return island with
        {
            Members = island.Members.Where(i => !carriers.Contains(i)).ToArray(),
            Carriers = island.Members.Where(carriers.Contains).ToArray(),
            CarrierSplit = split,
        };
    }

    // Every minority cluster the choice weighed in a stable subspace, with its members.
    private static IEnumerable<SuspectCluster> Suspects(SubspaceTrial trial, PoisonedClusterDecision choice) =>
        choice.Candidates.Select(candidate => new SuspectCluster(trial.DroppedLayers, null, candidate.Size, choice.IsPoisoned(candidate.Cluster))
        {
            Members = trial.Clustering.CondensedTree.Points(candidate.Cluster),
            Suspicion = choice.IsPoisoned(candidate.Cluster) ? 1 : candidate.WholeLabels.Count > 0 ? 0 : Math.Clamp(1 - candidate.Isolation, 0, SuspectCluster.HighestUnflagged),
            Isolation = candidate.Isolation,
            WholeLabels = candidate.WholeLabels,
        });

    private static double[] Suspicion(int count, IEnumerable<SuspectCluster> suspects)
    {
        var suspicion = new double[count];
        foreach (var suspect in suspects)
        {
            foreach (var point in suspect.Members) suspicion[point] = Math.Max(suspicion[point], suspect.Suspicion);
            foreach (var point in suspect.Carriers) suspicion[point] = Math.Max(suspicion[point], SuspectCluster.HighestUnflagged);
        }
        return suspicion;
    }

    // The root's children, refined by the clusters the choice compared when it looked further down.
    private static int[] PrimaryClusters(CondensedTree tree, PoisonedClusterDecision? decision)
    {
        var labels = new int[tree.PointCount];
        Array.Fill(labels, -1);
        var compared = decision?.Primary.Select(c => c.Id) ?? [];
        foreach (var cluster in tree.ChildClusters(tree.Root).Concat(compared))
            foreach (var point in tree.Points(cluster)) labels[point] = cluster;
        return labels;
    }
}
