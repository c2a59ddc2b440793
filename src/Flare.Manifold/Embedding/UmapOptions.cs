using Flare.Manifold.Neighbors;

namespace Flare.Manifold.Embedding;

/// <summary>UMAP settings with umap-learn's names and defaults.</summary>
public sealed record UmapOptions
{
    /// <summary>n_neighbors: neighbourhood size, the point itself included.</summary>
    public int NeighborCount { get; init; } = 15;

    /// <summary>min_dist: how tightly points may pack in the embedding.</summary>
    public double MinDist { get; init; } = 0.1;

    /// <summary>spread: the scale of the embedded points.</summary>
    public double Spread { get; init; } = 1.0;

    /// <summary>n_components: dimension of the embedding.</summary>
    public int Components { get; init; } = 2;

    public DistanceMetric Metric { get; init; } = DistanceMetric.Euclidean;

    /// <summary>random_state: the same seed gives the same embedding on the same machine.</summary>
    public int Seed { get; init; } = 42;

    /// <summary>n_epochs; null = umap-learn's rule (500 up to 10,000 points, 200 above).</summary>
    public int? Epochs { get; init; }

    /// <summary>negative_sample_rate: negative samples per positive edge sample.</summary>
    public int NegativeSampleRate { get; init; } = 5;

    /// <summary>learning_rate: initial SGD step, decayed linearly to 0.</summary>
    public double LearningRate { get; init; } = 1.0;

    /// <summary>repulsion_strength (gamma): weight of negative samples.</summary>
    public double RepulsionStrength { get; init; } = 1.0;

    /// <summary>local_connectivity: neighbours assumed fully connected when computing rho.</summary>
    public double LocalConnectivity { get; init; } = 1.0;

    /// <summary>set_op_mix_ratio: 1 = fuzzy union, 0 = fuzzy intersection.</summary>
    public double SetOpMixRatio { get; init; } = 1.0;

    public UmapInitialization Initialization { get; init; } = UmapInitialization.Spectral;

    public NeighborMethod NeighborMethod { get; init; } = NeighborMethod.Auto;

    /// <summary>SGD schedule; both are deterministic for a seed.</summary>
    public UmapLayoutMode LayoutMode { get; init; } = UmapLayoutMode.Parallel;

    internal void Validate(int rows)
    {
        if (NeighborCount < 2)
        {
            throw new ArgumentOutOfRangeException(nameof(NeighborCount), NeighborCount, "NeighborCount must be at least 2.");
        }

        if (NeighborCount > rows)
        {
            throw new ArgumentOutOfRangeException(nameof(NeighborCount), NeighborCount, $"NeighborCount exceeds the number of points ({rows}).");
        }

        if (!(MinDist >= 0) || !double.IsFinite(MinDist))
        {
            throw new ArgumentOutOfRangeException(nameof(MinDist), MinDist, "MinDist must be finite and non-negative.");
        }

        if (!(Spread > 0) || !double.IsFinite(Spread) || MinDist > Spread)
        {
            throw new ArgumentOutOfRangeException(nameof(Spread), Spread, "Spread must be positive, finite and at least MinDist.");
        }

        if (Components < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(Components), Components, "Components must be at least 1.");
        }

        if (Epochs is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(Epochs), Epochs, "Epochs must be positive (or null for the default).");
        }

        if (NegativeSampleRate < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(NegativeSampleRate), NegativeSampleRate, "NegativeSampleRate must be non-negative.");
        }

        if (!(LearningRate > 0) || !double.IsFinite(LearningRate))
        {
            throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "LearningRate must be positive and finite.");
        }

        if (!(RepulsionStrength >= 0) || !double.IsFinite(RepulsionStrength))
        {
            throw new ArgumentOutOfRangeException(nameof(RepulsionStrength), RepulsionStrength, "RepulsionStrength must be non-negative and finite.");
        }

        if (!(LocalConnectivity >= 0) || !double.IsFinite(LocalConnectivity))
        {
            throw new ArgumentOutOfRangeException(nameof(LocalConnectivity), LocalConnectivity, "LocalConnectivity must be non-negative and finite.");
        }

        if (!(SetOpMixRatio is >= 0 and <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(SetOpMixRatio), SetOpMixRatio, "SetOpMixRatio must be in [0, 1].");
        }
    }
}

/// <summary>How the SGD epochs are scheduled.</summary>
public enum UmapLayoutMode
{
    /// <summary>Fixed chunks of edges on all cores; reads of other chunks' points lag by up to one epoch. Same seed, same result.</summary>
    Parallel,

    /// <summary>umap-learn's single-threaded update order exactly.</summary>
    Sequential,
}

/// <summary>How the embedding starts before SGD.</summary>
public enum UmapInitialization
{
    /// <summary>Eigenvectors of the graph's normalised Laplacian; falls back to Random when the graph is disconnected.</summary>
    Spectral,

    /// <summary>Uniform in [-10, 10] per coordinate.</summary>
    Random,
}
