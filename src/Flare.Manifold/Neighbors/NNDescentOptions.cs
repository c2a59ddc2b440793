namespace Flare.Manifold.Neighbors;

/// <summary>NN-descent settings; nulls take pynndescent's defaults as umap-learn calls it.</summary>
public sealed record NNDescentOptions
{
    public int Seed { get; init; }

    /// <summary>Random-projection trees; null = min(64, 5 + round(N^0.25 / 2)).</summary>
    public int? TreeCount { get; init; }

    /// <summary>Largest tree leaf; null = max(10, k).</summary>
    public int? LeafSize { get; init; }

    /// <summary>Maximum NN-descent rounds; null = max(5, round(log2 N)).</summary>
    public int? Iterations { get; init; }

    /// <summary>New and old candidates sampled per point and round (umap-learn passes 60).</summary>
    public int MaxCandidates { get; init; } = 60;

    /// <summary>
    /// A graph of the same points found in a related space (for example with more columns) to start from instead of
    /// random-projection trees: its neighbours are re-measured here and refined by the same rounds. Null: trees.
    /// </summary>
    public KnnGraph? StartFrom { get; init; }

    /// <summary>Stop once a round improves fewer than Delta * k * N heap entries.</summary>
    public double Delta { get; init; } = 0.001;
}
