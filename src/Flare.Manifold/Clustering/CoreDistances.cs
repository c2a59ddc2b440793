using System.Runtime.CompilerServices;
using Flare.Manifold.Neighbors;

namespace Flare.Manifold.Clustering;

/// <summary>
/// Each point's core distance, as hdbscan defines it: the distance to its min_samples-th nearest other point
/// (hdbscan queries min_samples + 1 neighbours, the point itself first, and takes the last).
/// </summary>
public sealed class CoreDistances
{
    private CoreDistances(float[] distances, KdTree? tree)
    {
        Distances = distances;
        Tree = tree;
    }

    /// <summary>Core distance of each point, by original row index.</summary>
    public float[] Distances { get; }

    /// <summary>The k-d tree the distances were found with (reused by Boruvka), or null when the exact search was used.</summary>
    internal KdTree? Tree { get; }

    /// <summary>Uses a k-d tree up to 16 dimensions and the blocked exact search above.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
        if (data.Columns > 16)
        {
            var knn = ExactNeighbors.Compute(data, k, DistanceMetric.Euclidean, null, cancellationToken);
            for (int i = 0; i < n; i++)
            {
                core[i] = knn.Distances[(i * k) + k - 1];
            }

            return new CoreDistances(core, null);
        }

        var tree = new KdTree(data);
        var kthSquared = tree.KthNearestSquared(k, cancellationToken);
        for (int q = 0; q < n; q++)
        {
            core[tree.Order[q]] = MathF.Sqrt(kthSquared[q]);
        }

        return new CoreDistances(core, tree);
    }
}
