using Flare.Manifold;
using Flare.Manifold.Neighbors;

namespace Flare.Manifold.Tests;

public sealed class NeighborTests
{
    [Theory]
    [InlineData(DistanceMetric.Euclidean, 7)]
    [InlineData(DistanceMetric.Cosine, 33)]
    public void ExactSearchEqualsBruteForce(DistanceMetric metric, int columns)
    {
        var data = TestData.Uniform(203, columns, seed: 5, low: -1f, high: 1f);
        const int k = 9;
        var graph = ExactNeighbors.Compute(data, k, metric);
        for (int i = 0; i < data.Rows; i++)
        {
            var expected = Enumerable.Range(0, data.Rows)
                .Select(j => (Index: j, Distance: BruteDistance(data, i, j, metric)))
                .OrderBy(p => p.Distance).ThenBy(p => p.Index)
                .Take(k)
                .ToArray();
            Assert.Equal(i, graph.NeighborIndices(i)[0]);
            Assert.Equal(0f, graph.NeighborDistances(i)[0]);
            Assert.Equal(expected.Select(p => p.Index), graph.NeighborIndices(i).ToArray());
            for (int j = 1; j < k; j++)
            {
                Assert.Equal(expected[j].Distance, graph.NeighborDistances(i)[j], 1e-5f);
            }
        }
    }

    [Fact]
    public void NNDescentRecallIsAtLeast95PercentAndDeterministic()
    {
        var (data, _) = TestData.GaussianClusters(clusters: 8, perCluster: 400, columns: 20, centerSpread: 3.0, seed: 11);
        const int k = 15;
        var exact = ExactNeighbors.Compute(data, k);
        var first = NNDescent.Compute(data, k, options: new NNDescentOptions { Seed = 3 });
        var second = NNDescent.Compute(data, k, options: new NNDescentOptions { Seed = 3 });
        Assert.True(first.RecallAgainst(exact) >= 0.95, $"recall {first.RecallAgainst(exact):F4}");
        Assert.Equal(first.Indices, second.Indices);
        Assert.Equal(first.Distances, second.Distances);
        for (int i = 0; i < data.Rows; i++)
        {
            Assert.Equal(i, first.NeighborIndices(i)[0]);
            var distances = first.NeighborDistances(i);
            for (int j = 1; j < k; j++)
            {
                Assert.True(distances[j - 1] <= distances[j]);
            }
        }
    }

    [Fact]
    public void NNDescentStartedFromAWiderSpacesNeighboursRefinesThem()
    {
        var (wide, _) = TestData.GaussianClusters(clusters: 8, perCluster: 400, columns: 30, centerSpread: 3.0, seed: 12);
        var narrow = wide.TakeColumns(20);
        const int k = 15;
        var exact = ExactNeighbors.Compute(narrow, k);
        var start = NNDescent.Compute(wide, k, options: new NNDescentOptions { Seed = 3 });
        Assert.True(start.RecallAgainst(exact) < 0.9, $"the wide space's neighbours already match ({start.RecallAgainst(exact):F4}): no test of refinement");
        var first = NNDescent.Compute(narrow, k, options: new NNDescentOptions { Seed = 3, StartFrom = start });
        var second = NNDescent.Compute(narrow, k, options: new NNDescentOptions { Seed = 3, StartFrom = start });
        Assert.True(first.RecallAgainst(exact) >= 0.95, $"recall {first.RecallAgainst(exact):F4}");
        Assert.Equal(first.Indices, second.Indices);
        Assert.Equal(first.Distances, second.Distances);

        // Started from the exact answer, nothing can improve it: the start is what the rounds refine.
        Assert.Equal(exact.Indices, NNDescent.Compute(narrow, k, options: new NNDescentOptions { Seed = 3, StartFrom = exact }).Indices);
        Assert.Throws<ArgumentException>(() => NNDescent.Compute(narrow.TakeRows(Enumerable.Range(0, 100).ToArray()), k, options: new NNDescentOptions { StartFrom = exact }));
    }

    [Fact]
    public void AutoChoosesByWorkAndValidatesInput()
    {
        var data = TestData.Uniform(50, 3, seed: 2);
        Assert.Equal(ExactNeighbors.Compute(data, 5).Indices, NeighborSearch.Compute(data, 5).Indices);
        Assert.Equal("k", Assert.Throws<ArgumentOutOfRangeException>(() => NeighborSearch.Compute(data, 51)).ParamName);
        data[3, 1] = float.PositiveInfinity;
        Assert.Equal("data", Assert.Throws<ArgumentException>(() => ExactNeighbors.Compute(data, 5)).ParamName);
    }

    private static float BruteDistance(DenseMatrix data, int i, int j, DistanceMetric metric)
    {
        double sum = 0, dot = 0, ni = 0, nj = 0;
        for (int d = 0; d < data.Columns; d++)
        {
            double diff = data[i, d] - data[j, d];
            sum += diff * diff;
            dot += data[i, d] * data[j, d];
            ni += data[i, d] * data[i, d];
            nj += data[j, d] * data[j, d];
        }

        return metric == DistanceMetric.Euclidean ? (float)Math.Sqrt(sum) : (float)(1 - (dot / Math.Sqrt(ni * nj)));
    }
}
