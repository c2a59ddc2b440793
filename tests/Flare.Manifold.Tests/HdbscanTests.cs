using Flare.Manifold;
using Flare.Manifold.Clustering;
using Flare.Manifold.Metrics;

namespace Flare.Manifold.Tests;

public sealed class HdbscanTests
{
    /// <summary>Two groups of three on a line: 0, 1, 2 and 10, 11, 12.</summary>
    private static readonly DenseMatrix Line = new(6, 1, [0, 1, 2, 10, 11, 12]);

    [Fact]
    public void TinyExampleMatchesTheHandComputation()
    {
        // min_samples 2: core distances are the distance to the 2nd nearest other point: 2, 1, 2, 2, 1, 2.
        // Mutual reachability inside a group is 2, between groups 8, so the MST is four edges of 2 and one of 8.
        var result = new Hdbscan(new HdbscanOptions { MinClusterSize = 3, MinSamples = 2 }).Fit(Line);
        Assert.Equal(new float[] { 2, 1, 2, 2, 1, 2 }, result.CoreDistances.Distances);
        Assert.Equal(new float[] { 2, 2, 2, 2, 8 }, result.MinimumSpanningTree.Distance);
        Assert.Equal(8.0, result.SingleLinkageTree.Distance[^1]);
        Assert.Equal(6, result.SingleLinkageTree.Size[^1]);

        // The root (6) splits at lambda 1/8 into clusters 7 and 8 of three points; each dissolves at lambda 1/2.
        var tree = result.CondensedTree;
        Assert.Equal(6, tree.Root);
        Assert.Equal(new[] { 7, 8 }, tree.ChildClusters(6));
        Assert.Equal(0.125, tree.BirthLambda(7));
        Assert.Equal(0.5, tree.DeathLambda(7));
        Assert.Equal(0.375, tree.Persistence(8));
        Assert.Equal((0.5 - 0.125) * 3, tree.Stability(7), 12);
        Assert.Equal(0.125 * 6, tree.Stability(6), 12);
        Assert.Equal(new[] { 0, 1, 2 }, tree.Points(7));
        Assert.Equal(new[] { 0, 0, 0, 1, 1, 1 }, result.Labels);
        Assert.All(result.Probabilities, p => Assert.Equal(1f, p));
        Assert.Equal(new[] { 7, 8 }, result.SelectedClusters);
        Assert.Equal(-1, tree.ParentOf(6));
        Assert.Equal(6, tree.ParentOf(7));

        var clusters = tree.ClustersToCsv().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("cluster,parent,size,birth_lambda,death_lambda,persistence,stability", clusters[0]);
        Assert.Equal("7,6,3,0.125,0.5,0.375,1.125", clusters[2]);
    }

    [Fact]
    public void CutMatchesGetClustersOfTheSingleLinkageTree()
    {
        var linkage = new Hdbscan(new HdbscanOptions { MinClusterSize = 3, MinSamples = 2 }).Fit(Line).SingleLinkageTree;
        Assert.Equal(new[] { 0, 0, 0, 1, 1, 1 }, linkage.Cut(5.0, 1));
        Assert.Equal(new[] { 0, 0, 0, 1, 1, 1 }, linkage.Cut(2.5, 3));
        Assert.Equal(new[] { -1, -1, -1, -1, -1, -1 }, linkage.Cut(2.5, 4));
        Assert.Equal(new[] { 0, 1, 2, 3, 4, 5 }, linkage.Cut(2.0, 1));
        Assert.Equal(new[] { -1, -1, -1, -1, -1, -1 }, linkage.Cut(1.5, 2));
        Assert.Equal(new[] { 0, 0, 0, 0, 0, 0 }, linkage.Cut(8.5, 1));
        Assert.Equal(linkage.Cut(4.0, 2), linkage.CutAtLambda(0.25, 2));
    }

    [Fact]
    public void RecoversBlobsAndCallsUniformBackgroundNoise()
    {
        // Dense blobs over a sparse uniform background: the background thins out of the tree before the blobs part,
        // so it is noise. (A background dense enough to still bridge the blobs when they part would, correctly for
        // HDBSCAN, be shared out among them.)
        double[][] centers = [[0, 0], [5, 0], [2.5, 4.25]];
        var (blobs, truth) = TestData.Blobs(centers, [0.5, 0.5, 0.5], [300, 300, 300], seed: 1);
        var background = TestData.Uniform(150, 2, seed: 2, low: -10f, high: 15f);
        var data = TestData.Concat(blobs, background);
        var result = new Hdbscan(new HdbscanOptions { MinClusterSize = 20 }).Fit(data);

        double ari = AdjustedRandIndex.Compute(truth, result.Labels.AsSpan(0, blobs.Rows));
        Assert.True(ari >= 0.95, $"ARI on the blobs {ari:F4}");
        int backgroundNoise = result.Labels.Skip(blobs.Rows).Count(l => l == -1);
        int farFromBlobs = 0, farAndNoise = 0;
        for (int i = 0; i < background.Rows; i++)
        {
            double nearest = centers.Min(c => Math.Sqrt(Math.Pow(background[i, 0] - c[0], 2) + Math.Pow(background[i, 1] - c[1], 2)));
            if (nearest > 2.5)
            {
                farFromBlobs++;
                farAndNoise += result.Labels[blobs.Rows + i] == -1 ? 1 : 0;
            }
        }

        Assert.True(farAndNoise >= 0.95 * farFromBlobs, $"{farAndNoise} of {farFromBlobs} background points away from the blobs are noise");
        Assert.True(backgroundNoise >= 0.85 * background.Rows, $"{backgroundNoise} of {background.Rows} background points are noise");
    }

    [Fact]
    public void RecoversTwoMoons()
    {
        var (data, truth) = TestData.TwoMoons(perMoon: 400, noise: 0.05, seed: 3);
        var result = new Hdbscan(new HdbscanOptions { MinClusterSize = 20 }).Fit(data);
        double ari = AdjustedRandIndex.Compute(truth, result.Labels);
        Assert.True(ari >= 0.95, $"ARI {ari:F4}, clusters {result.ClusterCount}");
    }

    [Fact]
    public void RecoversClustersOfDifferentDensities()
    {
        var (data, truth) = TestData.Blobs([[0, 0], [12, 0], [0, 14]], [0.3, 1.0, 2.0], [300, 300, 300], seed: 4);
        var result = new Hdbscan(new HdbscanOptions { MinClusterSize = 25 }).Fit(data);
        double ari = AdjustedRandIndex.Compute(truth, result.Labels);
        Assert.True(ari >= 0.95, $"ARI {ari:F4}, clusters {result.ClusterCount}");
    }

    [Fact]
    public void CondensedTreeInvariantsHold()
    {
        var (blobs, _) = TestData.Blobs([[0, 0], [6, 0], [3, 5], [20, 20]], [1.0, 0.5, 0.8, 1.5], [150, 200, 120, 180], seed: 5);
        var data = TestData.Concat(blobs, TestData.Uniform(60, 2, seed: 6, low: -5f, high: 25f));
        var tree = new Hdbscan(new HdbscanOptions { MinClusterSize = 15 }).Fit(data).CondensedTree;
        Assert.Equal(data.Rows, tree.Size(tree.Root));
        Assert.True(tree.ClusterCount > 2);

        // Every point leaves the tree exactly once.
        var leaving = tree.Child.Where(c => c < tree.PointCount).ToArray();
        Assert.Equal(Enumerable.Range(0, data.Rows), leaving.Order());

        for (int cluster = tree.Root; cluster < tree.Root + tree.ClusterCount; cluster++)
        {
            // Sizes add up: a cluster's points are its fallen points plus its child clusters' points.
            int sum = 0;
            foreach (int r in tree.RowsOf(cluster))
            {
                sum += tree.ChildSize[r];

                // Lambda grows downward: nothing leaves a cluster before it is born.
                Assert.True(tree.Lambda[r] >= tree.BirthLambda(cluster));
            }

            Assert.Equal(tree.Size(cluster), sum);
            Assert.Equal(tree.Size(cluster), tree.Points(cluster).Length);
            Assert.True(tree.Persistence(cluster) >= 0);
            var children = tree.ChildClusters(cluster);
            Assert.True(children.Count is 0 or 2);
            foreach (int child in children)
            {
                Assert.True(tree.BirthLambda(child) >= tree.BirthLambda(cluster));
                Assert.True(tree.Size(child) >= 15);
                Assert.Equal(cluster, tree.ParentOf(child));
            }
        }
    }

    [Fact]
    public void LeafSelectionPicksLeavesAndEomPicksTheMostStableSet()
    {
        // Two pairs of nearby blobs: EOM prefers the pairs or the blobs by stability; leaf always takes the four blobs.
        var (data, truth) = TestData.Blobs([[0, 0], [3, 0], [30, 0], [33, 0]], [0.3, 0.3, 0.3, 0.3], [100, 100, 100, 100], seed: 7);
        var leaf = new Hdbscan(new HdbscanOptions { MinClusterSize = 20, Selection = ClusterSelectionMethod.Leaf }).Fit(data);
        Assert.Equal(4, leaf.ClusterCount);
        Assert.True(AdjustedRandIndex.Compute(truth, leaf.Labels) >= 0.95);
        foreach (int cluster in leaf.SelectedClusters)
        {
            Assert.Empty(leaf.CondensedTree.ChildClusters(cluster));
        }

        var eom = new Hdbscan(new HdbscanOptions { MinClusterSize = 20 }).Fit(data);
        var tree = eom.CondensedTree;
        double chosen = eom.SelectedClusters.Sum(tree.Stability);
        double leaves = leaf.SelectedClusters.Sum(tree.Stability);
        Assert.True(chosen >= leaves - 1e-9);
    }

    [Theory]
    [InlineData(2, 7)]
    [InlineData(3, 25)]
    [InlineData(20, 5)]
    public void CoreDistancesMatchBruteForce(int columns, int minSamples)
    {
        var data = TestData.Uniform(700, columns, seed: columns);
        // Duplicated points must not confuse the selection.
        for (int i = 0; i < 30; i++)
        {
            data.Row(i).CopyTo(data.Row(i + 100));
        }

        var core = CoreDistances.Compute(data, minSamples);
        for (int i = 0; i < data.Rows; i++)
        {
            var sorted = Enumerable.Range(0, data.Rows)
                .Select(j => Math.Sqrt(Enumerable.Range(0, columns).Sum(d => Math.Pow(data[i, d] - data[j, d], 2))))
                .Order()
                .ToArray();
            Assert.Equal(sorted[minSamples], core.Distances[i], 1e-5);
        }
    }

    [Fact]
    public void BoruvkaAndPrimGiveTheSameTreeWeight()
    {
        var (data, _) = TestData.GaussianClusters(clusters: 4, perCluster: 150, columns: 3, centerSpread: 4, seed: 9);
        var core = CoreDistances.Compute(data, 5);
        var boruvka = MinimumSpanningTree.Compute(data, core);
        var prim = PrimSpanningTree.Compute(data, core.Distances, CancellationToken.None);
        Assert.Equal(prim.TotalWeight, boruvka.TotalWeight, 3);
        Assert.Equal(prim.Distance, boruvka.Distance);
    }

    [Fact]
    public void DeterministicAndValidated()
    {
        var (data, _) = TestData.TwoMoons(perMoon: 200, noise: 0.08, seed: 10);
        var first = new Hdbscan(new HdbscanOptions { MinClusterSize = 10 }).Fit(data);
        var second = new Hdbscan(new HdbscanOptions { MinClusterSize = 10 }).Fit(data);
        Assert.Equal(first.Labels, second.Labels);
        Assert.Equal(first.CondensedTree.ToCsv(), second.CondensedTree.ToCsv());
        Assert.StartsWith("parent,child,lambda,child_size\n", first.CondensedTree.ToCsv());
        Assert.StartsWith("index,label\n0,", first.LabelsToCsv());

        Assert.Equal("MinClusterSize", Assert.Throws<ArgumentOutOfRangeException>(() => new Hdbscan(new HdbscanOptions { MinClusterSize = 1 })).ParamName);
        data[0, 0] = float.NaN;
        Assert.Equal("data", Assert.Throws<ArgumentException>(() => new Hdbscan().Fit(data)).ParamName);
    }
}
