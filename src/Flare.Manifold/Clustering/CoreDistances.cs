using Flare.Manifold.Neighbors;

namespace Flare.Manifold.Clustering;

/// <summary>
/// Each point's core distance, as hdbscan defines it: the distance to its min_samples-th nearest other point
/// (hdbscan queries min_samples + 1 neighbours, the point itself first, and takes the last). The neighbour lists
/// are kept: Boruvka starts from them.
/// </summary>
public sealed class CoreDistances
{
    private CoreDistances(float[] distances, int neighborCount, int[] neighbors, KdTree? tree)
    {
        Distances = distances;
        NeighborCount = neighborCount;
        Neighbors = neighbors;
        Tree = tree;
    }

    /// <summary>Core distance of each point, by original row index.</summary>
    public float[] Distances { get; }

    /// <summary>Neighbours per point kept in <see cref="Neighbors"/> (min_samples + 1, self first).</summary>
    public int NeighborCount { get; }

    /// <summary>Row-major neighbour lists by original row index, ascending distance.</summary>
    public int[] Neighbors { get; }

    internal KdTree? Tree { get; }

    /// <summary>Uses a k-d tree up to 16 dimensions and the blocked exact search above.</summary>
    public static CoreDistances Compute(DenseMatrix data, int minSamples, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (minSamples < 1 || minSamples >= data.Rows)
        {
            throw new ArgumentOutOfRangeException(nameof(minSamples), minSamples, $"minSamples must be in [1, {data.Rows - 1}] (points - 1).");
        }

        int k = minSamples + 1;
        int n = data.Rows;
        var core = new float[n];
        var neighbors = new int[n * k];
        if (data.Columns > 16)
        {
            var knn = ExactNeighbors.Compute(data, k, DistanceMetric.Euclidean, null, cancellationToken);
            for (int i = 0; i < n; i++)
            {
                core[i] = knn.Distances[(i * k) + k - 1];
            }

            Array.Copy(knn.Indices, neighbors, neighbors.Length);
            return new CoreDistances(core, k, neighbors, null);
        }

        var tree = new KdTree(data);
        var (positions, squared) = tree.AllNearest(k, cancellationToken);
        for (int q = 0; q < n; q++)
        {
            int point = tree.Order[q];
            core[point] = MathF.Sqrt(squared[(q * k) + k - 1]);
            for (int j = 0; j < k; j++)
            {
                neighbors[(point * k) + j] = tree.Order[positions[(q * k) + j]];
            }
        }

        return new CoreDistances(core, k, neighbors, tree);
    }
}
