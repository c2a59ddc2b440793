using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace Flare.Manifold.Clustering;

/// <summary>
/// The single-linkage dendrogram in scipy's linkage format, as hdbscan's single_linkage_tree_ holds it: row i merges
/// nodes Left[i] and Right[i] (points are 0..N-1, row i creates node N + i) at Distance[i] into a node of Size[i] points.
/// </summary>
public sealed class SingleLinkageTree
{
    internal SingleLinkageTree(int pointCount, int[] left, int[] right, double[] distance, int[] size)
    {
        PointCount = pointCount;
        Left = left;
        Right = right;
        Distance = distance;
        Size = size;
    }

    public int PointCount { get; }

    public int[] Left { get; }

    public int[] Right { get; }

    public double[] Distance { get; }

    public int[] Size { get; }

    public int RowCount => Left.Length;

    /// <summary>Builds the dendrogram by merging along the spanning tree's edges in ascending order (hdbscan's label()).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static SingleLinkageTree FromSpanningTree(MinimumSpanningTree mst)
    {
        ArgumentNullException.ThrowIfNull(mst);
        int n = mst.PointCount;
        int rows = mst.EdgeCount;
        var left = new int[rows];
        var right = new int[rows];
        var distance = new double[rows];
        var size = new int[rows];

        // Union-find over 2N - 1 dendrogram nodes where each union creates a new node, so the root of a set is the
        // dendrogram node that currently represents it.
        var parent = new int[(2 * n) - 1];
        var nodeSize = new int[(2 * n) - 1];
        for (int i = 0; i < parent.Length; i++)
        {
            parent[i] = -1;
            nodeSize[i] = i < n ? 1 : 0;
        }

        int Find(int x)
        {
            int root = x;
            while (parent[root] >= 0)
            {
                root = parent[root];
            }

            while (parent[x] >= 0)
            {
                int next = parent[x];
                parent[x] = root;
                x = next;
            }

            return root;
        }

        for (int i = 0; i < rows; i++)
        {
            int a = Find(mst.From[i]);
            int b = Find(mst.To[i]);
            int node = n + i;
            left[i] = a;
            right[i] = b;
            distance[i] = mst.Distance[i];
            size[i] = nodeSize[a] + nodeSize[b];
            nodeSize[node] = size[i];
            parent[a] = node;
            parent[b] = node;
        }

        return new SingleLinkageTree(n, left, right, distance, size);
    }

    /// <summary>
    /// Flat clusters from cutting the dendrogram at <paramref name="cutDistance"/>, as hdbscan's
    /// single_linkage_tree_.get_clusters(cut_distance, min_cluster_size): merges strictly below the cut join points;
    /// components smaller than <paramref name="minClusterSize"/> are noise (-1). Clusters are numbered 0, 1, ... in
    /// order of their smallest point index (hdbscan's numbering follows its union-find internals instead).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int[] Cut(double cutDistance, int minClusterSize = 1)
    {
        if (double.IsNaN(cutDistance))
        {
            throw new ArgumentException("cutDistance is NaN.", nameof(cutDistance));
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(minClusterSize);
        var sets = new UnionFind(PointCount);
        var representative = new int[PointCount + RowCount];
        for (int i = 0; i < PointCount; i++)
        {
            representative[i] = i;
        }

        for (int i = 0; i < RowCount; i++)
        {
            int a = representative[Left[i]];
            int b = representative[Right[i]];
            if (Distance[i] < cutDistance)
            {
                sets.Union(a, b);
            }

            representative[PointCount + i] = a;
        }

        var counts = new int[PointCount];
        for (int i = 0; i < PointCount; i++)
        {
            counts[sets.Find(i)]++;
        }

        var labels = new int[PointCount];
        var labelOfRoot = new Dictionary<int, int>();
        for (int i = 0; i < PointCount; i++)
        {
            int root = sets.Find(i);
            if (counts[root] < minClusterSize)
            {
                labels[i] = -1;
                continue;
            }

            if (!labelOfRoot.TryGetValue(root, out int label))
            {
                label = labelOfRoot.Count;
                labelOfRoot[root] = label;
            }

            labels[i] = label;
        }

        return labels;
    }

    /// <summary>The same cut expressed as a density level: distance = 1 / lambda.</summary>
    public int[] CutAtLambda(double lambda, int minClusterSize = 1)
    {
        if (!(lambda > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(lambda), lambda, "lambda must be positive.");
        }

        return Cut(1.0 / lambda, minClusterSize);
    }

    /// <summary>CSV with header left,right,distance,size.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public string ToCsv()
    {
        var text = new StringBuilder("left,right,distance,size\n");
        for (int i = 0; i < RowCount; i++)
        {
            text.Append(CultureInfo.InvariantCulture, $"{Left[i]},{Right[i]},{Distance[i]:R},{Size[i]}\n");
        }

        return text.ToString();
    }
}
