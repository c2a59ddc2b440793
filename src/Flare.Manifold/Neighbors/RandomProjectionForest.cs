using System.Runtime.CompilerServices;

namespace Flare.Manifold.Neighbors;

/// <summary>
/// Random-projection trees as pynndescent builds them for Euclidean data: each split is the hyperplane halfway
/// between two random points of the node. Only the leaves are kept; they seed NN-descent with nearby candidates.
/// </summary>
internal static class RandomProjectionForest
{
    /// <summary>One tree's leaves: <see cref="Order"/> lists the points leaf by leaf; leaf j is Order[LeafStarts[j] .. LeafStarts[j+1]).</summary>
    public sealed record Leaves(int[] Order, int[] LeafStarts);

    public static Leaves[] Build(DenseMatrix data, int treeCount, int leafSize, int seed, CancellationToken cancellationToken)
    {
        var trees = new Leaves[treeCount];
        Parallel.For(
            0,
            treeCount,
            new ParallelOptions { CancellationToken = cancellationToken },
            tree => trees[tree] = BuildTree(data, leafSize, new RandomStream(seed, 1000 + tree)));
        return trees;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static Leaves BuildTree(DenseMatrix data, int leafSize, RandomStream random)
    {
        int n = data.Rows;
        int dims = data.Columns;
        var order = new int[n];
        for (int i = 0; i < n; i++)
        {
            order[i] = i;
        }

        var leafStarts = new List<int>();
        var pending = new Stack<(int Start, int End)>();
        pending.Push((0, n));
        var normal = new float[dims];
        var goesLeft = new bool[n];
        var scratch = new int[n];
        var leafRanges = new List<(int Start, int End)>();
        while (pending.Count > 0)
        {
            var (start, end) = pending.Pop();
            int size = end - start;
            if (size <= leafSize)
            {
                leafRanges.Add((start, end));
                continue;
            }

            int a = order[start + random.NextInt(size)];
            int b = order[start + random.NextInt(size - 1)];
            if (b == a)
            {
                b = order[end - 1];
            }

            var rowA = data.ReadOnlyRow(a);
            var rowB = data.ReadOnlyRow(b);
            double offset = 0;
            for (int d = 0; d < dims; d++)
            {
                normal[d] = rowA[d] - rowB[d];
                offset -= normal[d] * (rowA[d] + rowB[d]) * 0.5;
            }

            int left = 0;
            for (int i = start; i < end; i++)
            {
                var row = data.ReadOnlyRow(order[i]);
                double margin = offset;
                for (int d = 0; d < dims; d++)
                {
                    margin += normal[d] * row[d];
                }

                bool side = Math.Abs(margin) < 1e-8 ? (random.NextUInt64() & 1) == 0 : margin > 0;
                goesLeft[i] = side;
                left += side ? 1 : 0;
            }

            if (left == 0 || left == size)
            {
                // Degenerate hyperplane (duplicates): split at random, as pynndescent does.
                left = 0;
                for (int i = start; i < end; i++)
                {
                    goesLeft[i] = (random.NextUInt64() & 1) == 0;
                    left += goesLeft[i] ? 1 : 0;
                }

                if (left == 0 || left == size)
                {
                    for (int i = start; i < end; i++)
                    {
                        goesLeft[i] = i - start < size / 2;
                    }

                    left = size / 2;
                }
            }

            int l = start;
            int r = start + left;
            for (int i = start; i < end; i++)
            {
                scratch[goesLeft[i] ? l++ : r++] = order[i];
            }

            Array.Copy(scratch, start, order, start, size);
            pending.Push((start + left, end));
            pending.Push((start, start + left));
        }

        leafRanges.Sort((x, y) => x.Start.CompareTo(y.Start));
        foreach (var (start, _) in leafRanges)
        {
            leafStarts.Add(start);
        }

        leafStarts.Add(n);
        return new Leaves(order, leafStarts.ToArray());
    }
}
