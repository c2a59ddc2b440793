using System.Runtime.CompilerServices;

namespace Flare.Manifold.Clustering;

/// <summary>Flat clusters from a condensed tree as hdbscan's get_clusters, do_labelling and get_probabilities define them.</summary>
public static class ClusterSelection
{
    /// <summary>The selected cluster nodes, ascending; label i of <see cref="Label"/> is the i-th of them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int[] Select(CondensedTree tree, ClusterSelectionMethod method, bool allowSingleCluster = false, double epsilon = 0)
    {
        ArgumentNullException.ThrowIfNull(tree);
        int root = tree.Root;
        int count = tree.ClusterCount;
        var selected = new bool[count];
        if (method == ClusterSelectionMethod.Eom)
        {
            var stability = new double[count];
            for (int c = 0; c < count; c++)
            {
                stability[c] = tree.Stability(root + c);
            }

            // Children carry larger labels than their parents, so descending order visits every child first.
            int lowest = allowSingleCluster ? root : root + 1;
            for (int c = root + count - 1; c >= lowest; c--)
            {
                double childSum = 0;
                foreach (int child in tree.ChildClusters(c))
                {
                    childSum += stability[child - root];
                }

                if (childSum > stability[c - root])
                {
                    selected[c - root] = false;
                    stability[c - root] = childSum;
                }
                else
                {
                    selected[c - root] = true;
                    foreach (int descendant in Descendants(tree, c))
                    {
                        selected[descendant - root] = false;
                    }
                }
            }

            if (epsilon != 0 && count > 1)
            {
                var chosen = Enumerable.Range(0, count).Where(i => selected[i]).Select(i => root + i).ToList();
                selected = Mark(count, root, EpsilonSearch(tree, chosen, epsilon, allowSingleCluster));
            }
        }
        else
        {
            var leaves = Enumerable.Range(root + 1, count - 1).Where(c => tree.ChildClusters(c).Count == 0).ToList();
            if (leaves.Count == 0)
            {
                selected[0] = true;
            }
            else
            {
                selected = Mark(count, root, epsilon != 0 ? EpsilonSearch(tree, leaves, epsilon, allowSingleCluster) : leaves);
            }
        }

        return Enumerable.Range(0, count).Where(i => selected[i]).Select(i => root + i).ToArray();
    }

    /// <summary>
    /// Labels points by the selected cluster they fall out of (directly or below it), -1 otherwise. When the root
    /// is the single selected cluster, only points leaving it at its last level (or above 1/epsilon) belong, as in hdbscan.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int[] Label(CondensedTree tree, IReadOnlyList<int> selected, bool allowSingleCluster = false, double epsilon = 0)
    {
        ArgumentNullException.ThrowIfNull(tree);
        ArgumentNullException.ThrowIfNull(selected);
        int root = tree.Root;
        var labelOf = new int[tree.ClusterCount];
        labelOf.AsSpan().Fill(-1);
        for (int i = 0; i < selected.Count; i++)
        {
            labelOf[selected[i] - root] = i;
        }

        // The selected cluster at or above each cluster node (or the root when none is).
        var owner = new int[tree.ClusterCount];
        owner[0] = root;
        for (int c = root + 1; c < root + tree.ClusterCount; c++)
        {
            owner[c - root] = labelOf[c - root] >= 0 ? c : owner[tree.ParentOf(c) - root];
        }

        double rootLastLevel = tree.DeathLambda(root);
        var labels = new int[tree.PointCount];
        labels.AsSpan().Fill(-1);
        for (int r = 0; r < tree.RowCount; r++)
        {
            int point = tree.Child[r];
            if (point >= tree.PointCount)
            {
                continue;
            }

            int cluster = owner[tree.Parent[r] - root];
            if (cluster != root)
            {
                labels[point] = labelOf[cluster - root];
            }
            else if (selected.Count == 1 && allowSingleCluster && labelOf[0] >= 0)
            {
                bool inside = epsilon != 0 ? tree.Lambda[r] >= 1 / epsilon : tree.Lambda[r] >= rootLastLevel;
                labels[point] = inside ? labelOf[0] : -1;
            }
        }

        return labels;
    }

    /// <summary>hdbscan's membership strength: the level at which a point left, relative to its cluster's last level.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float[] Probabilities(CondensedTree tree, IReadOnlyList<int> selected, int[] labels)
    {
        ArgumentNullException.ThrowIfNull(tree);
        ArgumentNullException.ThrowIfNull(selected);
        ArgumentNullException.ThrowIfNull(labels);
        var result = new float[tree.PointCount];
        for (int r = 0; r < tree.RowCount; r++)
        {
            int point = tree.Child[r];
            if (point >= tree.PointCount || labels[point] < 0)
            {
                continue;
            }

            double last = tree.DeathLambda(selected[labels[point]]);
            double level = tree.Lambda[r];
            result[point] = last == 0 || !double.IsFinite(level) ? 1f : (float)(Math.Min(level, last) / last);
        }

        return result;
    }

    private static bool[] Mark(int count, int root, IEnumerable<int> clusters)
    {
        var marks = new bool[count];
        foreach (int c in clusters)
        {
            marks[c - root] = true;
        }

        return marks;
    }

    private static IEnumerable<int> Descendants(CondensedTree tree, int cluster)
    {
        var pending = new Stack<int>(tree.ChildClusters(cluster));
        while (pending.Count > 0)
        {
            int c = pending.Pop();
            yield return c;
            foreach (int child in tree.ChildClusters(c))
            {
                pending.Push(child);
            }
        }
    }

    /// <summary>hdbscan's epsilon_search: a chosen cluster born below distance epsilon is replaced by its nearest ancestor born above it.</summary>
    private static HashSet<int> EpsilonSearch(CondensedTree tree, IEnumerable<int> chosen, double epsilon, bool allowSingleCluster)
    {
        var result = new HashSet<int>();
        var processed = new HashSet<int>();
        foreach (int leaf in chosen)
        {
            double birthDistance = 1 / tree.BirthLambda(leaf);
            if (birthDistance >= epsilon)
            {
                result.Add(leaf);
                continue;
            }

            if (processed.Contains(leaf))
            {
                continue;
            }

            int ancestor = TraverseUpwards(tree, epsilon, leaf, allowSingleCluster);
            result.Add(ancestor);
            foreach (int descendant in Descendants(tree, ancestor))
            {
                processed.Add(descendant);
            }
        }

        return result;
    }

    private static int TraverseUpwards(CondensedTree tree, double epsilon, int leaf, bool allowSingleCluster)
    {
        while (true)
        {
            int parent = tree.ParentOf(leaf);
            if (parent == tree.Root)
            {
                return allowSingleCluster ? parent : leaf;
            }

            if (1 / tree.BirthLambda(parent) > epsilon)
            {
                return parent;
            }

            leaf = parent;
        }
    }
}
