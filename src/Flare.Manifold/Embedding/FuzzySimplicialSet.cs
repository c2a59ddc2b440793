using System.Runtime.CompilerServices;
using Flare.Manifold.Neighbors;

namespace Flare.Manifold.Embedding;

/// <summary>Per-point scale of the smooth kNN distance: rho is the distance to the nearest neighbour (interpolated by local connectivity), sigma the bandwidth.</summary>
public sealed record SmoothKnnScales(float[] Sigmas, float[] Rhos);

/// <summary>
/// UMAP's high-dimensional graph as umap-learn builds it (smooth_knn_dist, compute_membership_strengths,
/// fuzzy_simplicial_set): memberships exp(-(d - rho) / sigma) with sigma found by binary search so that each
/// point's memberships sum to log2(k), then the fuzzy union A + A^T - A o A^T.
/// </summary>
public static class FuzzySimplicialSet
{
    private const double Tolerance = 1e-5;
    private const double MinScale = 1e-3;
    private const int SearchSteps = 64;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static SmoothKnnScales SmoothKnnDistances(KnnGraph knn, double localConnectivity = 1.0, double bandwidth = 1.0)
    {
        ArgumentNullException.ThrowIfNull(knn);
        int n = knn.Count;
        int k = knn.K;
        double target = Math.Log2(k) * bandwidth;
        double meanAll = 0;
        foreach (float d in knn.Distances)
        {
            meanAll += d;
        }

        meanAll /= Math.Max(1, knn.Distances.Length);
        var sigmas = new float[n];
        var rhos = new float[n];
        Parallel.For(0, n, i =>
        {
            var distances = knn.NeighborDistances(i);
            double rho = NearestScale(distances, localConnectivity);
            double low = 0;
            double high = double.PositiveInfinity;
            double mid = 1.0;
            for (int step = 0; step < SearchSteps; step++)
            {
                // Single-precision exp: the terms are float32 distances and the search stops at 1e-5 anyway.
                float scale = (float)(1.0 / mid);
                float sum = 0f;
                for (int j = 1; j < k; j++)
                {
                    float d = distances[j] - (float)rho;
                    sum += d > 0f ? MathF.Exp(-d * scale) : 1f;
                }

                if (Math.Abs(sum - target) < Tolerance)
                {
                    break;
                }

                if (sum > target)
                {
                    high = mid;
                    mid = (low + high) / 2.0;
                }
                else
                {
                    low = mid;
                    mid = double.IsPositiveInfinity(high) ? mid * 2 : (low + high) / 2.0;
                }
            }

            // As umap-learn: never let sigma collapse far below the typical neighbour distance.
            double mean = 0;
            foreach (float d in distances)
            {
                mean += d;
            }

            mean /= k;
            double floor = rho > 0 ? MinScale * mean : MinScale * meanAll;
            sigmas[i] = (float)Math.Max(mid, floor);
            rhos[i] = (float)rho;
        });
        return new SmoothKnnScales(sigmas, rhos);
    }

    /// <summary>Builds the symmetric fuzzy graph from a kNN graph whose rows include the point itself.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static SparseGraph Build(KnnGraph knn, double localConnectivity = 1.0, double setOpMixRatio = 1.0)
    {
        ArgumentNullException.ThrowIfNull(knn);
        var scales = SmoothKnnDistances(knn, localConnectivity);
        int n = knn.Count;
        int k = knn.K;

        // A: each row's memberships, sorted by column, zeros dropped.
        var forwardStart = new int[n + 1];
        var forwardColumns = new int[n * k];
        var forwardWeights = new float[n * k];
        var counts = new int[n];
        Parallel.For(0, n, i =>
        {
            var neighbors = knn.NeighborIndices(i);
            var distances = knn.NeighborDistances(i);
            var columns = forwardColumns.AsSpan(i * k, k);
            var weights = forwardWeights.AsSpan(i * k, k);
            int count = 0;
            for (int j = 0; j < k; j++)
            {
                float w = Membership(i, neighbors[j], distances[j], scales.Rhos[i], scales.Sigmas[i]);
                if (w > 0f)
                {
                    columns[count] = neighbors[j];
                    weights[count] = w;
                    count++;
                }
            }

            columns[count..].Fill(int.MaxValue);
            columns.Sort(weights);
            counts[i] = count;
        });

        // A^T by counting sort: scanning rows in order leaves each transposed row sorted by column.
        var transposeStart = new int[n + 1];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < counts[i]; j++)
            {
                transposeStart[forwardColumns[(i * k) + j] + 1]++;
            }
        }

        for (int i = 0; i < n; i++)
        {
            transposeStart[i + 1] += transposeStart[i];
        }

        var transposeColumns = new int[transposeStart[n]];
        var transposeWeights = new float[transposeStart[n]];
        var fill = (int[])transposeStart.Clone();
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < counts[i]; j++)
            {
                int slot = fill[forwardColumns[(i * k) + j]]++;
                transposeColumns[slot] = i;
                transposeWeights[slot] = forwardWeights[(i * k) + j];
            }
        }

        // Merge A_i and (A^T)_i: mix * (a + b - ab) + (1 - mix) * ab for every column present in either.
        var rowStart = new int[n + 1];
        var columnsOut = new int[(n * k) + transposeStart[n]];
        var weightsOut = new float[columnsOut.Length];
        int write = 0;
        for (int i = 0; i < n; i++)
        {
            int f = i * k;
            int fEnd = f + counts[i];
            int t = transposeStart[i];
            int tEnd = transposeStart[i + 1];
            while (f < fEnd || t < tEnd)
            {
                int column;
                double forward = 0, backward = 0;
                if (t >= tEnd || (f < fEnd && forwardColumns[f] < transposeColumns[t]))
                {
                    column = forwardColumns[f];
                    forward = forwardWeights[f++];
                }
                else if (f >= fEnd || transposeColumns[t] < forwardColumns[f])
                {
                    column = transposeColumns[t];
                    backward = transposeWeights[t++];
                }
                else
                {
                    column = forwardColumns[f];
                    forward = forwardWeights[f++];
                    backward = transposeWeights[t++];
                }

                double product = forward * backward;
                float w = (float)((setOpMixRatio * (forward + backward - product)) + ((1 - setOpMixRatio) * product));
                if (w > 0f)
                {
                    columnsOut[write] = column;
                    weightsOut[write] = w;
                    write++;
                }
            }

            rowStart[i + 1] = write;
        }

        return new SparseGraph(n, rowStart, columnsOut[..write], weightsOut[..write]);
    }

    private static float Membership(int point, int neighbor, float distance, float rho, float sigma)
    {
        if (neighbor == point || neighbor < 0)
        {
            return 0f;
        }

        float excess = distance - rho;
        return excess <= 0f || sigma == 0f ? 1f : MathF.Exp(-(excess / sigma));
    }

    /// <summary>umap-learn's rho: the local_connectivity-th smallest non-zero distance, interpolated between neighbours.</summary>
    private static double NearestScale(ReadOnlySpan<float> distances, double localConnectivity)
    {
        Span<float> nonZero = distances.Length <= 256 ? stackalloc float[distances.Length] : new float[distances.Length];
        int count = 0;
        foreach (float d in distances)
        {
            if (d > 0f)
            {
                nonZero[count++] = d;
            }
        }

        if (count == 0)
        {
            return 0;
        }

        if (count < localConnectivity)
        {
            return nonZero[count - 1];
        }

        int index = (int)Math.Floor(localConnectivity);
        double interpolation = localConnectivity - index;
        if (index > 0)
        {
            double rho = nonZero[index - 1];
            if (interpolation > Tolerance)
            {
                rho += interpolation * (nonZero[index] - nonZero[index - 1]);
            }

            return rho;
        }

        return interpolation * nonZero[0];
    }
}
