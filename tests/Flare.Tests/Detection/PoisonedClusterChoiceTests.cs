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

        var poisoned = Assert.Single(decision.PoisonedClusters);
        Assert.Equal(Enumerable.Range(900, 100), tree.Points(poisoned));
    }

    [Fact]
    public void ADenseGroupInsideTheDataIsNotAnIsland()
    {
        // A tight group at the edge of the blob: persistent, but it splits off where the blob is
        // dense, not across empty space.
        var tree = Cluster(Blob(900, 0, 0, 1.0, seed: 3).Concat(Blob(60, 1.5, 0, 0.1, seed: 4)).ToArray());

        var decision = PoisonedClusterChoice.Choose(tree);

        Assert.Empty(decision.PoisonedClusters);
    }

    [Fact]
    public void TheMajorityIsNeverChosen()
    {
        // The tight 700 persist longer than the loose 300, but only a minority can be poison: the
        // 300 are weighed, and flagged, because they split off across empty space.
        var tree = Cluster(Blob(300, 0, 0, 1.0, seed: 5).Concat(Blob(700, 40, 0, 0.2, seed: 6)).ToArray());

        var decision = PoisonedClusterChoice.Choose(tree);

        Assert.Equal(Enumerable.Range(0, 300), tree.Points(Assert.Single(decision.PoisonedClusters)));
    }

    [Fact]
    public void AnIslandThatSplitsByTargetLabelIsFoundThoughTheMajorityPersistsLonger()
    {
        // All-to-all poison: one island far from the data that falls apart at once into one tight group
        // per target label, so the island itself persists less than the benign majority does.
        var island = Enumerable.Range(0, 3).SelectMany(t => Blob(40, 40 + 3 * t, 0, 0.1, seed: 20 + (ulong)t));
        var tree = Cluster(Blob(900, 0, 0, 1.0, seed: 19).Concat(island).ToArray());

        var decision = PoisonedClusterChoice.Choose(tree);

        var poisoned = Assert.Single(decision.PoisonedClusters);
        Assert.True(tree.Persistence(poisoned) < tree.Persistence(tree.ChildClusters(tree.Root).MaxBy(tree.Size)), "the island must persist less than the majority for this case to test anything");
        Assert.Equal(Enumerable.Range(900, 120), tree.Points(poisoned));
    }

    [Fact]
    public void IslandsLeavingOneAfterAnotherAreAllFlagged()
    {
        // All-to-all poison as two islands (groups of target labels). The one at x = -42 leaves first,
        // just before the majority "splits" by the other island leaving: measured against that split
        // (one level, depth 1) it looks like a piece of the data; walking down the majority, the second
        // is an island, and against the majority's own split so is the first.
        var tree = Cluster(Blob(900, 0, 0, 1.0, seed: 23).Concat(Blob(100, 40, 0, 0.2, seed: 24)).Concat(Blob(100, -42, 0, 0.2, seed: 25)).ToArray());

        var oneLevel = PoisonedClusterChoice.Choose(tree, depth: 1);
        var downThePath = PoisonedClusterChoice.Choose(tree, depth: 3);

        Assert.Empty(oneLevel.PoisonedClusters);
        Assert.Equal(2, downThePath.PoisonedClusters.Count);
        Assert.Equal(Enumerable.Range(900, 200), downThePath.PoisonedClusters.SelectMany(tree.Points).Order());
        Assert.Contains("2 islands", downThePath.Reason);
    }

    [Fact]
    public void AnIslandThatIsAWholeClassIsSetAsideAndThePoisonedOneFound()
    {
        // Majority: labels 0 and 2-9, 100 samples each. Far out at x = 1000, an island holding all of
        // label 1 (a class the model sets apart, like Fashion-MNIST's trousers); at x = -40 a tight
        // island of 100 poisoned samples labelled 0, whose own class stays in the majority. Without
        // labels both are islands.
        var labels = Enumerable.Range(0, 900).Select(i => i < 100 ? 0 : i / 100 + 1).Concat(Enumerable.Repeat(1, 100)).Concat(Enumerable.Repeat(0, 100)).ToArray();
        var tree = Cluster(Blob(900, 0, 0, 1.0, seed: 10).Concat(Blob(100, 1000, 0, 0.1, seed: 11)).Concat(Blob(100, -40, 0, 0.1, seed: 12)).ToArray());

        var withoutLabels = PoisonedClusterChoice.Choose(tree, depth: 3);
        var withLabels = PoisonedClusterChoice.Choose(tree, depth: 3, classes: new WholeLabelIslands(labels));

        Assert.Equal(Enumerable.Range(900, 200), withoutLabels.PoisonedClusters.SelectMany(tree.Points).Order()); // both islands
        Assert.Equal(Enumerable.Range(1000, 100), tree.Points(Assert.Single(withLabels.PoisonedClusters)));
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

        Assert.NotEmpty(PoisonedClusterChoice.Choose(tree, depth: 3).PoisonedClusters);
        Assert.Empty(decision.PoisonedClusters);
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
