namespace Flare.Detection;

/// <summary>FLARE's detection settings; defaults are the authors' (UMAP 40 neighbours, min_dist 0, 2-D, seed 42; xi 0.02, d 3).</summary>
public sealed record DetectionOptions
{
    /// <summary>Per channel (the paper's): it measured better than per layer on CIFAR-10 (docs/results.md).</summary>
    public Representation Representation { get; init; } = Representation.Channel;

    /// <summary>Stability threshold xi on the persistence kappa = lambda_end - lambda_start.</summary>
    public double Xi { get; init; } = 0.02;

    /// <summary>How many levels below the largest cluster the stability walk looks (d).</summary>
    public int Depth { get; init; } = 3;

    /// <summary>HDBSCAN's min_cluster_size; null scales with the data set (100 at 50,000 samples).</summary>
    public int? MinClusterSize { get; init; }

    public int Neighbors { get; init; } = 40;
    public double MinDist { get; init; }
    public int Seed { get; init; } = 42;

    /// <summary>The most layers the subspace search may drop; null allows half of them ("the last few").</summary>
    public int? MaxDroppedLayers { get; init; }

    /// <summary>A minority cluster is poisoned only if it splits off at no more than this fraction of the density at which the majority splits.</summary>
    public double Isolation { get; init; } = PoisonedClusterChoice.DefaultIsolation;

    /// <summary>Also search within each training label (<see cref="ClassConditionalSearch"/>), extend the whole set's islands within their labels (<see cref="GroupExtension"/>) and set aside their trigger carriers (<see cref="TriggerCarriers"/>), when the labels are known.</summary>
    public bool WithinLabels { get; init; } = true;

    /// <summary>
    /// Cluster each label in the whole search's subspace and measure its clusters in the last BatchNorm
    /// layer, as models without a readable linear head always are, instead of in the penultimate
    /// activations: the default before 2026-12-06, for comparison (docs/results.md, "One trigger in the first layers").
    /// </summary>
    public bool LabelsInBatchNorm { get; init; }

    /// <summary>100 at 50,000 samples, the authors' setting, proportionally smaller for smaller sets, never below 10.</summary>
    public static int ScaledMinClusterSize(int samples) => Math.Max(10, (int)Math.Round(samples / 500.0));

    public int MinClusterSizeFor(int samples) => MinClusterSize ?? ScaledMinClusterSize(samples);

    public int MaxDroppedLayersFor(int layers) => Math.Clamp(MaxDroppedLayers ?? layers / 2, 0, Math.Max(0, layers - 1));

    public void Validate()
    {
        if (!(Xi > 0) || double.IsInfinity(Xi)) throw new FlareException($"--xi must be a positive number, got {Xi}");
        if (Depth < 1) throw new FlareException($"--depth must be at least 1, got {Depth}");
        if (MinClusterSize is < 2) throw new FlareException($"--min-cluster-size must be at least 2, got {MinClusterSize}");
        if (Neighbors < 2) throw new FlareException($"--neighbors must be at least 2, got {Neighbors}");
        if (MaxDroppedLayers is < 0) throw new FlareException($"--max-dropped-layers must not be negative, got {MaxDroppedLayers}");
        if (!(Isolation > 0 && Isolation <= 1)) throw new FlareException($"--isolation must be in (0, 1], got {Isolation}");
    }
}
