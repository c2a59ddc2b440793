using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Flare.Manifold.Embedding;

/// <summary>The parallel schedule's 2-D pass, eight edge visits per SIMD step.</summary>
internal sealed partial class LayoutOptimizer
{
    private const int Lanes = 8;

    /// <summary>
    /// One chunk of a 2-D parallel epoch. The chunk's edges are split at head boundaries into eight streams with
    /// disjoint heads; each stream's due edges (those whose turn has come this epoch) are listed, and lane l of
    /// every SIMD step takes the next due edge of stream l. A lane's visit is the batched visit of the generic pass:
    /// attraction, then all of the visit's negative samples measured from the head's new position and their clipped
    /// pushes summed. Streams own their heads, tails and negatives are read from the snapshot, pulls go to the log,
    /// and negatives are drawn from one splitmix64 stream in (sample, lane) order: the result is deterministic.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private unsafe void RunPlanarLanes(float* live, float* others, PullLog pulls, int[] due, int first, int end, float alpha, int epoch, ref ulong random)
    {
        int* streamStart = stackalloc int[Lanes + 1];
        int* dueCount = stackalloc int[Lanes];
        streamStart[0] = first;
        for (int l = 1; l < Lanes; l++)
        {
            streamStart[l] = Math.Max(streamStart[l - 1], HeadBoundaryFrom(first + (int)((long)(end - first) * l / Lanes), end));
        }

        streamStart[Lanes] = end;
        int rounds = 0;
        for (int l = 0; l < Lanes; l++)
        {
            // Stream l lists its due edges in due[streamStart[l] - first ...].
            int count = 0;
            int offset = streamStart[l] - first;
            for (int e = streamStart[l]; e < streamStart[l + 1]; e++)
            {
                due[offset + count] = e;
                count += _nextSample[e] <= epoch ? 1 : 0;
            }

            dueCount[l] = count;
            rounds = Math.Max(rounds, count);
        }

        float a = (float)_settings.A;
        float b = (float)_settings.B;
        var attraction = Vector256.Create(-2f * a * b);
        var repulsion = Vector256.Create((float)(2.0 * _settings.Gamma * _settings.B));
        var aVector = Vector256.Create(a);
        var one = Vector256.Create(1f);
        var clip = Vector256.Create(Clip);
        var alphaVector = Vector256.Create(alpha);
        var scale = Vector256.Create(_vertexCount / 16777216f);
        var lastVertex = Vector256.Create(_vertexCount - 1);
        var lanes = Vector256.Create(
            SeedLane(random, 0), SeedLane(random, 1), SeedLane(random, 2), SeedLane(random, 3),
            SeedLane(random, 4), SeedLane(random, 5), SeedLane(random, 6), SeedLane(random, 7));
        int logged = pulls.Count;
        int* edge = stackalloc int[Lanes];
        int* head = stackalloc int[Lanes];
        int* negatives = stackalloc int[Lanes];
        float* bufferX = stackalloc float[Lanes];
        float* bufferY = stackalloc float[Lanes];
        float* gradientX = stackalloc float[Lanes];
        float* gradientY = stackalloc float[Lanes];
        int* laneActive = stackalloc int[Lanes];
        fixed (int* heads = _head)
        fixed (int* tails = _tail)
        fixed (double* next = _nextSample)
        fixed (double* nextNegative = _nextNegative)
        fixed (double* perSample = _epochsPerSample)
        fixed (double* perNegative = _epochsPerNegative)
        fixed (int* dueEdges = due)
        fixed (int* logVertices = pulls.Vertices)
        fixed (float* logDeltas = pulls.Deltas)
        {
            for (int round = 0; round < rounds; round++)
            {
                int mostNegatives = 0;
                for (int l = 0; l < Lanes; l++)
                {
                    bool active = round < dueCount[l];
                    int e = active ? dueEdges[streamStart[l] - first + round] : -1;
                    edge[l] = e;
                    laneActive[l] = active ? -1 : 0;
                    int j = active ? heads[e] : 0;
                    head[l] = j;
                    bufferX[l] = live[2L * j];
                    bufferY[l] = live[(2L * j) + 1];
                    int k = active ? tails[e] : 0;
                    gradientX[l] = others[2L * k];
                    gradientY[l] = others[(2L * k) + 1];
                    int count = 0;
                    if (active)
                    {
                        next[e] += perSample[e];
                        count = (int)((epoch - nextNegative[e]) / perNegative[e]);
                        nextNegative[e] += count * perNegative[e];
                    }

                    negatives[l] = count;
                    mostNegatives = Math.Max(mostNegatives, count);
                }

                var laneMask = Vector256.Load(laneActive).AsSingle();
                var x = Vector256.Load(bufferX);
                var y = Vector256.Load(bufferY);
                var dx = x - Vector256.Load(gradientX);
                var dy = y - Vector256.Load(gradientY);
                var distanceSquared = (dx * dx) + (dy * dy);
                var attracted = laneMask & Vector256.GreaterThan(distanceSquared, Vector256<float>.Zero);
                var powered = VectorPow.Pow(distanceSquared, b);
                var coefficient = attraction * powered / (distanceSquared * Vector256.FusedMultiplyAdd(aVector, powered, one));
                var pullX = attracted & (Vector256.Min(Vector256.Max(coefficient * dx, -clip), clip) * alphaVector);
                var pullY = attracted & (Vector256.Min(Vector256.Max(coefficient * dy, -clip), clip) * alphaVector);
                x += pullX;
                y += pullY;
                pullX.Store(gradientX);
                pullY.Store(gradientY);
                for (int l = 0; l < Lanes; l++)
                {
                    if (edge[l] >= 0 && (gradientX[l] != 0f || gradientY[l] != 0f))
                    {
                        logVertices[logged] = tails[edge[l]];
                        logDeltas[2 * logged] = -gradientX[l];
                        logDeltas[(2 * logged) + 1] = -gradientY[l];
                        logged++;
                    }
                }

                var pushX = Vector256<float>.Zero;
                var pushY = Vector256<float>.Zero;
                var heads8 = Vector256.Load(head);
                var wanted = Vector256.Load(negatives);
                for (int p = 0; p < mostNegatives; p++)
                {
                    // One xorshift32 step per lane, scaled to a vertex index through float (clamped for rounding).
                    lanes ^= Vector256.ShiftLeft(lanes, 13);
                    lanes ^= Vector256.ShiftRightLogical(lanes, 17);
                    lanes ^= Vector256.ShiftLeft(lanes, 5);
                    var drawn = Vector256.Min(Vector256.ConvertToInt32(Vector256.ConvertToSingle(Vector256.ShiftRightLogical(lanes, 8).AsInt32()) * scale), lastVertex);
                    var take = Vector256.GreaterThan(wanted, Vector256.Create(p));
                    var n = Vector256.ConditionalSelect(take, drawn, heads8);
                    var usable = take & ~Vector256.Equals(n, heads8);
                    var (negativeX, negativeY) = Gather(others, n, bufferX, bufferY);
                    dx = x - negativeX;
                    dy = y - negativeY;
                    distanceSquared = (dx * dx) + (dy * dy);
                    var pushed = usable.AsSingle() & Vector256.GreaterThan(distanceSquared, Vector256<float>.Zero);
                    powered = VectorPow.Pow(distanceSquared, b);
                    coefficient = repulsion / ((distanceSquared + Vector256.Create(0.001f)) * Vector256.FusedMultiplyAdd(aVector, powered, one));
                    pushX += pushed & Vector256.Min(Vector256.Max(coefficient * dx, -clip), clip);
                    pushY += pushed & Vector256.Min(Vector256.Max(coefficient * dy, -clip), clip);
                }

                x = Vector256.FusedMultiplyAdd(pushX, alphaVector, x);
                y = Vector256.FusedMultiplyAdd(pushY, alphaVector, y);
                x.Store(bufferX);
                y.Store(bufferY);
                for (int l = 0; l < Lanes; l++)
                {
                    if (edge[l] >= 0)
                    {
                        live[2L * head[l]] = bufferX[l];
                        live[(2L * head[l]) + 1] = bufferY[l];
                    }
                }
            }
        }

        random = RandomStream.Mix(random);
        pulls.Count = logged;
    }

    /// <summary>A non-zero xorshift32 state for lane <paramref name="lane"/> of a chunk's stream.</summary>
    private static uint SeedLane(ulong seed, int lane) => (uint)RandomStream.Mix(seed + (ulong)lane) | 1u;

    /// <summary>The 2-D points at the given vertex indices, by hardware gather where available.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe (Vector256<float> X, Vector256<float> Y) Gather(float* points, Vector256<int> vertices, float* bufferX, float* bufferY)
    {
        var offsets = vertices + vertices;
        if (Avx2.IsSupported)
        {
            return (Avx2.GatherVector256(points, offsets, 4), Avx2.GatherVector256(points + 1, offsets, 4));
        }

        for (int l = 0; l < Lanes; l++)
        {
            bufferX[l] = points[offsets[l]];
            bufferY[l] = points[offsets[l] + 1];
        }

        return (Vector256.Load(bufferX), Vector256.Load(bufferY));
    }
}
