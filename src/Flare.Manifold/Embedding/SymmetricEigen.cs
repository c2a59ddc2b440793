namespace Flare.Manifold.Embedding;

/// <summary>Eigen-decomposition of a small dense symmetric matrix by cyclic Jacobi rotations (robust, O(n^3) per sweep).</summary>
internal static class SymmetricEigen
{
    /// <summary>Returns eigenvalues ascending and the matching unit eigenvectors as columns of <c>Vectors</c>.</summary>
    public static (double[] Values, double[,] Vectors) Decompose(double[,] matrix)
    {
        int n = matrix.GetLength(0);
        var a = (double[,])matrix.Clone();
        var v = new double[n, n];
        for (int i = 0; i < n; i++)
        {
            v[i, i] = 1;
        }

        for (int sweep = 0; sweep < 100; sweep++)
        {
            double offDiagonal = 0;
            double diagonal = 0;
            for (int p = 0; p < n; p++)
            {
                diagonal += a[p, p] * a[p, p];
                for (int q = p + 1; q < n; q++)
                {
                    offDiagonal += a[p, q] * a[p, q];
                }
            }

            if (offDiagonal <= 1e-30 * Math.Max(diagonal, 1e-300))
            {
                break;
            }

            for (int p = 0; p < n - 1; p++)
            {
                for (int q = p + 1; q < n; q++)
                {
                    if (Math.Abs(a[p, q]) < 1e-300)
                    {
                        continue;
                    }

                    // Rotation angle that zeroes a[p, q]; t is the smaller root of t^2 + 2 theta t - 1 = 0.
                    double theta = (a[q, q] - a[p, p]) / (2 * a[p, q]);
                    double t = Math.Sign(theta == 0 ? 1 : theta) / (Math.Abs(theta) + Math.Sqrt((theta * theta) + 1));
                    double c = 1 / Math.Sqrt((t * t) + 1);
                    double s = t * c;
                    for (int k = 0; k < n; k++)
                    {
                        double akp = a[k, p];
                        double akq = a[k, q];
                        a[k, p] = (c * akp) - (s * akq);
                        a[k, q] = (s * akp) + (c * akq);
                    }

                    for (int k = 0; k < n; k++)
                    {
                        double apk = a[p, k];
                        double aqk = a[q, k];
                        a[p, k] = (c * apk) - (s * aqk);
                        a[q, k] = (s * apk) + (c * aqk);
                    }

                    for (int k = 0; k < n; k++)
                    {
                        double vkp = v[k, p];
                        double vkq = v[k, q];
                        v[k, p] = (c * vkp) - (s * vkq);
                        v[k, q] = (s * vkp) + (c * vkq);
                    }
                }
            }
        }

        var order = Enumerable.Range(0, n).OrderBy(i => a[i, i]).ThenBy(i => i).ToArray();
        var values = new double[n];
        var vectors = new double[n, n];
        for (int j = 0; j < n; j++)
        {
            values[j] = a[order[j], order[j]];
            for (int k = 0; k < n; k++)
            {
                vectors[k, j] = v[k, order[j]];
            }
        }

        return (values, vectors);
    }
}
