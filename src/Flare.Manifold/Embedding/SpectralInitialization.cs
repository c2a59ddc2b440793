using System.Runtime.CompilerServices;

namespace Flare.Manifold.Embedding;

/// <summary>
/// umap-learn's spectral_layout for a connected graph: the eigenvectors of the normalised Laplacian
/// L = I - D^-1/2 W D^-1/2 with the smallest non-zero eigenvalues. They are the largest eigenvectors of
/// D^-1/2 W D^-1/2, found by Lanczos with the trivial one (D^1/2 1, eigenvalue 1) deflated from the start.
/// Returns null when the graph is disconnected or the solver does not converge; the caller then starts at random,
/// as umap-learn does when its eigensolver fails. (umap-learn lays out disconnected components one by one; this
/// implementation takes the simpler documented route of a random start for them.)
/// </summary>
internal static class SpectralInitialization
{
    private const double Tolerance = 1e-4;
    private const int MaxRestarts = 30;
    private const int MinKrylov = 40;
    private const int MaxKrylov = 100;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double[][]? Compute(SparseGraph graph, int dim, int seed, CancellationToken cancellationToken)
    {
        int n = graph.Count;
        if (n <= dim + 1 || graph.ConnectedComponents(new int[n]) != 1)
        {
            return null;
        }

        var degree = new double[n];
        for (int i = 0; i < n; i++)
        {
            for (int e = graph.RowStart[i]; e < graph.RowStart[i + 1]; e++)
            {
                degree[i] += graph.Weights[e];
            }
        }

        var inverseSqrt = degree.Select(d => 1 / Math.Sqrt(d)).ToArray();
        var trivial = degree.Select(Math.Sqrt).ToArray();
        double trivialNorm = Math.Sqrt(trivial.Sum(x => x * x));
        for (int i = 0; i < n; i++)
        {
            trivial[i] /= trivialNorm;
        }

        void Multiply(double[] x, double[] y) =>
            Parallel.For(0, (n + 1023) / 1024, block =>
            {
                int end = Math.Min(n, (block + 1) * 1024);
                for (int i = block * 1024; i < end; i++)
                {
                    double sum = 0;
                    for (int e = graph.RowStart[i]; e < graph.RowStart[i + 1]; e++)
                    {
                        int j = graph.Columns[e];
                        sum += graph.Weights[e] * inverseSqrt[j] * x[j];
                    }

                    y[i] = sum * inverseSqrt[i];
                }
            });

        var random = new RandomStream(seed, 2);
        var start = new double[n];
        for (int i = 0; i < n; i++)
        {
            start[i] = random.NextGaussian();
        }

        // umap-learn asks ARPACK for max(2k + 1, sqrt(N)) Lanczos vectors; explicit restarts converge more slowly
        // than ARPACK's implicit ones, so use at least MinKrylov.
        int krylov = Math.Min(MaxKrylov, Math.Max(MinKrylov, Math.Max((2 * (dim + 1)) + 1, (int)Math.Sqrt(n))));
        var result = Lanczos.Largest(n, Multiply, dim, krylov, Tolerance, MaxRestarts, start, [trivial], cancellationToken);
        return result?.Vectors;
    }
}
