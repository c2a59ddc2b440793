using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Flare.Manifold.Neighbors;

/// <summary>SIMD kernels shared by the neighbour searches.</summary>
internal static class VectorMath
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float SquaredDistance(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        ref float px = ref MemoryMarshal.GetReference(x);
        ref float py = ref MemoryMarshal.GetReference(y);
        int length = x.Length;
        int i = 0;
        float sum = 0f;
        if (Vector512.IsHardwareAccelerated && length >= 64)
        {
            var wide0 = Vector512<float>.Zero;
            var wide1 = Vector512<float>.Zero;
            for (; i <= length - 32; i += 32)
            {
                var d0 = Vector512.LoadUnsafe(ref px, (nuint)i) - Vector512.LoadUnsafe(ref py, (nuint)i);
                var d1 = Vector512.LoadUnsafe(ref px, (nuint)(i + 16)) - Vector512.LoadUnsafe(ref py, (nuint)(i + 16));
                wide0 = Vector512.FusedMultiplyAdd(d0, d0, wide0);
                wide1 = Vector512.FusedMultiplyAdd(d1, d1, wide1);
            }

            sum = Vector512.Sum(wide0 + wide1);
        }

        if (Vector256.IsHardwareAccelerated && length - i >= Vector256<float>.Count)
        {
            var acc0 = Vector256<float>.Zero;
            var acc1 = Vector256<float>.Zero;
            for (; i <= length - 16; i += 16)
            {
                var d0 = Vector256.LoadUnsafe(ref px, (nuint)i) - Vector256.LoadUnsafe(ref py, (nuint)i);
                var d1 = Vector256.LoadUnsafe(ref px, (nuint)(i + 8)) - Vector256.LoadUnsafe(ref py, (nuint)(i + 8));
                acc0 = Vector256.FusedMultiplyAdd(d0, d0, acc0);
                acc1 = Vector256.FusedMultiplyAdd(d1, d1, acc1);
            }

            for (; i <= length - 8; i += 8)
            {
                var d0 = Vector256.LoadUnsafe(ref px, (nuint)i) - Vector256.LoadUnsafe(ref py, (nuint)i);
                acc0 = Vector256.FusedMultiplyAdd(d0, d0, acc0);
            }

            sum += Vector256.Sum(acc0 + acc1);
        }

        for (; i < length; i++)
        {
            float d = Unsafe.Add(ref px, i) - Unsafe.Add(ref py, i);
            sum += d * d;
        }

        return sum;
    }

    public static float SquaredNorm(ReadOnlySpan<float> x)
    {
        float sum = 0f;
        foreach (float v in x)
        {
            sum += v * v;
        }

        return sum;
    }

    /// <summary>
    /// The data the searches work on: a copy in which squared Euclidean distance orders neighbours as the metric does.
    /// For cosine the rows are scaled to unit length (then |x - y|^2 = 2 (1 - cos)); zero rows stay zero.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static DenseMatrix PrepareForSearch(DenseMatrix data, DistanceMetric metric)
    {
        var prepared = data.Clone();
        if (metric == DistanceMetric.Cosine)
        {
            for (int i = 0; i < prepared.Rows; i++)
            {
                var row = prepared.Row(i);
                float norm = MathF.Sqrt(SquaredNorm(row));
                if (norm > 0f)
                {
                    float inverse = 1f / norm;
                    for (int j = 0; j < row.Length; j++)
                    {
                        row[j] *= inverse;
                    }
                }
            }
        }

        return prepared;
    }

    /// <summary>Turns a squared Euclidean distance on prepared data into the metric's distance.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float FromSquared(float squared, DistanceMetric metric) =>
        metric == DistanceMetric.Cosine ? 0.5f * squared : MathF.Sqrt(squared);
}
