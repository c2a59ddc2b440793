using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Flare.Manifold.Neighbors;

/// <summary>
/// The k best candidates of each query in a chunk, kept without a heap: candidates under the current k-th best
/// distance are appended to a small pending list, and when it fills, the kept and pending candidates are cut back
/// to the k best with <see cref="FloatSelection"/>. A heap would instead pay a few unpredictable branches for
/// every admitted candidate, which dominates when neighbours arrive in random order.
/// </summary>
internal sealed class CandidateBuffer
{
    private const int PendingCapacity = 64;

    private readonly int _k;
    private readonly int[] _keptBits;
    private readonly int[] _keptIds;
    private readonly int[] _keptCount;
    private readonly int[] _pendingBits;
    private readonly int[] _pendingIds;
    private readonly int[] _pendingCount;
    private readonly float[] _threshold;
    private readonly int[] _mergeBits;
    private readonly int[] _mergeIds;

    public CandidateBuffer(int queries, int k)
    {
        _k = k;
        _keptBits = new int[queries * k];
        _keptIds = new int[queries * k];
        _keptCount = new int[queries];
        _pendingBits = new int[queries * PendingCapacity];
        _pendingIds = new int[queries * PendingCapacity];
        _pendingCount = new int[queries];
        _threshold = new float[queries];
        _threshold.AsSpan().Fill(float.PositiveInfinity);
        _mergeBits = new int[k + PendingCapacity];
        _mergeIds = new int[k + PendingCapacity];
    }

    /// <summary>Offers references baseIndex + i with squared distance max(0, scores[i] + queryNorm).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Admit(int query, ReadOnlySpan<float> scores, float queryNorm, int baseIndex)
    {
        var limit = Vector256.Create(_threshold[query] - queryNorm);
        int pending = _pendingCount[query];
        int pendingStart = query * PendingCapacity;
        for (int i = 0; i < scores.Length; i += Vector256<float>.Count)
        {
            uint mask = Vector256.LessThan(Vector256.Create(scores[i..]), limit).ExtractMostSignificantBits();
            while (mask != 0)
            {
                int lane = BitOperations.TrailingZeroCount(mask);
                mask &= mask - 1;
                float distance = Math.Max(0f, scores[i + lane] + queryNorm);
                _pendingBits[pendingStart + pending] = BitConverter.SingleToInt32Bits(distance);
                _pendingIds[pendingStart + pending] = baseIndex + i + lane;
                if (++pending == PendingCapacity)
                {
                    _pendingCount[query] = pending;
                    Merge(query);
                    pending = 0;
                    limit = Vector256.Create(_threshold[query] - queryNorm);
                }
            }
        }

        _pendingCount[query] = pending;
    }

    /// <summary>Writes each query's k best (distances squared, any order) to row-major outputs.</summary>
    public void Finish(Span<float> distances, Span<int> indices)
    {
        for (int query = 0; query < _keptCount.Length; query++)
        {
            Merge(query);
            for (int j = 0; j < _k; j++)
            {
                distances[(query * _k) + j] = BitConverter.Int32BitsToSingle(_keptBits[(query * _k) + j]);
                indices[(query * _k) + j] = _keptIds[(query * _k) + j];
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Merge(int query)
    {
        int kept = _keptCount[query];
        int pending = _pendingCount[query];
        var keptBits = _keptBits.AsSpan(query * _k, _k);
        var keptIds = _keptIds.AsSpan(query * _k, _k);
        if (kept + pending <= _k)
        {
            _pendingBits.AsSpan(query * PendingCapacity, pending).CopyTo(keptBits[kept..]);
            _pendingIds.AsSpan(query * PendingCapacity, pending).CopyTo(keptIds[kept..]);
            kept += pending;
            _keptCount[query] = kept;
            _pendingCount[query] = 0;
            if (kept == _k)
            {
                int largest = 0;
                foreach (int bits in keptBits)
                {
                    largest = Math.Max(largest, bits);
                }

                _threshold[query] = BitConverter.Int32BitsToSingle(largest);
            }

            return;
        }

        int total = kept + pending;
        var bitsAll = _mergeBits.AsSpan(0, total);
        var idsAll = _mergeIds.AsSpan(0, total);
        keptBits[..kept].CopyTo(bitsAll);
        keptIds[..kept].CopyTo(idsAll);
        _pendingBits.AsSpan(query * PendingCapacity, pending).CopyTo(bitsAll[kept..]);
        _pendingIds.AsSpan(query * PendingCapacity, pending).CopyTo(idsAll[kept..]);
        int cut = FloatSelection.KthSmallest(bitsAll, _k, 0, int.MaxValue);

        // Keep everything below the cut, then entries at it (earliest first) until k are kept.
        int filled = 0;
        for (int i = 0; i < total; i++)
        {
            keptBits[filled] = bitsAll[i];
            keptIds[filled] = idsAll[i];
            filled += bitsAll[i] < cut ? 1 : 0;
        }

        for (int i = 0; i < total && filled < _k; i++)
        {
            if (bitsAll[i] == cut)
            {
                keptBits[filled] = bitsAll[i];
                keptIds[filled] = idsAll[i];
                filled++;
            }
        }

        _keptCount[query] = _k;
        _pendingCount[query] = 0;
        _threshold[query] = BitConverter.Int32BitsToSingle(cut);
    }
}
