using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Flare.Manifold.Neighbors;

namespace Flare.Manifold.Clustering;

/// <summary>
/// A k-d tree for low-dimensional points: median splits on the widest dimension, points copied into tree order so
/// each node is a contiguous, cache-friendly range, and per-node bounding boxes for distance bounds.
/// </summary>
internal sealed class KdTree
{
    public const int LeafSize = 16;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
    /// Each point's squared distance (by tree position) to its k-th nearest point, itself counted first. Queries
    /// are answered a leaf at a time: with r the k-th neighbour distance of the leaf's box centre c and h its half
    /// diagonal, every query q in the leaf has its k neighbours within r + h of q, hence within r + 2h of c. One ball
    /// query collects those candidates; each q then finds its k-th smallest distance by a branch-free bisection on
    /// the float bits (counting with SIMD compares). Leaves go to cores in fixed chunks.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public float[] KthNearestSquared(int k, CancellationToken cancellationToken)
    {
        var kth = new float[Count];
        var leaves = Enumerable.Range(0, NodeCount).Where(node => LeftChild[node] < 0).ToArray();
        const int chunk = 16;
        Parallel.For(
            0,
            (leaves.Length + chunk - 1) / chunk,
            new ParallelOptions { CancellationToken = cancellationToken },
            c =>
            {
                var scratch = new LeafScratch(k, Dimensions);
                int end = Math.Min(leaves.Length, (c + 1) * chunk);
                for (int l = c * chunk; l < end; l++)
                {
                    AnswerLeaf(leaves[l], k, scratch, kth);
                }
            });
        return kth;
    }

    private sealed class LeafScratch(int k, int dimensions)
    {
        public int[] Stack { get; } = new int[128];

        public float[] Center { get; } = new float[dimensions];

        public float[] HeapDistances { get; } = new float[k];

        public int[] HeapPositions { get; } = new int[k];

        public List<int> Candidates { get; } = new(8 * k);

        public int[] Bits { get; set; } = new int[8 * k];
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void AnswerLeaf(int leaf, int k, LeafScratch scratch, float[] kth)
    {
        int offset = leaf * Dimensions;
        var center = scratch.Center;
        float halfDiagonalSquared = 0f;
        for (int d = 0; d < Dimensions; d++)
        {
            center[d] = 0.5f * (BoxMin[offset + d] + BoxMax[offset + d]);
            float half = 0.5f * (BoxMax[offset + d] - BoxMin[offset + d]);
            halfDiagonalSquared += half * half;
        }

        NeighborHeap.Initialize(scratch.HeapDistances, scratch.HeapPositions);
        Nearest(center, scratch.HeapDistances, scratch.HeapPositions, scratch.Stack);
        float centerRadius = MathF.Sqrt(scratch.HeapDistances[0]);
        float radius = (centerRadius + (2f * MathF.Sqrt(halfDiagonalSquared))) * 1.0001f;
        var candidates = scratch.Candidates;
        candidates.Clear();
        WithinRadius(center, radius * radius, candidates, scratch.Stack);
        int count = candidates.Count;
        if (scratch.Bits.Length < count)
        {
            scratch.Bits = new int[2 * count];
        }

        // Non-negative floats order like their bit patterns, so distances are kept as ints for counting.
        var bits = scratch.Bits;
        var candidateSpan = CollectionsMarshal.AsSpan(candidates);
        for (int q = NodeStart[leaf]; q < NodeEnd[leaf]; q++)
        {
            var point = Point(q);
            SquaredDistancesTo(point, candidateSpan, bits);

            // |q - c| bounds the k-th distance of q both ways: r - |q - c| <= r_q <= r + |q - c|.
            float offCenter = MathF.Sqrt(VectorMath.SquaredDistance(point, center));
            float lowest = Math.Max(0f, centerRadius - offCenter);
            float highest = (centerRadius + offCenter) * 1.0001f;
            int threshold = FloatSelection.KthSmallest(bits.AsSpan(0, count), k, BitConverter.SingleToInt32Bits(lowest * lowest * 0.9999f), BitConverter.SingleToInt32Bits(highest * highest));
            kth[q] = BitConverter.Int32BitsToSingle(threshold);
        }
    }

    /// <summary>Squared distances (as float bits) from a point to candidate positions; a plain loop for 2-D, the SIMD kernel otherwise.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private unsafe void SquaredDistancesTo(ReadOnlySpan<float> point, ReadOnlySpan<int> candidates, int[] output)
    {
        if (Dimensions == 2)
        {
            float x = point[0];
            float y = point[1];
            fixed (float* points = Points)
            fixed (int* ids = candidates)
            fixed (int* result = output)
            {
                for (int i = 0; i < candidates.Length; i++)
                {
                    float* p = points + (2 * ids[i]);
                    float dx = x - p[0];
                    float dy = y - p[1];
                    float d = (dx * dx) + (dy * dy);
                    result[i] = *(int*)&d;
                }
            }

            return;
        }

        for (int i = 0; i < candidates.Length; i++)
        {
            output[i] = BitConverter.SingleToInt32Bits(VectorMath.SquaredDistance(point, Point(candidates[i])));
        }
    }

    /// <summary>Heap-based k nearest tree points of an arbitrary location.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Nearest(ReadOnlySpan<float> point, Span<float> heapDistances, Span<int> heapPositions, int[] stack)
    {
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

    /// <summary>Tree positions within sqrt(<paramref name="radiusSquared"/>) of a location, in tree order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void WithinRadius(ReadOnlySpan<float> point, float radiusSquared, List<int> output, int[] stack)
    {
        int top = 0;
        stack[top++] = 0;
        while (top > 0)
        {
            int node = stack[--top];
            if (BoxDistanceSquared(node, point) > radiusSquared)
            {
                continue;
            }

            if (LeftChild[node] < 0)
            {
                for (int i = NodeStart[node]; i < NodeEnd[node]; i++)
                {
                    if (VectorMath.SquaredDistance(point, Point(i)) <= radiusSquared)
                    {
                        output.Add(i);
                    }
                }

                continue;
            }

            stack[top++] = RightChild[node];
            stack[top++] = LeftChild[node];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
