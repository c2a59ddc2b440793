namespace Flare.Manifold.Embedding;

/// <summary>A weighted graph in compressed sparse row form: row i's edges are Columns/Weights[RowStart[i] .. RowStart[i+1]), columns ascending.</summary>
public sealed class SparseGraph
{
    internal SparseGraph(int count, int[] rowStart, int[] columns, float[] weights)
    {
        Count = count;
        RowStart = rowStart;
        Columns = columns;
        Weights = weights;
    }

    public int Count { get; }

    public int[] RowStart { get; }

    public int[] Columns { get; }

    public float[] Weights { get; }

    public int EdgeCount => Columns.Length;

    /// <summary>Builds a graph from triplets, summing duplicates and dropping zero weights.</summary>
    internal static SparseGraph FromTriplets(int count, ReadOnlySpan<int> rows, ReadOnlySpan<int> columns, ReadOnlySpan<float> weights)
    {
        var rowStart = new int[count + 1];
        foreach (int r in rows)
        {
            rowStart[r + 1]++;
        }

        for (int i = 0; i < count; i++)
        {
            rowStart[i + 1] += rowStart[i];
        }

        var next = (int[])rowStart.Clone();
        var sortedColumns = new int[rows.Length];
        var sortedWeights = new float[rows.Length];
        for (int e = 0; e < rows.Length; e++)
        {
            int slot = next[rows[e]]++;
            sortedColumns[slot] = columns[e];
            sortedWeights[slot] = weights[e];
        }

        var outStart = new int[count + 1];
        int write = 0;
        for (int i = 0; i < count; i++)
        {
            int start = rowStart[i];
            int end = rowStart[i + 1];
            Array.Sort(sortedColumns, sortedWeights, start, end - start);
            for (int e = start; e < end;)
            {
                int column = sortedColumns[e];
                float sum = 0f;
                for (; e < end && sortedColumns[e] == column; e++)
                {
                    sum += sortedWeights[e];
                }

                if (sum != 0f)
                {
                    sortedColumns[write] = column;
                    sortedWeights[write] = sum;
                    write++;
                }
            }

            outStart[i + 1] = write;
        }

        return new SparseGraph(count, outStart, sortedColumns[..write], sortedWeights[..write]);
    }

    /// <summary>Labels connected components 0, 1, ... in order of their smallest vertex; returns the component count.</summary>
    internal int ConnectedComponents(int[] component)
    {
        component.AsSpan().Fill(-1);
        int next = 0;
        var stack = new Stack<int>();
        for (int s = 0; s < Count; s++)
        {
            if (component[s] >= 0)
            {
                continue;
            }

            component[s] = next;
            stack.Push(s);
            while (stack.Count > 0)
            {
                int v = stack.Pop();
                for (int e = RowStart[v]; e < RowStart[v + 1]; e++)
                {
                    int w = Columns[e];
                    if (component[w] < 0)
                    {
                        component[w] = next;
                        stack.Push(w);
                    }
                }
            }

            next++;
        }

        return next;
    }
}
