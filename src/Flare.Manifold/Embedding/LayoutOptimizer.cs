using System.Runtime.CompilerServices;

namespace Flare.Manifold.Embedding;

/// <summary>
/// umap-learn's optimize_layout_euclidean: every epoch, each edge whose turn has come pulls its two ends together
/// (attraction -2ab d^(2(b-1)) / (1 + a d^(2b))), then pushes its head away from a few uniformly drawn points
/// (repulsion 2 gamma b / ((0.001 + d^2)(1 + a d^(2b)))), gradients clipped to [-4, 4], learning rate decaying
/// linearly from its initial value. Edges are visited as often as their weight says (epochs_per_sample = w_max / w)
/// and negatives at negative_sample_rate per visit.
/// Deliberately single-threaded: Hogwild-style parallel SGD (umap-learn with n_jobs > 1) depends on thread timing,
/// and the same seed must give the same embedding. The loop is kept tight instead (one single-precision pow per
/// sample, no allocation).
/// </summary>
internal static class LayoutOptimizer
{
    private const float Clip = 4f;

    public readonly record struct Settings(double A, double B, double Gamma, double InitialAlpha, double NegativeSampleRate, int Epochs, int Seed);

    public static void Optimize(
        float[] embedding,
        int dim,
        int vertexCount,
        int[] head,
        int[] tail,
        double[] epochsPerSample,
        Settings settings,
        Action<double>? progress,
        CancellationToken cancellationToken)
    {
        int edges = head.Length;
        var epochsPerNegative = new double[edges];
        var nextSample = new double[edges];
        var nextNegative = new double[edges];
        for (int e = 0; e < edges; e++)
        {
            nextSample[e] = epochsPerSample[e];
            epochsPerNegative[e] = settings.NegativeSampleRate > 0 ? epochsPerSample[e] / settings.NegativeSampleRate : double.PositiveInfinity;
            nextNegative[e] = epochsPerNegative[e];
        }

        var random = new RandomStream(settings.Seed, 3);
        double alpha = settings.InitialAlpha;
        for (int epoch = 0; epoch < settings.Epochs; epoch++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            RunEpoch(embedding, dim, vertexCount, head, tail, epochsPerSample, epochsPerNegative, nextSample, nextNegative, settings, (float)alpha, epoch, ref random);
            alpha = settings.InitialAlpha * (1.0 - ((double)epoch / settings.Epochs));
            if (progress is not null && (epoch % 10 == 9 || epoch == settings.Epochs - 1))
            {
                progress((double)(epoch + 1) / settings.Epochs);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RunEpoch(
        float[] embedding,
        int dim,
        int vertexCount,
        int[] head,
        int[] tail,
        double[] epochsPerSample,
        double[] epochsPerNegative,
        double[] nextSample,
        double[] nextNegative,
        Settings settings,
        float alpha,
        int epoch,
        ref RandomStream random)
    {
        float a = (float)settings.A;
        float b = (float)settings.B;
        float attraction = -2f * a * b;
        float repulsion = (float)(2.0 * settings.Gamma * settings.B);
        Span<float> delta = stackalloc float[dim];
        for (int e = 0; e < head.Length; e++)
        {
            if (nextSample[e] > epoch)
            {
                continue;
            }

            int j = head[e];
            int k = tail[e];
            var current = embedding.AsSpan(j * dim, dim);
            var other = embedding.AsSpan(k * dim, dim);
            float distanceSquared = 0f;
            for (int d = 0; d < dim; d++)
            {
                delta[d] = current[d] - other[d];
                distanceSquared += delta[d] * delta[d];
            }

            if (distanceSquared > 0f)
            {
                float powered = MathF.Pow(distanceSquared, b);
                float coefficient = attraction * powered / distanceSquared / ((a * powered) + 1f);
                for (int d = 0; d < dim; d++)
                {
                    float gradient = Math.Clamp(coefficient * delta[d], -Clip, Clip) * alpha;
                    current[d] += gradient;
                    other[d] -= gradient;
                }
            }

            nextSample[e] += epochsPerSample[e];

            int negatives = (int)((epoch - nextNegative[e]) / epochsPerNegative[e]);
            for (int p = 0; p < negatives; p++)
            {
                int n = random.NextInt(vertexCount);
                if (n == j)
                {
                    continue;
                }

                var negative = embedding.AsSpan(n * dim, dim);
                distanceSquared = 0f;
                for (int d = 0; d < dim; d++)
                {
                    delta[d] = current[d] - negative[d];
                    distanceSquared += delta[d] * delta[d];
                }

                if (distanceSquared > 0f)
                {
                    float powered = MathF.Pow(distanceSquared, b);
                    float coefficient = repulsion / ((0.001f + distanceSquared) * ((a * powered) + 1f));
                    for (int d = 0; d < dim; d++)
                    {
                        current[d] += Math.Clamp(coefficient * delta[d], -Clip, Clip) * alpha;
                    }
                }
            }

            nextNegative[e] += negatives * epochsPerNegative[e];
        }
    }
}
