using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

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
/// <see cref="PullLog"/>, added in chunk order when the epoch ends; each chunk draws negatives from its own (seed, epoch, chunk)
/// stream, and one visit's negative samples are evaluated together (see Pass.PushAwayTogether); in 2-D eight
/// streams of a chunk advance side by side in SIMD lanes (<see cref="RunPlanarLanes"/>), otherwise a chunk is
/// walked as two interleaved halves. Unlike Hogwild (umap-learn with n_jobs > 1) nothing depends on thread timing or core
/// count, so the same seed gives the same embedding; the price is that positions read by other chunks lag by up to
/// one epoch. Both schedules draw negatives from splitmix64 streams rather than umap-learn's Tausworthe generator.
/// </para>
/// <para>2-D embeddings, the common case, run specialised passes (<see cref="RunPlanar"/>, <see cref="RunPlanarLanes"/>); other dimensions the generic <see cref="Pass"/>.</para>
/// </summary>
internal sealed partial class LayoutOptimizer
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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
        var pullLogs = parallel ? Enumerable.Range(0, chunks).Select(c => new PullLog(chunkStart[c + 1] - chunkStart[c], _dim)).ToArray() : [];
        var dueLists = parallel && _dim == 2 ? Enumerable.Range(0, chunks).Select(c => new int[chunkStart[c + 1] - chunkStart[c]]).ToArray() : [];
        ulong sequentialRandom = RandomStream.Mix((ulong)(uint)_settings.Seed ^ 0x5EED_0003UL);
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
                    ulong random = RandomStream.Mix(((ulong)(uint)_settings.Seed << 32) ^ (((ulong)(uint)currentEpoch * (ulong)chunks) + (ulong)c + 1UL));
                    RunChunk(embedding, snapshot, pullLogs[c], dueLists.Length > 0 ? dueLists[c] : [], chunkStart[c], chunkStart[c + 1], currentAlpha, currentEpoch, ref random);
                });
                PullLog.ApplyAll(embedding, _dim, pullLogs);
            }
            else
            {
                RunSequential(embedding, (float)alpha, epoch, ref sequentialRandom);
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
            int at = HeadBoundaryFrom((int)((long)edges * c / ChunkCount), edges);
            if (at > boundaries[^1] && at < edges)
            {
                boundaries.Add(at);
            }
        }

        boundaries.Add(edges);
        return boundaries.ToArray();
    }

    private int HeadBoundaryFrom(int at, int end)
    {
        while (at < end && at > 0 && _head[at] == _head[at - 1])
        {
            at++;
        }

        return at;
    }

    /// <summary>umap-learn's order: every edge in turn, each update seen by the next.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private unsafe void RunSequential(float[] embedding, float alpha, int epoch, ref ulong random)
    {
        float* scratch = stackalloc float[_dim];
        fixed (float* points = embedding)
        {
            if (_dim == 2)
            {
                RunPlanar(points, alpha, epoch, ref random);
                return;
            }

            var pass = new Pass(this, points, points, null, alpha, epoch, scratch);
            for (int e = 0; e < _head.Length; e++)
            {
                pass.Visit(e, batchNegatives: false, ref random);
            }
        }
    }

    /// <summary>
    /// One chunk of the parallel schedule. The chunk is walked as two interleaved halves with disjoint heads, so
    /// the two dependency chains (each head's position feeds its next update) overlap in the CPU.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private unsafe void RunChunk(float[] live, float[] snapshot, PullLog pulls, int[] due, int first, int end, float alpha, int epoch, ref ulong random)
    {
        int middle = HeadBoundaryFrom(first + ((end - first) / 2), end);
        float* scratch = stackalloc float[_dim];
        fixed (float* livePoints = live)
        fixed (float* snapshotPoints = snapshot)
        {
            if (_dim == 2)
            {
                RunPlanarLanes(livePoints, snapshotPoints, pulls, due, first, end, alpha, epoch, ref random);
                return;
            }

            var pass = new Pass(this, livePoints, snapshotPoints, pulls, alpha, epoch, scratch);
            int longer = Math.Max(middle - first, end - middle);
            for (int i = 0; i < longer; i++)
            {
                if (first + i < middle)
                {
                    pass.Visit(first + i, batchNegatives: true, ref random);
                }

                if (middle + i < end)
                {
                    pass.Visit(middle + i, batchNegatives: true, ref random);
                }
            }
        }
    }

    /// <summary>A uniform vertex from a splitmix64 stream: one 64-bit state, so it stays in a register.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int NextVertex(ref ulong state, int count)
    {
        state += 0x9E3779B97F4A7C15UL;
        return (int)(((RandomStream.Mix(state) >> 32) * (ulong)(uint)count) >> 32);
    }

    /// <summary>The sequential schedule specialised for 2-D embeddings: coordinates stay in registers for a whole edge visit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private unsafe void RunPlanar(float* points, float alpha, int epoch, ref ulong random)
    {
        float a = (float)_settings.A;
        float b = (float)_settings.B;
        float attraction = -2f * a * b;
        float repulsion = (float)(2.0 * _settings.Gamma * _settings.B);
        int vertices = _vertexCount;
        ulong state = random;
        fixed (int* heads = _head)
        fixed (int* tails = _tail)
        fixed (double* next = _nextSample)
        fixed (double* nextNegative = _nextNegative)
        fixed (double* perSample = _epochsPerSample)
        fixed (double* perNegative = _epochsPerNegative)
        {
            for (int e = 0; e < _head.Length; e++)
            {
                if (next[e] <= epoch)
                {
                    VisitPlanar(e, points, heads, tails, next, nextNegative, perSample, perNegative, a, b, attraction, repulsion, alpha, epoch, vertices, ref state);
                }
            }
        }

        random = state;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void VisitPlanar(
        int e,
        float* points,
        int* heads,
        int* tails,
        double* next,
        double* nextNegative,
        double* perSample,
        double* perNegative,
        float a,
        float b,
        float attraction,
        float repulsion,
        float alpha,
        int epoch,
        int vertices,
        ref ulong state)
    {
        int j = heads[e];
        int k = tails[e];
        float* current = points + (2L * j);
        float x = current[0];
        float y = current[1];
        float* other = points + (2L * k);
        float dx = x - other[0];
        float dy = y - other[1];
        float distanceSquared = (dx * dx) + (dy * dy);
        if (distanceSquared > 0f)
        {
            float powered = MathF.Pow(distanceSquared, b);
            float coefficient = attraction * powered / (distanceSquared * ((a * powered) + 1f));
            float gx = Math.Min(Math.Max(coefficient * dx, -Clip), Clip) * alpha;
            float gy = Math.Min(Math.Max(coefficient * dy, -Clip), Clip) * alpha;
            x += gx;
            y += gy;
            other[0] -= gx;
            other[1] -= gy;
        }

        next[e] += perSample[e];
        int negatives = (int)((epoch - nextNegative[e]) / perNegative[e]);
        for (int p = 0; p < negatives; p++)
        {
            int n = NextVertex(ref state, vertices);
            if (n == j)
            {
                continue;
            }

            // The head's own slot is stale while (x, y) is in registers, but n == j is skipped above.
            float* negative = points + (2L * n);
            dx = x - negative[0];
            dy = y - negative[1];
            distanceSquared = (dx * dx) + (dy * dy);
            if (distanceSquared > 0f)
            {
                float coefficient = repulsion / ((0.001f + distanceSquared) * ((a * MathF.Pow(distanceSquared, b)) + 1f));
                x += Math.Min(Math.Max(coefficient * dx, -Clip), Clip) * alpha;
                y += Math.Min(Math.Max(coefficient * dy, -Clip), Clip) * alpha;
            }
        }

        current[0] = x;
        current[1] = y;
        nextNegative[e] += negatives * perNegative[e];
    }

    /// <summary>
    /// One epoch's view of the arrays: heads move in Live, tails and negatives are read from Others, pulls on
    /// tails go to the chunk's log, or, in the sequential schedule (Others = Live, no log), straight to Live.
    /// </summary>
    private readonly unsafe struct Pass
    {
        private readonly LayoutOptimizer _owner;
        private readonly float* _live;
        private readonly float* _others;
        private readonly PullLog? _pulls;
        private readonly float* _scratch;
        private readonly float _alpha;
        private readonly int _epoch;
        private readonly float _a;
        private readonly float _b;
        private readonly float _attraction;
        private readonly float _repulsion;

        public Pass(LayoutOptimizer owner, float* live, float* others, PullLog? pulls, float alpha, int epoch, float* scratch)
        {
            _owner = owner;
            _live = live;
            _others = others;
            _pulls = pulls;
            _alpha = alpha;
            _epoch = epoch;
            _scratch = scratch;
            _a = (float)owner._settings.A;
            _b = (float)owner._settings.B;
            _attraction = -2f * _a * _b;
            _repulsion = (float)(2.0 * owner._settings.Gamma * owner._settings.B);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Visit(int e, bool batchNegatives, ref ulong random)
        {
            var owner = _owner;
            if (owner._nextSample[e] > _epoch)
            {
                return;
            }

            int dim = owner._dim;
            int j = owner._head[e];
            int k = owner._tail[e];
            float* current = _live + ((long)j * dim);
            float* other = _others + ((long)k * dim);
            float distanceSquared = SquaredDistance(current, other, dim);

            if (distanceSquared > 0f)
            {
                float powered = MathF.Pow(distanceSquared, _b);
                float coefficient = _attraction * powered / (distanceSquared * ((_a * powered) + 1f));
                int entry = _pulls is null ? -1 : _pulls.Count++;
                for (int d = 0; d < dim; d++)
                {
                    float gradient = Math.Min(Math.Max(coefficient * (current[d] - other[d]), -Clip), Clip) * _alpha;
                    current[d] += gradient;
                    if (_pulls is null)
                    {
                        _live[((long)k * dim) + d] -= gradient;
                    }
                    else
                    {
                        _pulls.Vertices[entry] = k;
                        _pulls.Deltas[(entry * dim) + d] = -gradient;
                    }
                }
            }

            owner._nextSample[e] += owner._epochsPerSample[e];
            int negatives = (int)((_epoch - owner._nextNegative[e]) / owner._epochsPerNegative[e]);
            if (batchNegatives)
            {
                PushAwayTogether(current, j, negatives, ref random);
            }
            else
            {
                PushAwayInTurn(current, j, negatives, ref random);
            }

            owner._nextNegative[e] += negatives * owner._epochsPerNegative[e];
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private float RepulsionCoefficient(float distanceSquared)
        {
            float powered = MathF.Pow(distanceSquared, _b);
            return _repulsion / ((0.001f + distanceSquared) * ((_a * powered) + 1f));
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static float SquaredDistance(float* x, float* y, int dim)
        {
            float sum = 0f;
            for (int d = 0; d < dim; d++)
            {
                float diff = x[d] - y[d];
                sum += diff * diff;
            }

            return sum;
        }

        /// <summary>umap-learn's repulsion: each negative sample measured from the head as the previous one left it.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void PushAwayInTurn(float* current, int self, int negatives, ref ulong random)
        {
            int dim = _owner._dim;
            for (int p = 0; p < negatives; p++)
            {
                int n = NextVertex(ref random, _owner._vertexCount);
                if (n == self)
                {
                    continue;
                }

                float* negative = _others + ((long)n * dim);
                float distanceSquared = SquaredDistance(current, negative, dim);

                if (distanceSquared > 0f)
                {
                    float coefficient = RepulsionCoefficient(distanceSquared);
                    for (int d = 0; d < dim; d++)
                    {
                        current[d] += Math.Min(Math.Max(coefficient * (current[d] - negative[d]), -Clip), Clip) * _alpha;
                    }
                }
            }
        }

        /// <summary>
        /// The parallel schedule's repulsion: all of one visit's negative samples are measured from the head's
        /// position after its attractive step and their clipped pushes applied together. In turn, each push would
        /// wait for the previous one (a chain of pow and division latencies); independent, they overlap in the CPU.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void PushAwayTogether(float* current, int self, int negatives, ref ulong random)
        {
            int dim = _owner._dim;
            float* total = _scratch;
            for (int d = 0; d < dim; d++)
            {
                total[d] = 0f;
            }

            for (int p = 0; p < negatives; p++)
            {
                int n = NextVertex(ref random, _owner._vertexCount);
                if (n == self)
                {
                    continue;
                }

                float* negative = _others + ((long)n * dim);
                float distanceSquared = SquaredDistance(current, negative, dim);

                if (distanceSquared > 0f)
                {
                    float coefficient = RepulsionCoefficient(distanceSquared);
                    for (int d = 0; d < dim; d++)
                    {
                        total[d] += Math.Min(Math.Max(coefficient * (current[d] - negative[d]), -Clip), Clip);
                    }
                }
            }

            for (int d = 0; d < dim; d++)
            {
                current[d] += total[d] * _alpha;
            }
        }
    }
}
