using Flare.Manifold.Clustering;

namespace Flare.Detection;

/// <summary>A cluster of the condensed tree as the report shows it.</summary>
public sealed record ClusterSummary(int Id, int Size, double BirthLambda, double DeathLambda, double Persistence)
{
    public static ClusterSummary Of(CondensedTree tree, int cluster) =>
        new(cluster, tree.Size(cluster), tree.BirthLambda(cluster), tree.DeathLambda(cluster), tree.Persistence(cluster));
}

/// <summary>The outcome of the stability-based choice: the two primary clusters and the one judged poisoned, if any.</summary>
public sealed record PoisonedClusterDecision(IReadOnlyList<ClusterSummary> Primary, int? PoisonedCluster, string Reason);

/// <summary>
/// The paper's Eq. 7-8: split the condensed tree at the root into its two primary clusters and
/// call the one with the larger persistence kappa poisoned, because samples sharing a trigger stay
/// together across more density levels than the diverse benign samples. A data set need not be
/// poisoned, so the choice is only made when the more persistent cluster is also the minority;
/// otherwise nothing is flagged.
/// </summary>
public static class PoisonedClusterChoice
{
    public static PoisonedClusterDecision Choose(CondensedTree tree)
    {
        var primary = tree.ChildClusters(tree.Root).Select(c => ClusterSummary.Of(tree, c)).ToList();
        if (primary.Count < 2)
            return new PoisonedClusterDecision(primary, null, "the data form a single cluster: no poisoned cluster");
        var ordered = primary.OrderByDescending(c => c.Persistence).ThenBy(c => c.Size).ToList();
        var candidate = ordered[0];
        var largest = primary.Max(c => c.Size);
        if (candidate.Size == largest)
            return new PoisonedClusterDecision(primary, null, $"the most persistent primary cluster (#{candidate.Id}, {candidate.Size} samples) is the majority: no stable minority cluster");
        return new PoisonedClusterDecision(primary, candidate.Id, $"cluster #{candidate.Id} ({candidate.Size} samples) persists longest (kappa {candidate.Persistence:G4} vs {ordered[1].Persistence:G4})");
    }
}
