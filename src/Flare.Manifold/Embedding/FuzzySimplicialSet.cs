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
                double sum = 0;
                for (int j = 1; j < k; j++)
                {
                    double d = distances[j] - rho;
                    sum += d > 0 ? Math.Exp(-(d / mid)) : 1.0;
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
    public static SparseGraph Build(KnnGraph knn, double localConnectivity = 1.0, double setOpMixRatio = 1.0)
    {
        ArgumentNullException.ThrowIfNull(knn);
        var scales = SmoothKnnDistances(knn, localConnectivity);
        int n = knn.Count;
        int k = knn.K;
        var rows = new int[n * k];
        var columns = new int[n * k];
        var weights = new float[n * k];
        for (int i = 0; i < n; i++)
        {
            var neighbors = knn.NeighborIndices(i);
            var distances = knn.NeighborDistances(i);
            for (int j = 0; j < k; j++)
            {
                int e = (i * k) + j;
                rows[e] = i;
                columns[e] = neighbors[j];
                weights[e] = Membership(i, neighbors[j], distances[j], scales.Rhos[i], scales.Sigmas[i]);
            }
        }

        var directed = SparseGraph.FromTriplets(n, rows, columns, weights);
        return Symmetrize(directed, setOpMixRatio);
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

    /// <summary>mix * (A + A^T - A o A^T) + (1 - mix) * (A o A^T).</summary>
    private static SparseGraph Symmetrize(SparseGraph a, double mix)
    {
        int n = a.Count;
        int nnz = a.EdgeCount;
        var rows = new int[2 * nnz];
        var columns = new int[2 * nnz];
        var values = new float[2 * nnz];

        // Each directed entry contributes to (i, j) from A and to (j, i) from A^T; the product term needs both, so
        // first collect, then combine per cell below.
        for (int i = 0; i < n; i++)
        {
            for (int e = a.RowStart[i]; e < a.RowStart[i + 1]; e++)
            {
                rows[2 * e] = i;
                columns[2 * e] = a.Columns[e];
                values[2 * e] = a.Weights[e];
                rows[(2 * e) + 1] = a.Columns[e];
                columns[(2 * e) + 1] = i;
                values[(2 * e) + 1] = a.Weights[e];
            }
        }

        var sum = SparseGraph.FromTriplets(n, rows, columns, values);
        var combined = new float[sum.EdgeCount];
        for (int i = 0; i < n; i++)
        {
            for (int e = sum.RowStart[i]; e < sum.RowStart[i + 1]; e++)
            {
                int j = sum.Columns[e];
                double forward = Lookup(a, i, j);
                double backward = Lookup(a, j, i);
                double product = forward * backward;
                combined[e] = (float)((mix * (forward + backward - product)) + ((1 - mix) * product));
            }
        }

        var outRows = new int[sum.EdgeCount];
        for (int i = 0; i < n; i++)
        {
            for (int e = sum.RowStart[i]; e < sum.RowStart[i + 1]; e++)
            {
                outRows[e] = i;
            }
        }

        return SparseGraph.FromTriplets(n, outRows, sum.Columns, combined);
    }

    private static double Lookup(SparseGraph graph, int row, int column)
    {
        int start = graph.RowStart[row];
        int index = Array.BinarySearch(graph.Columns, start, graph.RowStart[row + 1] - start, column);
        return index >= 0 ? graph.Weights[index] : 0.0;
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
