using Flare.Detection;
using Flare.Manifold;
using Flare.Manifold.Clustering;

namespace Flare.Tests.Detection;

public class PoisonedClusterChoiceTests
{
    [Fact]
    public void AFarTightIslandIsChosen()
    {
        var tree = Cluster(Blob(900, 0, 0, 1.0, seed: 1).Concat(Blob(100, 40, 0, 0.2, seed: 2)).ToArray());

        var decision = PoisonedClusterChoice.Choose(tree);

        Assert.NotNull(decision.PoisonedCluster);
        var members = tree.Points(decision.PoisonedCluster!.Value);
        Assert.Equal(Enumerable.Range(900, 100), members);
    }

    [Fact]
    public void ADenseGroupInsideTheDataIsNotAnIsland()
    {
        // A tight group at the edge of the blob: persistent, but it splits off where the blob is
        // dense, not across empty space.
        var tree = Cluster(Blob(900, 0, 0, 1.0, seed: 3).Concat(Blob(60, 1.5, 0, 0.1, seed: 4)).ToArray());

        var decision = PoisonedClusterChoice.Choose(tree);

        Assert.Null(decision.PoisonedCluster);
    }

    [Fact]
    public void TheMajorityIsNeverChosen()
    {
        var tree = Cluster(Blob(300, 0, 0, 1.0, seed: 5).Concat(Blob(700, 40, 0, 0.2, seed: 6)).ToArray());

        var decision = PoisonedClusterChoice.Choose(tree);

        Assert.Null(decision.PoisonedCluster);
        Assert.Contains("majority", decision.Reason);
    }

    [Fact]
    public void AnIslandBehindAnEarlierSmallSplitIsFoundInsideTheMajority()
    {
        // The tight group at x = -60 splits off first but not across enough empty space to be an
        // island; the island at x = 40 separates inside the rest.
        var tree = Cluster(Blob(900, 0, 0, 1.0, seed: 7).Concat(Blob(100, 40, 0, 0.2, seed: 8)).Concat(Blob(40, -60, 0, 0.2, seed: 9)).ToArray());

        var atTheRoot = PoisonedClusterChoice.Choose(tree, depth: 1);
        var downThePath = PoisonedClusterChoice.Choose(tree, depth: 3);

        Assert.Null(atTheRoot.PoisonedCluster);
        Assert.NotNull(downThePath.PoisonedCluster);
        Assert.Equal(Enumerable.Range(900, 100), tree.Points(downThePath.PoisonedCluster!.Value));
    }

    private static CondensedTree Cluster(float[][] points) =>
        new Hdbscan(new HdbscanOptions { MinClusterSize = 20 }).Fit(DenseMatrix.FromRows(points)).CondensedTree;

    private static IEnumerable<float[]> Blob(int count, double x, double y, double spread, ulong seed)
    {
        var random = new SeededRandom(seed);
        for (var i = 0; i < count; i++)
            yield return [(float)(x + spread * random.NextGaussian()), (float)(y + spread * random.NextGaussian())];
    }
}
