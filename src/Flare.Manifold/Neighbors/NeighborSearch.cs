namespace Flare.Manifold.Neighbors;

/// <summary>How to find the k nearest neighbours.</summary>
public enum NeighborMethod
{
    /// <summary>Exact below <see cref="NeighborSearch.ExactWorkLimit"/>, NN-descent above it.</summary>
    Auto,
    Exact,
    NNDescent,
}

/// <summary>Chooses and runs a neighbour search.</summary>
public static class NeighborSearch
{
    /// <summary>
    /// Largest N * N * D for which Auto runs the exact search. The blocked exact search does N^2 D multiply-adds at
    /// near-peak SIMD throughput; measured on a 2-core Zen 5 it beats NN-descent (k = 40, recall 0.999 there) up to
    /// roughly this size (10,000 x 512 or 50,000 x 20 exact: 1 to 2.5 s, NN-descent 2 to 4 s), and is exact.
    /// Beyond it NN-descent's ~N k^2 D scaling wins.
    /// </summary>
    public const double ExactWorkLimit = 1e11;

    /// <param name="startFrom">Neighbours of the same points in a related space, where NN-descent may start instead of its trees (the exact search ignores it).</param>
    public static KnnGraph Compute(
        DenseMatrix data,
        int k,
        DistanceMetric metric = DistanceMetric.Euclidean,
        NeighborMethod method = NeighborMethod.Auto,
        int seed = 0,
        IProgress<StageProgress>? progress = null,
        CancellationToken cancellationToken = default,
        KnnGraph? startFrom = null)
    {
        Validate(data, k);
        bool exact = method switch
        {
            NeighborMethod.Exact => true,
            NeighborMethod.NNDescent => false,
            _ => (double)data.Rows * data.Rows * Math.Max(1, data.Columns) <= ExactWorkLimit,
        };
        return exact
            ? ExactNeighbors.Compute(data, k, metric, progress, cancellationToken)
            : NNDescent.Compute(data, k, metric, new NNDescentOptions { Seed = seed, StartFrom = startFrom }, progress, cancellationToken);
    }

    internal static void Validate(DenseMatrix data, int k)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.Rows < 2)
        {
            throw new ArgumentException($"need at least 2 points, got {data.Rows}.", nameof(data));
        }

        if (data.Columns < 1)
        {
            throw new ArgumentException("data has no columns.", nameof(data));
        }

        if (k < 1 || k > data.Rows)
        {
            throw new ArgumentOutOfRangeException(nameof(k), k, $"k must be in [1, {data.Rows}] (the number of points).");
        }

        data.EnsureFinite(nameof(data));
    }
}
