using Flare.Manifold;
using Flare.Manifold.Embedding;
using Flare.Manifold.Metrics;
using Flare.Manifold.Neighbors;

namespace Flare.Manifold.Tests;

public sealed class UmapTests
{
    private static readonly Lazy<(DenseMatrix Data, int[] Labels, DenseMatrix Embedding)> TenClusters = new(() =>
    {
        var (data, labels) = TestData.GaussianClusters(clusters: 10, perCluster: 100, columns: 50, centerSpread: 1.0, seed: 21);
        var embedding = new Umap(new UmapOptions { NeighborCount = 15, Seed = 7 }).Fit(data);
        return (data, labels, embedding);
    });

    [Fact]
    public void KeepsNeighbourhoodsOfATenClusterFiftyDimensionalSet()
    {
        var (data, _, embedding) = TenClusters.Value;
        Assert.Equal((1000, 2), (embedding.Rows, embedding.Columns));
        double trust = Trustworthiness.Compute(data, embedding, k: 10);
        Assert.True(trust >= 0.9, $"trustworthiness {trust:F4}");
    }

    [Fact]
    public void SequentialScheduleAlsoKeepsNeighbourhoods()
    {
        var (data, _, _) = TenClusters.Value;
        var embedding = new Umap(new UmapOptions { NeighborCount = 15, Seed = 7, LayoutMode = UmapLayoutMode.Sequential }).Fit(data);
        double trust = Trustworthiness.Compute(data, embedding, k: 10);
        Assert.True(trust >= 0.9, $"trustworthiness {trust:F4}");
    }

    [Theory]
    [InlineData(UmapLayoutMode.Parallel)]
    [InlineData(UmapLayoutMode.Sequential)]
    public void EmbedsIntoThreeDimensionsToo(UmapLayoutMode mode)
    {
        var (data, _, _) = TenClusters.Value;
        var options = new UmapOptions { NeighborCount = 15, Seed = 7, Components = 3, Epochs = 200, LayoutMode = mode };
        var embedding = new Umap(options).Fit(data);
        Assert.Equal(3, embedding.Columns);
        Assert.Equal(embedding.Values, new Umap(options).Fit(data).Values);
        double trust = Trustworthiness.Compute(data, embedding, k: 10);
        Assert.True(trust >= 0.9, $"trustworthiness {trust:F4}");
    }

    [Fact]
    public void KeepsPlantedClustersApart()
    {
        var (_, labels, embedding) = TenClusters.Value;
        var neighbors = ExactNeighbors.Compute(embedding, 11);
        int agreeing = 0;
        for (int i = 0; i < embedding.Rows; i++)
        {
            foreach (int j in neighbors.NeighborIndices(i)[1..])
            {
                agreeing += labels[j] == labels[i] ? 1 : 0;
            }
        }

        double purity = agreeing / (10.0 * embedding.Rows);
        Assert.True(purity >= 0.95, $"embedding neighbour label purity {purity:F4}");
    }

    [Theory]
    [InlineData(UmapLayoutMode.Parallel)]
    [InlineData(UmapLayoutMode.Sequential)]
    public void SameSeedGivesTheSameEmbeddingAndAnotherSeedDoesNot(UmapLayoutMode mode)
    {
        var (data, _) = TestData.GaussianClusters(clusters: 3, perCluster: 80, columns: 8, centerSpread: 2.0, seed: 4);
        var options = new UmapOptions { NeighborCount = 10, Seed = 5, Epochs = 60, LayoutMode = mode };
        var first = new Umap(options).Fit(data);
        var second = new Umap(options).Fit(data);
        var other = new Umap(options with { Seed = 6 }).Fit(data);
        Assert.Equal(first.Values, second.Values);
        Assert.NotEqual(first.Values, other.Values);
    }

    [Fact]
    public void SpectralStartMatchesDenseEigenvectorsOnAConnectedGraph()
    {
        // A noisy ring is connected, so the spectral start is used; compare with a dense eigen-decomposition.
        var random = new Random(3);
        var ring = new DenseMatrix(150, 3);
        for (int i = 0; i < ring.Rows; i++)
        {
            double t = 2 * Math.PI * i / ring.Rows;
            ring[i, 0] = (float)(Math.Cos(t) + (0.05 * TestData.Gaussian(random)));
            ring[i, 1] = (float)(Math.Sin(t) + (0.05 * TestData.Gaussian(random)));
            ring[i, 2] = (float)(0.05 * TestData.Gaussian(random));
        }

        var graph = FuzzySimplicialSet.Build(ExactNeighbors.Compute(ring, 10));
        var vectors = SpectralInitialization.Compute(graph, dim: 2, seed: 1, CancellationToken.None);
        Assert.NotNull(vectors);

        int n = graph.Count;
        var degree = new double[n];
        var normalized = new double[n, n];
        for (int i = 0; i < n; i++)
        {
            for (int e = graph.RowStart[i]; e < graph.RowStart[i + 1]; e++)
            {
                degree[i] += graph.Weights[e];
            }
        }

        for (int i = 0; i < n; i++)
        {
            for (int e = graph.RowStart[i]; e < graph.RowStart[i + 1]; e++)
            {
                normalized[i, graph.Columns[e]] = graph.Weights[e] / Math.Sqrt(degree[i] * degree[graph.Columns[e]]);
            }
        }

        var (values, _) = SymmetricEigen.Decompose(normalized);
        for (int v = 0; v < 2; v++)
        {
            // Rayleigh quotient of each returned vector equals the (v + 2)-th largest eigenvalue of D^-1/2 W D^-1/2.
            double quotient = 0;
            for (int i = 0; i < n; i++)
            {
                for (int j = 0; j < n; j++)
                {
                    quotient += vectors![v][i] * normalized[i, j] * vectors[v][j];
                }
            }

            Assert.Equal(values[n - 2 - v], quotient, 3);
        }
    }

    [Fact]
    public void DefaultEpochsFollowUmapLearnAndInputIsValidated()
    {
        Assert.Equal(500, Umap.DefaultEpochs(10_000));
        Assert.Equal(200, Umap.DefaultEpochs(10_001));
        var data = TestData.Uniform(30, 3, seed: 1);
        Assert.Equal("NeighborCount", Assert.Throws<ArgumentOutOfRangeException>(() => new Umap(new UmapOptions { NeighborCount = 31 }).Fit(data)).ParamName);
        Assert.Equal("MinDist", Assert.Throws<ArgumentOutOfRangeException>(() => new Umap(new UmapOptions { MinDist = -1 }).Fit(data)).ParamName);
        data[2, 2] = float.NaN;
        Assert.Equal("data", Assert.Throws<ArgumentException>(() => new Umap(new UmapOptions { NeighborCount = 5 }).Fit(data)).ParamName);
    }

    [Fact]
    public void ReportsProgressPerStage()
    {
        var data = TestData.Uniform(120, 4, seed: 2);
        var stages = new List<StageProgress>();
        new Umap(new UmapOptions { NeighborCount = 8, Epochs = 20 }).Fit(data, new Recorder(stages));
        Assert.Contains(stages, s => s.Stage == "optimise layout" && s.Fraction == 1.0);
        Assert.Contains(stages, s => s.Stage == "fuzzy graph");
        Assert.All(stages, s => Assert.InRange(s.Fraction, 0.0, 1.0));
    }

    private sealed class Recorder(List<StageProgress> sink) : IProgress<StageProgress>
    {
        public void Report(StageProgress value)
        {
            lock (sink)
            {
                sink.Add(value);
            }
        }
    }
}
