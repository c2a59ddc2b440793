using System.Runtime.CompilerServices;
using Flare.Manifold.Neighbors;

namespace Flare.Manifold.Clustering;

/// <summary>
/// Each point's core distance, as hdbscan defines it: the distance to its min_samples-th nearest other point
/// (hdbscan queries min_samples + 1 neighbours, the point itself first, and takes the last). The neighbour lists
/// are kept: Boruvka starts from them.
/// </summary>
public sealed class CoreDistances
{
    private readonly Lazy<int[]> _neighbors;

    private CoreDistances(float[] distances, int neighborCount, KdTree? tree, int[] rawNeighbors)
    {
        Distances = distances;
        NeighborCount = neighborCount;
        Tree = tree;
        RawNeighbors = rawNeighbors;
        _neighbors = new Lazy<int[]>(() => tree is null ? rawNeighbors : ToRowIndices(tree, rawNeighbors, neighborCount));
    }

    /// <summary>Core distance of each point, by original row index.</summary>
    public float[] Distances { get; }

    /// <summary>Neighbours per point kept in <see cref="Neighbors"/> (min_samples + 1, self included).</summary>
    public int NeighborCount { get; }

    /// <summary>Row-major neighbour lists by original row index: the point itself first, the others in no particular order.</summary>
    public int[] Neighbors => _neighbors.Value;

    /// <summary>The k-d tree the lists were found with, or null when the exact search was used.</summary>
    internal KdTree? Tree { get; }

    /// <summary>With a tree: rows by tree position holding tree positions. Without: <see cref="Neighbors"/>.</summary>
    internal int[] RawNeighbors { get; }

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

            return new CoreDistances(core, k, null, knn.Indices);
        }

        var tree = new KdTree(data);
        var (positions, kthSquared) = tree.AllNearest(k, cancellationToken);
        for (int q = 0; q < n; q++)
        {
            core[tree.Order[q]] = MathF.Sqrt(kthSquared[q]);
        }

        return new CoreDistances(core, k, tree, positions);
    }

    private static int[] ToRowIndices(KdTree tree, int[] positions, int k)
    {
        var rows = new int[positions.Length];
        for (int q = 0; q < tree.Count; q++)
        {
            int point = tree.Order[q];
            for (int j = 0; j < k; j++)
            {
                rows[(point * k) + j] = tree.Order[positions[(q * k) + j]];
            }
        }

        return rows;
    }
}
