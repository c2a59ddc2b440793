using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Flare.Manifold.Embedding;

/// <summary>
/// x^y on 8 lanes at once for the parallel SGD pass's batched negative samples, as 2^(y log2 x): log2 from the
/// exponent bits plus an artanh series on the mantissa (rebased to [sqrt(1/2), sqrt(2))), 2^z from the exponent
/// bits and a degree-6 polynomial. Relative error within about 6e-8 |y log2 x| + 3e-7 for positive normal x (under
/// 1e-6 over the squared distances SGD sees), below the float32 resolution of the gradients it feeds. (.NET's
/// Vector256.Exp and Log measured slower here than scalar pow.)
/// </summary>
internal static class VectorPow
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Pow(Vector256<float> x, float y) => Exp2(Log2(x) * Vector256.Create(y));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Log2(Vector256<float> x)
    {
        var bits = Vector256.Max(x, Vector256.Create(1.17549435e-38f)).AsInt32();
        var exponent = Vector256.ShiftRightArithmetic(bits, 23) - Vector256.Create(127);
        var mantissa = ((bits & Vector256.Create(0x007FFFFF)) | Vector256.Create(0x3F800000)).AsSingle();
        var high = Vector256.GreaterThan(mantissa, Vector256.Create(1.41421356f));
        mantissa = Vector256.ConditionalSelect(high, mantissa * 0.5f, mantissa);
        exponent -= high.AsInt32();
        var one = Vector256.Create(1f);
        var t = (mantissa - one) / (mantissa + one);
        var t2 = t * t;
        var series = Vector256.Create(2f / (7f * 0.6931472f));
        series = Vector256.FusedMultiplyAdd(series, t2, Vector256.Create(2f / (5f * 0.6931472f)));
        series = Vector256.FusedMultiplyAdd(series, t2, Vector256.Create(2f / (3f * 0.6931472f)));
        series = Vector256.FusedMultiplyAdd(series, t2, Vector256.Create(2f / 0.6931472f));
        return Vector256.FusedMultiplyAdd(series, t, Vector256.ConvertToSingle(exponent));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Exp2(Vector256<float> z)
    {
        z = Vector256.Min(Vector256.Max(z, Vector256.Create(-126f)), Vector256.Create(126f));
        var whole = Vector256.Floor(z + Vector256.Create(0.5f));
        var g = (z - whole) * Vector256.Create(0.6931472f);
        var p = Vector256.Create(1f / 720f);
        p = Vector256.FusedMultiplyAdd(p, g, Vector256.Create(1f / 120f));
        p = Vector256.FusedMultiplyAdd(p, g, Vector256.Create(1f / 24f));
        p = Vector256.FusedMultiplyAdd(p, g, Vector256.Create(1f / 6f));
        p = Vector256.FusedMultiplyAdd(p, g, Vector256.Create(0.5f));
        p = Vector256.FusedMultiplyAdd(p, g, Vector256.Create(1f));
        p = Vector256.FusedMultiplyAdd(p, g, Vector256.Create(1f));
        var scale = Vector256.ShiftLeft(Vector256.ConvertToInt32(whole) + Vector256.Create(127), 23).AsSingle();
        return p * scale;
    }
}
