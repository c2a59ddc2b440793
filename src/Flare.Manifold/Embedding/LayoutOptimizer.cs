using System.Runtime.CompilerServices;

namespace Flare.Manifold.Embedding;

/// <summary>
/// umap-learn's optimize_layout_euclidean: every epoch, each edge whose turn has come pulls its two ends together
/// (attraction -2ab d^(2(b-1)) / (1 + a d^(2b))), then pushes its head away from a few uniformly drawn points
/// (repulsion 2 gamma b / ((0.001 + d^2)(1 + a d^(2b)))), gradients clipped to [-4, 4], learning rate decaying
/// linearly from its initial value. Edges are visited as often as their weight says (epochs_per_sample = w_max / w)
/// and negatives at negative_sample_rate per visit.
/// <para>
/// Two deterministic schedules. <see cref="UmapLayoutMode.Sequential"/> is umap-learn's own single-threaded order
/// (what it runs when random_state is set). <see cref="UmapLayoutMode.Parallel"/> splits the edges (sorted by head)
/// into a fixed number of chunks owning disjoint head ranges; within an epoch a chunk moves its own heads at once,
/// reads every other position from the epoch's starting snapshot and collects the pulls on tails in its own
/// buffer, added in chunk order when the epoch ends; each chunk draws negatives from its own (seed, epoch, chunk)
/// stream. Unlike Hogwild (umap-learn with n_jobs > 1) nothing depends on thread timing or core count, so the same
/// seed gives the same embedding; the price is that positions read by other chunks lag by up to one epoch.
/// </para>
/// </summary>
internal sealed class LayoutOptimizer
{
    private const float Clip = 4f;
    private const int ChunkCount = 16;

    private readonly int _dim;
    private readonly int _vertexCount;
    private readonly int[] _head;
    private readonly int[] _tail;
    private readonly double[] _epochsPerSample;
    private readonly double[] _epochsPerNegative;
    private readonly double[] _nextSample;
    private readonly double[] _nextNegative;
    private readonly Settings _settings;

    public LayoutOptimizer(int dim, int vertexCount, int[] head, int[] tail, double[] epochsPerSample, Settings settings)
    {
        _dim = dim;
        _vertexCount = vertexCount;
        _head = head;
        _tail = tail;
        _epochsPerSample = epochsPerSample;
        _settings = settings;
        int edges = head.Length;
        _epochsPerNegative = new double[edges];
        _nextSample = new double[edges];
        _nextNegative = new double[edges];
        for (int e = 0; e < edges; e++)
        {
            _nextSample[e] = epochsPerSample[e];
            _epochsPerNegative[e] = settings.NegativeSampleRate > 0 ? epochsPerSample[e] / settings.NegativeSampleRate : double.PositiveInfinity;
            _nextNegative[e] = _epochsPerNegative[e];
        }
    }

    public readonly record struct Settings(double A, double B, double Gamma, double InitialAlpha, double NegativeSampleRate, int Epochs, int Seed, UmapLayoutMode Mode);

    public unsafe void Optimize(float[] embedding, Action<double>? progress, CancellationToken cancellationToken)
    {
        bool parallel = _settings.Mode == UmapLayoutMode.Parallel;
        var chunkStart = parallel ? ChunkBoundaries() : [0, _head.Length];
        int chunks = chunkStart.Length - 1;
        var snapshot = parallel ? new float[embedding.Length] : embedding;
        var tailBuffers = parallel ? Enumerable.Range(0, chunks).Select(_ => new float[embedding.Length]).ToArray() : [embedding];
        var sequentialRandom = new RandomStream(_settings.Seed, 3);
        double alpha = _settings.InitialAlpha;
        for (int epoch = 0; epoch < _settings.Epochs; epoch++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (parallel)
            {
                Array.Copy(embedding, snapshot, embedding.Length);
                int currentEpoch = epoch;
                float currentAlpha = (float)alpha;
                Parallel.For(0, chunks, c =>
                {
                    var random = new RandomStream(_settings.Seed, 1_000_000L + ((long)currentEpoch * chunks) + c);
                    RunEdges(embedding, snapshot, tailBuffers[c], chunkStart[c], chunkStart[c + 1], currentAlpha, currentEpoch, ref random);
                });
                AddTailBuffers(embedding, tailBuffers);
            }
            else
            {
                RunEdges(embedding, embedding, embedding, 0, _head.Length, (float)alpha, epoch, ref sequentialRandom);
            }

            // As umap-learn: the rate for epoch n + 1 is alpha0 (1 - n / n_epochs), so the first two epochs share alpha0.
            alpha = _settings.InitialAlpha * (1.0 - ((double)epoch / _settings.Epochs));
            if (progress is not null && (epoch % 10 == 9 || epoch == _settings.Epochs - 1))
            {
                progress((double)(epoch + 1) / _settings.Epochs);
            }
        }
    }

    /// <summary>Edge ranges of roughly equal size that never split one head's edges (edges are sorted by head).</summary>
    private int[] ChunkBoundaries()
    {
        var boundaries = new List<int> { 0 };
        int edges = _head.Length;
        for (int c = 1; c < ChunkCount; c++)
        {
            int at = (int)((long)edges * c / ChunkCount);
            while (at < edges && at > 0 && _head[at] == _head[at - 1])
            {
                at++;
            }

            if (at > boundaries[^1] && at < edges)
            {
                boundaries.Add(at);
            }
        }

        boundaries.Add(edges);
        return boundaries.ToArray();
    }

    private static void AddTailBuffers(float[] embedding, float[][] buffers)
    {
        const int block = 8192;
        Parallel.For(0, (embedding.Length + block - 1) / block, b =>
        {
            int end = Math.Min(embedding.Length, (b + 1) * block);
            foreach (var buffer in buffers)
            {
                for (int i = b * block; i < end; i++)
                {
                    embedding[i] += buffer[i];
                    buffer[i] = 0f;
                }
            }
        });
    }

    /// <summary>
    /// Processes edges [first, end): heads move in <paramref name="live"/>, tails and negatives are read from
    /// <paramref name="others"/>, pulls on tails go to <paramref name="tailTarget"/>. Passing the live array for
    /// all three gives umap-learn's sequential update.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private unsafe void RunEdges(float[] live, float[] others, float[] tailTarget, int first, int end, float alpha, int epoch, ref RandomStream random)
    {
        int dim = _dim;
        int vertexCount = _vertexCount;
        float a = (float)_settings.A;
        float b = (float)_settings.B;
        float attraction = -2f * a * b;
        float repulsion = (float)(2.0 * _settings.Gamma * _settings.B);
        float* delta = stackalloc float[dim];
        fixed (float* livePoints = live)
        fixed (float* otherPoints = others)
        fixed (float* tailPoints = tailTarget)
        fixed (int* heads = _head)
        fixed (int* tails = _tail)
        fixed (double* next = _nextSample)
        fixed (double* nextNeg = _nextNegative)
        fixed (double* perSample = _epochsPerSample)
        fixed (double* perNegative = _epochsPerNegative)
        {
            for (int e = first; e < end; e++)
            {
                if (next[e] > epoch)
                {
                    continue;
                }

                int j = heads[e];
                int k = tails[e];
                float* current = livePoints + ((long)j * dim);
                float* other = otherPoints + ((long)k * dim);
                float* pulled = tailPoints + ((long)k * dim);
                float distanceSquared = 0f;
                for (int d = 0; d < dim; d++)
                {
                    float diff = current[d] - other[d];
                    delta[d] = diff;
                    distanceSquared += diff * diff;
                }

                if (distanceSquared > 0f)
                {
                    float powered = MathF.Pow(distanceSquared, b);
                    float coefficient = attraction * powered / (distanceSquared * ((a * powered) + 1f));
                    for (int d = 0; d < dim; d++)
                    {
                        float gradient = Math.Min(Math.Max(coefficient * delta[d], -Clip), Clip) * alpha;
                        current[d] += gradient;
                        pulled[d] -= gradient;
                    }
                }

                next[e] += perSample[e];
                int negatives = (int)((epoch - nextNeg[e]) / perNegative[e]);
                for (int p = 0; p < negatives; p++)
                {
                    int n = random.NextInt(vertexCount);
                    if (n == j)
                    {
                        continue;
                    }

                    float* negative = otherPoints + ((long)n * dim);
                    distanceSquared = 0f;
                    for (int d = 0; d < dim; d++)
                    {
                        float diff = current[d] - negative[d];
                        delta[d] = diff;
                        distanceSquared += diff * diff;
                    }

                    if (distanceSquared > 0f)
                    {
                        float powered = MathF.Pow(distanceSquared, b);
                        float coefficient = repulsion / ((0.001f + distanceSquared) * ((a * powered) + 1f));
                        for (int d = 0; d < dim; d++)
                        {
                            current[d] += Math.Min(Math.Max(coefficient * delta[d], -Clip), Clip) * alpha;
                        }
                    }
                }

                nextNeg[e] += negatives * perNegative[e];
            }
        }
    }
}
