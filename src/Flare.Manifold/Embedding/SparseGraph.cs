using System.Runtime.CompilerServices;

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

    /// <summary>Labels connected components 0, 1, ... in order of their smallest vertex; returns the component count.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
