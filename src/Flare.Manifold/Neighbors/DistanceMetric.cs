namespace Flare.Manifold.Neighbors;

/// <summary>Input-space metrics. Cosine is 1 - cos(angle), as in umap-learn and pynndescent.</summary>
public enum DistanceMetric
{
    Euclidean,
    Cosine,
}
