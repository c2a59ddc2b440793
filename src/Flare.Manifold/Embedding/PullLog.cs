using System.Runtime.CompilerServices;

namespace Flare.Manifold.Embedding;

/// <summary>
/// The parallel SGD schedule's deferred pulls on tail points: one chunk appends (vertex, delta) entries during an
/// epoch, written sequentially (a dense per-chunk buffer would scatter writes over the whole embedding and fall out
/// of cache); all logs are added to the embedding when the epoch ends, in chunk order.
/// </summary>
internal sealed class PullLog
{
    private readonly int _dim;

    /// <param name="capacity">Entries per epoch at most: each edge is visited at most once an epoch.</param>
    public PullLog(int capacity, int dim)
    {
        _dim = dim;
        Vertices = new int[Math.Max(1, capacity)];
        Deltas = new float[Math.Max(1, capacity) * dim];
    }

    public int[] Vertices { get; }

    public float[] Deltas { get; }

    public int Count { get; set; }

    /// <summary>Adds every log's entries to the embedding in log order, then empties the logs.</summary>
    public static void ApplyAll(float[] embedding, int dim, PullLog[] logs)
    {
        // Each partition applies only the vertices it owns, scanning logs in order, so the per-vertex order of
        // additions (and hence the rounding) never depends on the partition count.
        int vertices = embedding.Length / dim;
        const int partitions = 2;
        Parallel.For(0, partitions, part => ApplyRange(embedding, dim, logs, (int)((long)vertices * part / partitions), (int)((long)vertices * (part + 1) / partitions)));
        foreach (var log in logs)
        {
            log.Count = 0;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ApplyRange(float[] embedding, int dim, PullLog[] logs, int low, int high)
    {
        foreach (var log in logs)
        {
            var vertices = log.Vertices;
            var deltas = log.Deltas;
            for (int i = 0; i < log.Count; i++)
            {
                int v = vertices[i];
                if (v < low || v >= high)
                {
                    continue;
                }

                for (int d = 0; d < dim; d++)
                {
                    embedding[(v * dim) + d] += deltas[(i * dim) + d];
                }
            }
        }
    }
}
