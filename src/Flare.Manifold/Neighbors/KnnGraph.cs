using System.Runtime.CompilerServices;

namespace Flare.Manifold.Neighbors;

/// <summary>
/// k nearest neighbours of every point, row-major: row i holds Indices[i*K .. (i+1)*K) with matching Distances,
/// sorted by ascending distance. As in umap-learn, each point counts as its own first neighbour (distance 0).
/// </summary>
public sealed class KnnGraph
{
    public KnnGraph(int count, int k, int[] indices, float[] distances)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(k);
        ArgumentNullException.ThrowIfNull(indices);
        ArgumentNullException.ThrowIfNull(distances);
        if (indices.Length != (long)count * k || distances.Length != (long)count * k)
        {
            throw new ArgumentException($"indices and distances must both hold count * k = {(long)count * k} values.", nameof(indices));
        }

        Count = count;
        K = k;
        Indices = indices;
        Distances = distances;
    }

    /// <summary>Number of points.</summary>
    public int Count { get; }

    /// <summary>Neighbours per point, self included.</summary>
    public int K { get; }

    public int[] Indices { get; }

    public float[] Distances { get; }

    public ReadOnlySpan<int> NeighborIndices(int point) => Indices.AsSpan(point * K, K);

    public ReadOnlySpan<float> NeighborDistances(int point) => Distances.AsSpan(point * K, K);

    /// <summary>Fraction of true neighbours found, averaged over points: |this_i ∩ exact_i| / k.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public double RecallAgainst(KnnGraph exact)
    {
        ArgumentNullException.ThrowIfNull(exact);
        if (exact.Count != Count || exact.K != K)
        {
            throw new ArgumentException("both graphs must have the same point count and k.", nameof(exact));
        }

        long hits = 0;
        var truth = new HashSet<int>();
        for (int i = 0; i < Count; i++)
        {
            truth.Clear();
            foreach (int j in exact.NeighborIndices(i))
            {
                truth.Add(j);
            }

            foreach (int j in NeighborIndices(i))
            {
                if (truth.Contains(j))
                {
                    hits++;
                }
            }
        }

        return Count == 0 ? 1.0 : hits / ((double)Count * K);
    }

    /// <summary>
    /// Builds the graph from each row's k candidates (any order) found on prepared data: re-measures them exactly,
    /// sorts them and makes sure the point itself is first.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static KnnGraph FromCandidates(DenseMatrix prepared, DistanceMetric metric, int k, float[] distances, int[] indices)
    {
        Parallel.For(0, prepared.Rows, i =>
        {
            var rowDistances = distances.AsSpan(i * k, k);
            var rowIndices = indices.AsSpan(i * k, k);
            var self = prepared.ReadOnlyRow(i);
            int selfAt = rowIndices.IndexOf(i);
            if (selfAt < 0)
            {
                // Only possible with more than k exact duplicates of point i: umap-learn still counts the point itself.
                selfAt = k - 1;
                rowIndices[selfAt] = i;
            }

            for (int j = 0; j < k; j++)
            {
                rowDistances[j] = rowIndices[j] == i
                    ? 0f
                    : VectorMath.FromSquared(VectorMath.SquaredDistance(self, prepared.ReadOnlyRow(rowIndices[j])), metric);
            }

            rowDistances[rowIndices.IndexOf(i)] = -1f;
            NeighborHeap.SortAscending(rowDistances, rowIndices);
            rowDistances[0] = 0f;
        });
        return new KnnGraph(prepared.Rows, k, indices, distances);
    }
}
