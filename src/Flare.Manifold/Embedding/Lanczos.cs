using System.Numerics;

namespace Flare.Manifold.Embedding;

/// <summary>
/// Largest eigenpairs of a large sparse symmetric operator: Lanczos with full re-orthogonalisation (classical
/// Gram-Schmidt, done twice), explicit restarts from the unconverged Ritz vectors, and locking of converged ones.
/// Vector work runs over fixed row blocks whose partial sums are added in block order, so results do not depend
/// on thread timing.
/// </summary>
internal static class Lanczos
{
    private const int Block = 4096;

    /// <summary>
    /// Finds <paramref name="count"/> eigenpairs beyond the already known, exact <paramref name="locked"/> vectors.
    /// Returns null when they do not converge to <paramref name="tolerance"/> (residual norm) within the restarts.
    /// </summary>
    public static (double[] Values, double[][] Vectors)? Largest(
        int n,
        Action<double[], double[]> multiply,
        int count,
        int krylovSize,
        double tolerance,
        int maxRestarts,
        double[] start,
        IReadOnlyList<double[]> locked,
        CancellationToken cancellationToken)
    {
        var fixedBasis = new List<double[]>(locked);
        var foundValues = new List<double>();
        var foundVectors = new List<double[]>();
        int m = Math.Min(krylovSize, n - fixedBasis.Count);
        if (m < count + 1)
        {
            return null;
        }

        var basis = new double[m + 1][];
        for (int j = 0; j <= m; j++)
        {
            basis[j] = new double[n];
        }

        var alpha = new double[m];
        var beta = new double[m];
        var w = new double[n];
        var v0 = (double[])start.Clone();
        for (int restart = 0; restart <= maxRestarts && foundVectors.Count < count; restart++)
        {
            Orthogonalize(v0, fixedBasis, fixedBasis.Count);
            Orthogonalize(v0, fixedBasis, fixedBasis.Count);
            double norm = Math.Sqrt(Dot(v0, v0));
            if (norm < 1e-12)
            {
                return null;
            }

            Scale(v0, 1 / norm, basis[0]);
            int steps = m;
            for (int j = 0; j < m; j++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                multiply(basis[j], w);
                alpha[j] = Dot(w, basis[j]);
                Orthogonalize(w, basis, j + 1);
                Orthogonalize(w, fixedBasis, fixedBasis.Count);
                Orthogonalize(w, basis, j + 1);
                Orthogonalize(w, fixedBasis, fixedBasis.Count);
                beta[j] = Math.Sqrt(Dot(w, w));
                if (beta[j] < 1e-10)
                {
                    steps = j + 1;
                    beta[j] = 0;
                    break;
                }

                Scale(w, 1 / beta[j], basis[j + 1]);
            }

            var tridiagonal = new double[steps, steps];
            for (int j = 0; j < steps; j++)
            {
                tridiagonal[j, j] = alpha[j];
                if (j + 1 < steps)
                {
                    tridiagonal[j, j + 1] = beta[j];
                    tridiagonal[j + 1, j] = beta[j];
                }
            }

            var (values, vectors) = SymmetricEigen.Decompose(tridiagonal);
            int need = count - foundVectors.Count;
            Array.Clear(v0);
            bool lockedAll = true;
            for (int r = 0; r < Math.Min(need, steps); r++)
            {
                int index = steps - 1 - r;
                var ritz = new double[n];
                for (int j = 0; j < steps; j++)
                {
                    Axpy(vectors[j, index], basis[j], ritz);
                }

                double residual = Math.Abs(beta[steps - 1] * vectors[steps - 1, index]);
                if (lockedAll && residual <= tolerance)
                {
                    foundValues.Add(values[index]);
                    foundVectors.Add(ritz);
                    fixedBasis.Add(ritz);
                }
                else
                {
                    lockedAll = false;
                    Axpy(1.0, ritz, v0);
                }
            }
        }

        return foundVectors.Count < count ? null : (foundValues.ToArray(), foundVectors.ToArray());
    }

    private static void Orthogonalize(double[] w, IReadOnlyList<double[]> basis, int count)
    {
        if (count == 0)
        {
            return;
        }

        int blocks = (w.Length + Block - 1) / Block;
        var partial = new double[blocks, count];
        Parallel.For(0, blocks, b =>
        {
            int start = b * Block;
            int length = Math.Min(Block, w.Length - start);
            var segment = w.AsSpan(start, length);
            for (int j = 0; j < count; j++)
            {
                partial[b, j] = Dot(segment, basis[j].AsSpan(start, length));
            }
        });
        var coefficients = new double[count];
        for (int b = 0; b < blocks; b++)
        {
            for (int j = 0; j < count; j++)
            {
                coefficients[j] += partial[b, j];
            }
        }

        Parallel.For(0, blocks, b =>
        {
            int start = b * Block;
            int length = Math.Min(Block, w.Length - start);
            var segment = w.AsSpan(start, length);
            for (int j = 0; j < count; j++)
            {
                Axpy(-coefficients[j], basis[j].AsSpan(start, length), segment);
            }
        });
    }

    internal static double Dot(double[] x, double[] y)
    {
        int blocks = (x.Length + Block - 1) / Block;
        var partial = new double[blocks];
        Parallel.For(0, blocks, b =>
        {
            int start = b * Block;
            int length = Math.Min(Block, x.Length - start);
            partial[b] = Dot(x.AsSpan(start, length), y.AsSpan(start, length));
        });
        return partial.Sum();
    }

    private static double Dot(ReadOnlySpan<double> x, ReadOnlySpan<double> y)
    {
        var acc = Vector<double>.Zero;
        int i = 0;
        for (; i <= x.Length - Vector<double>.Count; i += Vector<double>.Count)
        {
            acc += new Vector<double>(x[i..]) * new Vector<double>(y[i..]);
        }

        double sum = Vector.Sum(acc);
        for (; i < x.Length; i++)
        {
            sum += x[i] * y[i];
        }

        return sum;
    }

    private static void Axpy(double a, ReadOnlySpan<double> x, Span<double> y)
    {
        var va = new Vector<double>(a);
        int i = 0;
        for (; i <= x.Length - Vector<double>.Count; i += Vector<double>.Count)
        {
            (new Vector<double>(y[i..]) + (va * new Vector<double>(x[i..]))).CopyTo(y[i..]);
        }

        for (; i < x.Length; i++)
        {
            y[i] += a * x[i];
        }
    }

    private static void Axpy(double a, double[] x, double[] y) => Axpy(a, x.AsSpan(), y.AsSpan());

    private static void Scale(double[] x, double factor, double[] destination)
    {
        for (int i = 0; i < x.Length; i++)
        {
            destination[i] = x[i] * factor;
        }
    }
}
