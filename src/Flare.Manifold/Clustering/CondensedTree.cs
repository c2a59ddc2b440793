using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace Flare.Manifold.Clustering;

/// <summary>
/// hdbscan's condensed tree: walking the single-linkage tree down from the root, a split in which both sides keep
/// at least min_cluster_size points creates two child clusters; any smaller side "falls out" as single points. Each
/// row (Parent, Child, Lambda, ChildSize) says that Child (a point when &lt; PointCount, else a cluster) left Parent at
/// density level Lambda = 1 / distance. Clusters are numbered from PointCount, the root being PointCount itself.
/// </summary>
public sealed class CondensedTree
{
    private readonly int[][] _rowsByParent;
    private readonly double[] _birth;
    private readonly double[] _death;
    private readonly int[] _size;
    private readonly int[] _parentOf;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal CondensedTree(int pointCount, int[] parent, int[] child, double[] lambda, int[] childSize)
    {
        PointCount = pointCount;
        Parent = parent;
        Child = child;
        Lambda = lambda;
        ChildSize = childSize;
        ClusterCount = 1 + child.Count(c => c >= pointCount);

        var rowLists = new List<int>[ClusterCount];
        for (int c = 0; c < ClusterCount; c++)
        {
            rowLists[c] = [];
        }

        _birth = new double[ClusterCount];
        _death = new double[ClusterCount];
        _size = new int[ClusterCount];
        _size[0] = pointCount;
        _parentOf = new int[ClusterCount];
        _parentOf[0] = -1;
        for (int r = 0; r < parent.Length; r++)
        {
            int p = parent[r] - pointCount;
            rowLists[p].Add(r);
            _death[p] = Math.Max(_death[p], lambda[r]);
            if (child[r] >= pointCount)
            {
                _birth[child[r] - pointCount] = lambda[r];
                _size[child[r] - pointCount] = childSize[r];
                _parentOf[child[r] - pointCount] = parent[r];
            }
        }

        _rowsByParent = rowLists.Select(l => l.ToArray()).ToArray();
    }

    public int PointCount { get; }

    public int[] Parent { get; }

    public int[] Child { get; }

    public double[] Lambda { get; }

    public int[] ChildSize { get; }

    public int RowCount => Parent.Length;

    /// <summary>Number of cluster nodes, root included; clusters are Root .. Root + ClusterCount - 1.</summary>
    public int ClusterCount { get; }

    public int Root => PointCount;

    /// <summary>hdbscan's condense_tree for a minimum cluster size.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static CondensedTree FromLinkage(SingleLinkageTree linkage, int minClusterSize)
    {
        ArgumentNullException.ThrowIfNull(linkage);
        ArgumentOutOfRangeException.ThrowIfLessThan(minClusterSize, 2);
        int n = linkage.PointCount;
        var parent = new List<int>(n * 2);
        var child = new List<int>(n * 2);
        var lambda = new List<double>(n * 2);
        var childSize = new List<int>(n * 2);
        if (linkage.RowCount == 0)
        {
            return new CondensedTree(n, [], [], [], []);
        }

        int NodeSize(int node) => node < n ? 1 : linkage.Size[node - n];

        // Walk the dendrogram breadth first, as hdbscan does, so cluster labels come out in the same order.
        int rootNode = n + linkage.RowCount - 1;
        var relabel = new int[rootNode + 1];
        relabel[rootNode] = n;
        int nextLabel = n + 1;
        var queue = new Queue<int>();
        queue.Enqueue(rootNode);
        var fallen = new Stack<int>();

        // The points of a subtree too small to be a cluster leave at this level (hdbscan lists them breadth first;
        // here in depth-first order, left before right).
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        void FallOut(int subtree, int cluster, double level)
        {
            fallen.Push(subtree);
            while (fallen.Count > 0)
            {
                int node = fallen.Pop();
                if (node < n)
                {
                    parent.Add(cluster);
                    child.Add(node);
                    lambda.Add(level);
                    childSize.Add(1);
                }
                else
                {
                    fallen.Push(linkage.Right[node - n]);
                    fallen.Push(linkage.Left[node - n]);
                }
            }
        }

        while (queue.Count > 0)
        {
            int node = queue.Dequeue();
            if (node < n)
            {
                continue;
            }

            int row = node - n;
            int left = linkage.Left[row];
            int right = linkage.Right[row];
            double distance = linkage.Distance[row];
            double level = distance > 0 ? 1.0 / distance : double.PositiveInfinity;
            int leftCount = NodeSize(left);
            int rightCount = NodeSize(right);
            int cluster = relabel[node];
            if (leftCount >= minClusterSize && rightCount >= minClusterSize)
            {
                relabel[left] = nextLabel++;
                parent.Add(cluster);
                child.Add(relabel[left]);
                lambda.Add(level);
                childSize.Add(leftCount);
                relabel[right] = nextLabel++;
                parent.Add(cluster);
                child.Add(relabel[right]);
                lambda.Add(level);
                childSize.Add(rightCount);
                queue.Enqueue(left);
                queue.Enqueue(right);
            }
            else if (leftCount < minClusterSize && rightCount < minClusterSize)
            {
                FallOut(left, cluster, level);
                FallOut(right, cluster, level);
            }
            else if (leftCount < minClusterSize)
            {
                relabel[right] = cluster;
                FallOut(left, cluster, level);
                queue.Enqueue(right);
            }
            else
            {
                relabel[left] = cluster;
                FallOut(right, cluster, level);
                queue.Enqueue(left);
            }
        }

        return new CondensedTree(n, parent.ToArray(), child.ToArray(), lambda.ToArray(), childSize.ToArray());
    }

    public bool IsCluster(int node) => node >= Root && node < Root + ClusterCount;

    /// <summary>Direct child clusters of <paramref name="cluster"/>, in label order.</summary>
    public IReadOnlyList<int> ChildClusters(int cluster)
    {
        var rows = RowsOf(cluster);
        var result = new List<int>(2);
        foreach (int r in rows)
        {
            if (Child[r] >= PointCount)
            {
                result.Add(Child[r]);
            }
        }

        result.Sort();
        return result;
    }

    /// <summary>The parent cluster, or -1 for the root.</summary>
    public int ParentOf(int cluster)
    {
        EnsureCluster(cluster);
        return _parentOf[cluster - Root];
    }

    /// <summary>lambda_start: the density level at which the cluster appears (0 for the root).</summary>
    public double BirthLambda(int cluster)
    {
        EnsureCluster(cluster);
        return _birth[cluster - Root];
    }

    /// <summary>lambda_end: the level at which the cluster splits into child clusters or, if it never does, the largest level at which any of its points leaves it.</summary>
    public double DeathLambda(int cluster)
    {
        EnsureCluster(cluster);
        return _death[cluster - Root];
    }

    /// <summary>The paper's Definition IV.1 cluster stability kappa = lambda_end - lambda_start (persistence across density levels).</summary>
    public double Persistence(int cluster) => DeathLambda(cluster) - BirthLambda(cluster);

    /// <summary>Points in the cluster when it appears.</summary>
    public int Size(int cluster)
    {
        EnsureCluster(cluster);
        return _size[cluster - Root];
    }

    /// <summary>hdbscan's stability: sum over rows leaving the cluster of (lambda - birth lambda) * child size.</summary>
    public double Stability(int cluster)
    {
        double birth = BirthLambda(cluster);
        double sum = 0;
        foreach (int r in RowsOf(cluster))
        {
            sum += (Lambda[r] - birth) * ChildSize[r];
        }

        return sum;
    }

    /// <summary>All points under the cluster node: those in its descendant clusters and those that fell out below it as noise; ascending.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int[] Points(int cluster)
    {
        EnsureCluster(cluster);
        var result = new List<int>(Size(cluster));
        var pending = new Stack<int>();
        pending.Push(cluster);
        while (pending.Count > 0)
        {
            foreach (int r in RowsOf(pending.Pop()))
            {
                if (Child[r] < PointCount)
                {
                    result.Add(Child[r]);
                }
                else
                {
                    pending.Push(Child[r]);
                }
            }
        }

        result.Sort();
        return result.ToArray();
    }

    /// <summary>Row indices whose parent is <paramref name="cluster"/>.</summary>
    public ReadOnlySpan<int> RowsOf(int cluster)
    {
        EnsureCluster(cluster);
        return _rowsByParent[cluster - Root];
    }

    /// <summary>CSV with header parent,child,lambda,child_size, the column names of hdbscan's condensed_tree_.to_pandas().</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public string ToCsv()
    {
        var text = new StringBuilder("parent,child,lambda,child_size\n");
        for (int r = 0; r < RowCount; r++)
        {
            text.Append(CultureInfo.InvariantCulture, $"{Parent[r]},{Child[r]},{Lambda[r]:R},{ChildSize[r]}\n");
        }

        return text.ToString();
    }

    /// <summary>One line per cluster: cluster,parent,size,birth_lambda,death_lambda,persistence,stability.</summary>
    public string ClustersToCsv()
    {
        var text = new StringBuilder("cluster,parent,size,birth_lambda,death_lambda,persistence,stability\n");
        for (int c = Root; c < Root + ClusterCount; c++)
        {
            text.Append(CultureInfo.InvariantCulture, $"{c},{ParentOf(c)},{Size(c)},{BirthLambda(c):R},{DeathLambda(c):R},{Persistence(c):R},{Stability(c):R}\n");
        }

        return text.ToString();
    }

    private void EnsureCluster(int cluster)
    {
        if (!IsCluster(cluster))
        {
            throw new ArgumentOutOfRangeException(nameof(cluster), cluster, $"not a cluster node; clusters are {Root}..{Root + ClusterCount - 1}.");
        }
    }
}
