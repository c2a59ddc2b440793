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

    [Fact]
    public void AnIslandThatIsAWholeClassIsSetAsideAndThePoisonedOneFound()
    {
        // Majority: labels 0 and 2-9, 100 samples each. Far out at x = 1000, an island holding all of
        // label 1 (a class the model sets apart, like Fashion-MNIST's trousers); at x = -40 a tight
        // island of 100 poisoned samples labelled 0, whose own class stays in the majority. The class
        // splits off first; the majority's next split, the poison leaving it, makes it look isolated.
        var labels = Enumerable.Range(0, 900).Select(i => i < 100 ? 0 : i / 100 + 1).Concat(Enumerable.Repeat(1, 100)).Concat(Enumerable.Repeat(0, 100)).ToArray();
        var tree = Cluster(Blob(900, 0, 0, 1.0, seed: 10).Concat(Blob(100, 1000, 0, 0.1, seed: 11)).Concat(Blob(100, -40, 0, 0.1, seed: 12)).ToArray());

        var withoutLabels = PoisonedClusterChoice.Choose(tree, depth: 3);
        var withLabels = PoisonedClusterChoice.Choose(tree, depth: 3, classes: new WholeLabelIslands(labels));

        Assert.Equal(Enumerable.Range(900, 100), tree.Points(withoutLabels.PoisonedCluster!.Value));
        Assert.Equal(Enumerable.Range(1000, 100), tree.Points(withLabels.PoisonedCluster!.Value));
        var setAside = Assert.Single(withLabels.Candidates, c => c.WholeLabels.Count > 0);
        Assert.Equal([1], setAside.WholeLabels);
        Assert.Equal(Enumerable.Range(900, 100), tree.Points(setAside.Cluster));
        Assert.Contains("classes, not poison", withLabels.Reason);
    }

    [Fact]
    public void AWholeClassAloneIsNotFlagged()
    {
        var labels = Enumerable.Range(0, 1000).Select(i => i / 100).ToArray(); // label 1 is the island at x = 40 below
        var tree = Cluster(Blob(100, 0, 0, 1.0, seed: 13).Concat(Blob(100, 40, 0, 0.2, seed: 14)).Concat(Blob(800, 0, 0, 1.0, seed: 15)).ToArray());

        var decision = PoisonedClusterChoice.Choose(tree, depth: 3, classes: new WholeLabelIslands(labels));

        Assert.NotNull(PoisonedClusterChoice.Choose(tree, depth: 3).PoisonedCluster);
        Assert.Null(decision.PoisonedCluster);
        Assert.Contains(decision.Candidates, c => c.WholeLabels.SequenceEqual([1]));
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
