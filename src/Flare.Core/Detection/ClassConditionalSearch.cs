using Flare.Manifold.Clustering;

namespace Flare.Detection;

/// <summary>
/// FLARE's choice made within each training label. When the poison does not form one island in
/// the whole data set (all-to-all and untargeted attacks split it by target label, and each part
/// splits off the benign data no earlier than benign groups do), it still stands apart inside its
/// label: there it is a group of other classes' images that the model maps to this label through
/// the trigger, beside the label's own images, which fragment gradually. Each label is embedded and
/// clustered on its own, in the subspace the global search found stable, and the same isolation
/// test picks its island, if it has one.
/// </summary>
public static class ClassConditionalSearch
{
    /// <summary>Every minority cluster weighed within a label, members as indices into the whole data set; flagged ones passed the isolation test.</summary>
    public static IReadOnlyList<SuspectCluster> Find(LatentFeatures features, int droppedLayers, IReadOnlyList<int> labels, DetectionOptions options, CancellationToken cancellationToken = default)
    {
        if (labels.Count != features.Count) throw new ArgumentException($"{labels.Count} labels for {features.Count} samples", nameof(labels));
        var subspace = features.WithoutLastLayers(droppedLayers);
        // The smallest group that counts as a cluster is the whole set's: scaled to a label's few
        // samples it drops to 10, and the label's own fragments then outlast a poisoned group of ~100.
        var minClusterSize = options.MinClusterSizeFor(features.Count);
        var islands = new List<SuspectCluster>();
        foreach (var group in Enumerable.Range(0, labels.Count).GroupBy(i => labels[i]).OrderBy(g => g.Key))
        {
            var rows = group.ToArray();
            if (rows.Length < 2 * minClusterSize) continue;
            var embedding = StableSubspaceSearch.Embed(subspace.TakeRows(rows), options, cancellationToken);
            var tree = new Hdbscan(new HdbscanOptions { MinClusterSize = minClusterSize }).Fit(embedding, cancellationToken: cancellationToken).CondensedTree;
            var decision = PoisonedClusterChoice.Choose(tree, options.LabelIsolation, options.Depth);
            foreach (var candidate in decision.Candidates)
                islands.Add(new SuspectCluster(droppedLayers, group.Key, candidate.Size, candidate.Isolation, candidate.Cluster == decision.PoisonedCluster)
                {
                    Members = tree.Points(candidate.Cluster).Select(p => rows[p]).ToArray(),
                });
        }
        return islands;
    }
}
