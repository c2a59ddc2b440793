using Flare.Manifold.Neighbors;

namespace Flare.Manifold.Clustering;

/// <summary>Prim's algorithm on the implicit complete mutual reachability graph: O(N^2) time, O(N) memory; for high dimensions and N up to ~20,000.</summary>
internal static class PrimSpanningTree
{
    public static MinimumSpanningTree Compute(DenseMatrix data, float[] core, CancellationToken cancellationToken)
    {
        int n = data.Rows;
        var inTree = new bool[n];
        var best = new float[n];
        var bestFrom = new int[n];
        best.AsSpan().Fill(float.PositiveInfinity);
        var from = new int[n - 1];
        var to = new int[n - 1];
        var weight = new float[n - 1];
        int current = 0;
        inTree[0] = true;
        for (int edge = 0; edge < n - 1; edge++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int rowStart = current * data.Columns;
            float coreCurrent = core[current];
            int source = current;
            Parallel.For(0, (n + 4095) / 4096, block =>
            {
                int end = Math.Min(n, (block + 1) * 4096);
                for (int j = block * 4096; j < end; j++)
                {
                    if (inTree[j])
                    {
                        continue;
                    }

                    float reach = Math.Max(MathF.Sqrt(VectorMath.SquaredDistance(data.Values.AsSpan(rowStart, data.Columns), data.ReadOnlyRow(j))), Math.Max(coreCurrent, core[j]));
                    if (reach < best[j])
                    {
                        best[j] = reach;
                        bestFrom[j] = source;
                    }
                }
            });

            int next = -1;
            float nextWeight = float.PositiveInfinity;
            for (int j = 0; j < n; j++)
            {
                if (!inTree[j] && (next < 0 || best[j] < nextWeight))
                {
                    next = j;
                    nextWeight = best[j];
                }
            }

            inTree[next] = true;
            from[edge] = bestFrom[next];
            to[edge] = next;
            weight[edge] = nextWeight;
            current = next;
        }

        return new MinimumSpanningTree(n, from, to, weight);
    }
}
