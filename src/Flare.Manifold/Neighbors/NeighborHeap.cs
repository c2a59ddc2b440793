using System.Numerics;
using System.Runtime.CompilerServices;

namespace Flare.Manifold.Neighbors;

/// <summary>
/// Fixed-size max-heaps of (distance, index) pairs stored row by row in flat arrays: the root of row i is its
/// current k-th best distance, the admission threshold for new candidates.
/// </summary>
internal static class NeighborHeap
{
    public static void Initialize(Span<float> distances, Span<int> indices)
    {
        distances.Fill(float.PositiveInfinity);
        indices.Fill(-1);
    }

    /// <summary>Replaces the root when <paramref name="distance"/> beats it; the caller has checked for duplicates.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ReplaceRoot(Span<float> distances, Span<int> indices, float distance, int index) =>
        SiftDownFromRoot(distances, indices, distance, index);

    /// <summary>
    /// Puts (<paramref name="key"/>, <paramref name="id"/>) at the root of a max-heap and sifts it
    /// down; shared by the float-distance heaps and NN-descent's integer-priority candidate heaps.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SiftDownFromRoot<TKey>(Span<TKey> keys, Span<int> ids, TKey key, int id)
        where TKey : struct, IComparisonOperators<TKey, TKey, bool>
    {
        int size = keys.Length;
        int i = 0;
        while (true)
        {
            int left = (2 * i) + 1;
            if (left >= size)
            {
                break;
            }

            int right = left + 1;
            int larger = right < size && keys[right] > keys[left] ? right : left;
            if (keys[larger] <= key)
            {
                break;
            }

            keys[i] = keys[larger];
            ids[i] = ids[larger];
            i = larger;
        }

        keys[i] = key;
        ids[i] = id;
    }

    /// <summary>Sorts a row (heap-ordered or not) into ascending distance, ties by ascending index for determinism.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SortAscending(Span<float> distances, Span<int> indices)
    {
        distances.Sort(indices);
        for (int i = 1; i < distances.Length; i++)
        {
            float d = distances[i];
            int idx = indices[i];
            int j = i - 1;
            while (j >= 0 && distances[j] == d && indices[j] > idx)
            {
                distances[j + 1] = distances[j];
                indices[j + 1] = indices[j];
                j--;
            }

            distances[j + 1] = d;
            indices[j + 1] = idx;
        }
    }
}
