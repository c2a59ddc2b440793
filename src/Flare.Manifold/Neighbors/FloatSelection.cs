using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Flare.Manifold.Neighbors;

/// <summary>
/// Branch-free selection on non-negative floats held as their bit patterns (which order like the values): the
/// k-th smallest by bisection on the value, counting with SIMD compares. Unlike quickselect or a heap it has no
/// data-dependent branches, which is what costs most when candidates arrive in random order.
/// </summary>
internal static class FloatSelection
{
    /// <summary>
    /// The k-th smallest (1-based) of non-negative float bit patterns, known to lie in [low, high] when those
    /// bounds are valid, by bisection with SIMD counting; falls back to the full range otherwise.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int KthSmallest(Span<int> values, int k, int low, int high)
    {
        if (CountAtMost(values, high) < k || (low > 0 && CountAtMost(values, low - 1) >= k))
        {
            low = 0;
            high = int.MaxValue;
        }

        while (low < high)
        {
            int middle = low + ((high - low) / 2);
            if (CountAtMost(values, middle) >= k)
            {
                high = middle;
            }
            else
            {
                low = middle + 1;
            }
        }

        return low;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int CountAtMost(ReadOnlySpan<int> values, int limit)
    {
        int i = 0;
        int count = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var bound = Vector256.Create(limit);
            var total = Vector256<int>.Zero;
            for (; i <= values.Length - Vector256<int>.Count; i += Vector256<int>.Count)
            {
                // A true lane is all ones (-1), so subtracting the mask counts it.
                total -= Vector256.LessThanOrEqual(Vector256.Create(values[i..]), bound);
            }

            count = Vector256.Sum(total);
        }

        for (; i < values.Length; i++)
        {
            count += values[i] <= limit ? 1 : 0;
        }

        return count;
    }
}
