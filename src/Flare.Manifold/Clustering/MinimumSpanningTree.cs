namespace Flare.Manifold.Clustering;

/// <summary>
/// A minimum spanning tree of the mutual reachability graph, max(core(a), core(b), d(a, b)), as N - 1 edges
/// sorted by ascending distance (stable, so equal distances keep the order they were found in).
/// </summary>
public sealed class MinimumSpanningTree
{
    public MinimumSpanningTree(int pointCount, int[] from, int[] to, float[] distance)
    {
        ArgumentNullException.ThrowIfNull(from);
        ArgumentNullException.ThrowIfNull(to);
        ArgumentNullException.ThrowIfNull(distance);
        if (from.Length != to.Length || from.Length != distance.Length || from.Length != Math.Max(0, pointCount - 1))
        {
            throw new ArgumentException($"a spanning tree of {pointCount} points has {pointCount - 1} edges in three equal arrays.", nameof(from));
        }

        var order = Enumerable.Range(0, from.Length).ToArray();
        var stableKeys = order.Select(i => (distance[i], i)).ToArray();
        Array.Sort(stableKeys, order);
        PointCount = pointCount;
        From = order.Select(i => from[i]).ToArray();
        To = order.Select(i => to[i]).ToArray();
        Distance = order.Select(i => distance[i]).ToArray();
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
