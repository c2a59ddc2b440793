using System.Runtime.Intrinsics;
using Flare.Manifold.Embedding;

namespace Flare.Manifold.Tests;

public sealed class VectorPowTests
{
    [Fact]
    public void MatchesMathPowToFloatPrecision()
    {
        var random = new Random(5);
        double worst = 0;
        for (int i = 0; i < 20_000; i++)
        {
            var x = new float[8];
            for (int lane = 0; lane < 8; lane++)
            {
                x[lane] = (float)Math.Exp((random.NextDouble() * 40) - 25);
            }

            float y = (float)((random.NextDouble() * 1.8) - 0.9);
            var result = VectorPow.Pow(Vector256.Create(x), y);
            for (int lane = 0; lane < 8; lane++)
            {
                worst = Math.Max(worst, Math.Abs((result[lane] / Math.Pow(x[lane], y)) - 1));
            }
        }

        // Rounding y * log2 x to float32 bounds the error (about |y log2 x| * 6e-8), not the polynomials.
        Assert.True(worst < 3e-6, $"worst relative error {worst:E2}");
    }
}
