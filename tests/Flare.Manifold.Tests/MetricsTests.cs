using Flare.Manifold.Metrics;

namespace Flare.Manifold.Tests;

public sealed class MetricsTests
{
    [Fact]
    public void AdjustedRandIndexIgnoresLabelNamesAndPenalisesDisagreement()
    {
        Assert.Equal(1.0, AdjustedRandIndex.Compute([0, 0, 1, 1, 2, 2], [5, 5, 3, 3, -1, -1]), 10);
        Assert.True(AdjustedRandIndex.Compute([0, 0, 0, 1, 1, 1], [0, 1, 0, 1, 0, 1]) < 0.1);
    }

    [Fact]
    public void TrustworthinessIsOneForAnIsometryAndLowerForAShuffle()
    {
        var data = TestData.Uniform(200, 3, seed: 4);
        var shifted = data.Clone();
        for (int i = 0; i < shifted.Values.Length; i++)
        {
            shifted.Values[i] += 10f;
        }

        Assert.Equal(1.0, Trustworthiness.Compute(data, shifted, 5), 10);
        var shuffled = data.TakeRows(Enumerable.Range(0, 200).Reverse().ToArray());
        Assert.True(Trustworthiness.Compute(data, shuffled, 5) < 0.8);
    }
}
