using System.Runtime.CompilerServices;

namespace Flare.Manifold.Clustering;

/// <summary>
/// A minimum spanning tree of the mutual reachability graph, max(core(a), core(b), d(a, b)), as N - 1 edges
/// sorted by ascending distance (stable, so equal distances keep the order they were found in).
/// </summary>
public sealed class MinimumSpanningTree
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public MinimumSpanningTree(int pointCount, int[] from, int[] to, float[] distance)
    {
        ArgumentNullException.ThrowIfNull(from);
        ArgumentNullException.ThrowIfNull(to);
        ArgumentNullException.ThrowIfNull(distance);
        if (from.Length != to.Length || from.Length != distance.Length || from.Length != Math.Max(0, pointCount - 1))
        {
            throw new ArgumentException($"a spanning tree of {pointCount} points has {pointCount - 1} edges in three equal arrays.", nameof(from));
        }

        // Stable sort as one primitive sort: non-negative floats order like their bits, the index breaks ties.
        var keys = new long[from.Length];
        for (int i = 0; i < keys.Length; i++)
        {
            if (!(distance[i] >= 0))
            {
                throw new ArgumentException($"edge {i} has distance {distance[i]}; distances must be non-negative.", nameof(distance));
            }

            keys[i] = ((long)BitConverter.SingleToInt32Bits(distance[i]) << 32) | (uint)i;
        }

        Array.Sort(keys);
        PointCount = pointCount;
        From = new int[keys.Length];
        To = new int[keys.Length];
        Distance = new float[keys.Length];
        for (int r = 0; r < keys.Length; r++)
        {
            int i = (int)(keys[r] & 0xFFFF_FFFF);
            From[r] = from[i];
            To[r] = to[i];
            Distance[r] = distance[i];
        }
    }

    public int PointCount { get; }

    public int[] From { get; }

    public int[] To { get; }

    public float[] Distance { get; }

    public int EdgeCount => From.Length;

    public double TotalWeight => Distance.Sum(d => (double)d);

    /// <summary>Exact MST: Boruvka over a k-d tree up to 16 dimensions or above 20,000 points, Prim's O(N^2) otherwise.</summary>
    public static MinimumSpanningTree Compute(DenseMatrix data, CoreDistances core, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(core);
        if (core.Distances.Length != data.Rows)
        {
            throw new ArgumentException("core distances do not match the data's row count.", nameof(core));
        }

        return data.Columns <= 16 || data.Rows > 20_000
            ? BoruvkaSpanningTree.Compute(data, core, cancellationToken)
            : PrimSpanningTree.Compute(data, core.Distances, cancellationToken);
    }
}
