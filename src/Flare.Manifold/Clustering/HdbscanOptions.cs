namespace Flare.Manifold.Clustering;

/// <summary>HDBSCAN settings with hdbscan's names and defaults.</summary>
public sealed record HdbscanOptions
{
    /// <summary>min_cluster_size: the smallest group that counts as a cluster.</summary>
    public int MinClusterSize { get; init; } = 5;

    /// <summary>min_samples: neighbours for the core distance; null = MinClusterSize.</summary>
    public int? MinSamples { get; init; }

    /// <summary>cluster_selection_method.</summary>
    public ClusterSelectionMethod Selection { get; init; } = ClusterSelectionMethod.Eom;

    /// <summary>allow_single_cluster: whether the root may be selected as the one cluster.</summary>
    public bool AllowSingleCluster { get; init; }

    /// <summary>cluster_selection_epsilon: clusters born below this distance merge upwards (0 = off).</summary>
    public double ClusterSelectionEpsilon { get; init; }

    internal int EffectiveMinSamples(int points) => Math.Max(1, Math.Min(points - 1, MinSamples ?? MinClusterSize));

    internal void Validate()
    {
        if (MinClusterSize < 2)
        {
            throw new ArgumentOutOfRangeException(nameof(MinClusterSize), MinClusterSize, "MinClusterSize must be at least 2.");
        }

        if (MinSamples is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MinSamples), MinSamples, "MinSamples must be positive (or null for MinClusterSize).");
        }

        if (!(ClusterSelectionEpsilon >= 0) || !double.IsFinite(ClusterSelectionEpsilon))
        {
            throw new ArgumentOutOfRangeException(nameof(ClusterSelectionEpsilon), ClusterSelectionEpsilon, "ClusterSelectionEpsilon must be finite and non-negative.");
        }
    }
}
