using System.Runtime.CompilerServices;
using Flare.Manifold.Neighbors;

namespace Flare.Manifold.Clustering;

/// <summary>
/// A k-d tree for low-dimensional points: median splits on the widest dimension, points copied into tree order so
/// each node is a contiguous, cache-friendly range, and per-node bounding boxes for distance bounds.
/// </summary>
internal sealed class KdTree
{
    public const int LeafSize = 16;

    public KdTree(DenseMatrix data)
    {
        Count = data.Rows;
        Dimensions = data.Columns;
        Order = new int[Count];
        for (int i = 0; i < Count; i++)
        {
            Order[i] = i;
        }

        int capacity = Math.Max(1, 2 * ((Count / LeafSize) + 1) * 2);
        var start = new List<int>(capacity);
        var end = new List<int>(capacity);
        var left = new List<int>(capacity);
        var right = new List<int>(capacity);
        var keys = new float[Count];
        BuildNode(data, 0, Count, start, end, left, right, keys);
        NodeStart = start.ToArray();
        NodeEnd = end.ToArray();
        LeftChild = left.ToArray();
        RightChild = right.ToArray();

        Points = new float[Count * Dimensions];
        for (int i = 0; i < Count; i++)
        {
            data.ReadOnlyRow(Order[i]).CopyTo(Points.AsSpan(i * Dimensions, Dimensions));
        }

        BoxMin = new float[NodeCount * Dimensions];
        BoxMax = new float[NodeCount * Dimensions];
        for (int node = NodeCount - 1; node >= 0; node--)
        {
            var min = BoxMin.AsSpan(node * Dimensions, Dimensions);
            var max = BoxMax.AsSpan(node * Dimensions, Dimensions);
            min.Fill(float.PositiveInfinity);
            max.Fill(float.NegativeInfinity);
            for (int i = NodeStart[node]; i < NodeEnd[node]; i++)
            {
                var p = Point(i);
                for (int d = 0; d < Dimensions; d++)
                {
                    min[d] = Math.Min(min[d], p[d]);
                    max[d] = Math.Max(max[d], p[d]);
                }
            }
        }
    }

    public int Count { get; }

    public int Dimensions { get; }

    /// <summary>Order[treePosition] = original row index.</summary>
    public int[] Order { get; }

    /// <summary>Coordinates in tree order.</summary>
    public float[] Points { get; }

    public int[] NodeStart { get; }

    public int[] NodeEnd { get; }

    /// <summary>-1 for leaves.</summary>
    public int[] LeftChild { get; }

    public int[] RightChild { get; }

    public float[] BoxMin { get; }

    public float[] BoxMax { get; }

    public int NodeCount => NodeStart.Length;

    public ReadOnlySpan<float> Point(int position) => Points.AsSpan(position * Dimensions, Dimensions);

    /// <summary>Squared distance from a point to a node's box (0 inside it).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float BoxDistanceSquared(int node, ReadOnlySpan<float> point)
    {
        int offset = node * Dimensions;
        float sum = 0f;
        for (int d = 0; d < point.Length; d++)
        {
            float below = BoxMin[offset + d] - point[d];
            float above = point[d] - BoxMax[offset + d];
            float gap = Math.Max(0f, Math.Max(below, above));
            sum += gap * gap;
        }

        return sum;
    }

    /// <summary>
    /// k nearest neighbours (self included) of every point, in tree positions, with squared distances, sorted
    /// ascending. Queries run in tree order, spread over cores in fixed chunks.
    /// </summary>
    public (int[] Positions, float[] SquaredDistances) AllNearest(int k, CancellationToken cancellationToken)
    {
        var positions = new int[Count * k];
        var distances = new float[Count * k];
        NeighborHeap.Initialize(distances, positions);
        const int chunk = 256;
        Parallel.For(
            0,
            (Count + chunk - 1) / chunk,
            new ParallelOptions { CancellationToken = cancellationToken },
            c =>
            {
                var stack = new int[128];
                int end = Math.Min(Count, (c + 1) * chunk);
                for (int q = c * chunk; q < end; q++)
                {
                    Query(q, distances.AsSpan(q * k, k), positions.AsSpan(q * k, k), stack);
                    NeighborHeap.SortAscending(distances.AsSpan(q * k, k), positions.AsSpan(q * k, k));
                }
            });
        return (positions, distances);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Query(int query, Span<float> heapDistances, Span<int> heapPositions, int[] stack)
    {
        var point = Point(query);
        int top = 0;
        stack[top++] = 0;
        while (top > 0)
        {
            int node = stack[--top];
            if (BoxDistanceSquared(node, point) >= heapDistances[0])
            {
                continue;
            }

            if (LeftChild[node] < 0)
            {
                for (int i = NodeStart[node]; i < NodeEnd[node]; i++)
                {
                    float d = VectorMath.SquaredDistance(point, Point(i));
                    if (d < heapDistances[0])
                    {
                        NeighborHeap.ReplaceRoot(heapDistances, heapPositions, d, i);
                    }
                }

                continue;
            }

            // Visit the nearer child first: push it last.
            int near = LeftChild[node];
            int far = RightChild[node];
            if (BoxDistanceSquared(far, point) < BoxDistanceSquared(near, point))
            {
                (near, far) = (far, near);
            }

            stack[top++] = far;
            stack[top++] = near;
        }
    }

    private int BuildNode(DenseMatrix data, int begin, int finish, List<int> start, List<int> end, List<int> left, List<int> right, float[] keys)
    {
        int node = start.Count;
        start.Add(begin);
        end.Add(finish);
        left.Add(-1);
        right.Add(-1);
        if (finish - begin <= LeafSize)
        {
            return node;
        }

        int splitDimension = 0;
        float widest = -1f;
        for (int d = 0; d < data.Columns; d++)
        {
            float min = float.PositiveInfinity;
            float max = float.NegativeInfinity;
            for (int i = begin; i < finish; i++)
            {
                float v = data[Order[i], d];
                min = Math.Min(min, v);
                max = Math.Max(max, v);
            }

            if (max - min > widest)
            {
                widest = max - min;
                splitDimension = d;
            }
        }

        for (int i = begin; i < finish; i++)
        {
            keys[i] = data[Order[i], splitDimension];
        }

        int middle = begin + ((finish - begin) / 2);
        Select(keys, Order, begin, finish - 1, middle);
        int l = BuildNode(data, begin, middle, start, end, left, right, keys);
        int r = BuildNode(data, middle, finish, start, end, left, right, keys);
        left[node] = l;
        right[node] = r;
        return node;
    }

    /// <summary>Quickselect on keys[lo..hi] (moving Order along) so position k holds its order statistic.</summary>
    private static void Select(float[] keys, int[] order, int lo, int hi, int k)
    {
        while (hi > lo)
        {
            int mid = lo + ((hi - lo) / 2);
            float pivot = Median3(keys[lo], keys[mid], keys[hi]);
            int i = lo;
            int j = hi;
            while (i <= j)
            {
                while (keys[i] < pivot)
                {
                    i++;
                }

                while (keys[j] > pivot)
                {
                    j--;
                }

                if (i <= j)
                {
                    (keys[i], keys[j]) = (keys[j], keys[i]);
                    (order[i], order[j]) = (order[j], order[i]);
                    i++;
                    j--;
                }
            }

            if (k <= j)
            {
                hi = j;
            }
            else if (k >= i)
            {
                lo = i;
            }
            else
            {
                return;
            }
        }
    }

    private static float Median3(float a, float b, float c) =>
        Math.Max(Math.Min(a, b), Math.Min(Math.Max(a, b), c));
}
