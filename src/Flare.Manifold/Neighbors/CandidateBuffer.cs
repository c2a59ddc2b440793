using System.Numerics;
using System.Runtime.CompilerServices;

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

    /// <summary>The query's current k-th best squared distance (+inf until k candidates are kept).</summary>
    public float Threshold(int query) => _threshold[query];

    /// <summary>
    /// Offers references baseIndex + i with squared distance max(0, scores[i] + queryNorm); masks[p] flags the
    /// lanes of panel p (16 references) that were under the threshold when the scores were computed.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Admit(int query, ReadOnlySpan<float> scores, ReadOnlySpan<ushort> masks, float queryNorm, int baseIndex)
    {
        float limit = _threshold[query] - queryNorm;
        int pending = _pendingCount[query];
        int pendingStart = query * PendingCapacity;
        for (int panel = 0; panel < masks.Length; panel++)
        {
            uint mask = masks[panel];
            while (mask != 0)
            {
                int lane = (panel * 16) + BitOperations.TrailingZeroCount(mask);
                mask &= mask - 1;
                if (!(scores[lane] < limit))
                {
                    continue;
                }

                _pendingBits[pendingStart + pending] = BitConverter.SingleToInt32Bits(Math.Max(0f, scores[lane] + queryNorm));
                _pendingIds[pendingStart + pending] = baseIndex + lane;
                if (++pending == PendingCapacity)
                {
                    _pendingCount[query] = pending;
                    Merge(query);
                    pending = 0;
                    limit = _threshold[query] - queryNorm;
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
