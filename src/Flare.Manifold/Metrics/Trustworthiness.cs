using System.Runtime.CompilerServices;
using Flare.Manifold.Neighbors;

namespace Flare.Manifold.Metrics;

/// <summary>
/// Trustworthiness (Venna and Kaski), as sklearn.manifold.trustworthiness computes it with Euclidean distances:
/// 1 - 2 / (n k (2n - 3k - 1)) * sum over points of sum over embedding neighbours j that are not input neighbours
/// of (rank of j among the point's input neighbours - k). 1 means every embedding neighbour is a true neighbour.
/// </summary>
public static class Trustworthiness
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double Compute(DenseMatrix input, DenseMatrix embedding, int k = 10)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(embedding);
        if (input.Rows != embedding.Rows)
        {
            throw new ArgumentException($"input has {input.Rows} rows but embedding has {embedding.Rows}.", nameof(embedding));
        }

        int n = input.Rows;
        if (k < 1 || k >= n / 2)
        {
            throw new ArgumentOutOfRangeException(nameof(k), k, $"k must be in [1, {(n / 2) - 1}] for {n} points.");
        }

        var embedded = ExactNeighbors.Compute(embedding, k + 1);
        var penalties = new double[n];
        Parallel.For(0, n, i =>
        {
            var self = input.ReadOnlyRow(i);
            var distances = new float[n];
            for (int j = 0; j < n; j++)
            {
                distances[j] = j == i ? float.NegativeInfinity : VectorMath.SquaredDistance(self, input.ReadOnlyRow(j));
            }

            double penalty = 0;
            foreach (int j in embedded.NeighborIndices(i))
            {
                if (j == i)
                {
                    continue;
                }

                // Rank among input neighbours, 1-based, ties broken by index as a stable argsort does.
                float dj = distances[j];
                int rank = 0;
                for (int m = 0; m < n; m++)
                {
                    if (m != i && (distances[m] < dj || (distances[m] == dj && m < j)))
                    {
                        rank++;
                    }
                }

                rank++;
                if (rank > k)
                {
                    penalty += rank - k;
                }
            }

            penalties[i] = penalty;
        });
        return 1.0 - (2.0 / (n * k * ((2.0 * n) - (3.0 * k) - 1.0)) * penalties.Sum());
    }
}
