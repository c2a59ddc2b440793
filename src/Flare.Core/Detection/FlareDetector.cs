using System.Diagnostics;
using Flare.Manifold;
using Flare.Manifold.Clustering;
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

/// <summary>What FLARE concluded about a data set.</summary>
public sealed record DetectionResult
{
    public required bool[] Flagged { get; init; }

    /// <summary>Per sample, the primary cluster (a child of the condensed tree's root) it belongs to, or -1.</summary>
    public required int[] PrimaryCluster { get; init; }

    /// <summary>Layers dropped in the chosen subspace (k); null when no subspace was stable.</summary>
    public required int? DroppedLayers { get; init; }

    public required IReadOnlyList<SubspaceTrial> Trials { get; init; }
    public required PoisonedClusterDecision? Decision { get; init; }
    public required string Verdict { get; init; }
    public required Representation Representation { get; init; }
    public required int MinClusterSize { get; init; }
    public required StageTimes Times { get; init; }

    /// <summary>The trial detection decided in (the stable one, or the last tried).</summary>
    public SubspaceTrial FinalTrial => Trials[^1];

    public int FlaggedCount => Flagged.Count(f => f);
}

/// <summary>FLARE's detection stage on extracted features: stable subspace search, then the stability-based choice.</summary>
public static class FlareDetector
{
    public static DetectionResult Detect(LatentFeatures features, DetectionOptions options, IProgressSink progress, CancellationToken cancellationToken = default)
    {
        options.Validate();
        var minClusterSize = options.MinClusterSizeFor(features.Count);
        if (features.Count < 2 * minClusterSize)
            throw new FlareException($"{features.Count} samples are too few for detection with min_cluster_size {minClusterSize} (need at least {2 * minClusterSize}); lower --min-cluster-size");
        var clock = Stopwatch.StartNew();
        var trials = StableSubspaceSearch.Run(features, options, progress, cancellationToken);
        var searchSeconds = clock.Elapsed.TotalSeconds;
        var final = trials[^1];
        var tree = final.Clustering!.CondensedTree;
        var primary = PrimaryClusters(tree);
        var flagged = new bool[features.Count];
        PoisonedClusterDecision? decision = null;
        string verdict;
        if (!final.Stable)
        {
            verdict = $"no stable subspace after dropping up to {final.DroppedLayers} layers: nothing flagged";
        }
        else
        {
            decision = PoisonedClusterChoice.Choose(tree);
            if (decision.PoisonedCluster is { } poisoned)
                foreach (var point in tree.Points(poisoned)) flagged[point] = true;
            verdict = decision.Reason;
        }
        return new DetectionResult
        {
            Flagged = flagged,
            PrimaryCluster = primary,
            DroppedLayers = final.Stable ? final.DroppedLayers : null,
            Trials = trials,
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

    private static int[] PrimaryClusters(CondensedTree tree)
    {
        var labels = new int[tree.PointCount];
        Array.Fill(labels, -1);
        foreach (var cluster in tree.ChildClusters(tree.Root))
            foreach (var point in tree.Points(cluster)) labels[point] = cluster;
        return labels;
    }
}
