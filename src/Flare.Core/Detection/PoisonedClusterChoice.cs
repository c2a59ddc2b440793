using Flare.Manifold.Clustering;

namespace Flare.Detection;

/// <summary>A cluster of the condensed tree as the report shows it.</summary>
public sealed record ClusterSummary(int Id, int Size, double BirthLambda, double DeathLambda, double Persistence);

/// <summary>
/// A minority cluster the choice weighed: the most persistent one of a split that the majority did
/// not win, or one passed over for being classes. Isolation is the density at which it splits off
/// over the density at which the majority itself splits: near 1 for a piece of the benign data, far
/// below 1 for an island. WholeLabels: the labels it holds whole when it is classes (<see cref="WholeLabelIslands"/>), else empty.
/// </summary>
public sealed record IslandCandidate(int Cluster, int Size, double Isolation)
{
    public IReadOnlyList<int> WholeLabels { get; init; } = [];
}

/// <summary>The outcome of the stability-based choice: the two primary clusters, the one judged poisoned, if any, and every minority cluster weighed on the way.</summary>
public sealed record PoisonedClusterDecision(IReadOnlyList<ClusterSummary> Primary, int? PoisonedCluster, string Reason)
{
    public IReadOnlyList<IslandCandidate> Candidates { get; init; } = [];
}

/// <summary>
/// The paper's Eq. 7-8: split the condensed tree at the root into its primary clusters and call
/// the one with the larger persistence kappa poisoned, because samples sharing a trigger stay
/// together across more density levels than the diverse benign samples.
/// A data set need not be poisoned, and benign data has small persistent clusters of its own
/// (measured on clean CIFAR-10: groups of 25-220 similar images split off the root). What sets
/// a poisoned cluster apart is that it is an island: it separates from the rest at a density far
/// below the one at which the rest itself first splits (on BadNets, at lambda 0.07 against 4.7;
/// clean-data clusters split off at 0.9 or more of that level). So the choice is made only when the
/// more persistent cluster is the minority and separates at no more than <c>isolation</c> times
/// the density at which the majority cluster splits (default 0.1, between the ratios measured for
/// poisoned clusters and for benign ones). A small benign group can split off before
/// the poisoned one (measured on Blend: 35 samples at lambda 0.88, then the 832-sample poisoned
/// cluster at 1.33, the majority itself at 4.0); so when a split holds no isolated minority the
/// choice is repeated inside its majority, down the same largest-child path as the stability walk
/// and for at most as many levels. Otherwise nothing is flagged.
/// With the training labels, an island made of whole labels is classes the model sets apart, not
/// poison (<see cref="WholeLabelIslands"/>), and the choice reads the tree as if such islands had
/// never split off: a cluster that sheds only classes goes on as its remaining child, so neither
/// the candidates nor the majority's split (the reference of isolation) are classes leaving.
/// </summary>
public static class PoisonedClusterChoice
{
    // Measured ratios of birth to the majority's split: poisoned clusters 0.011-0.025 (per channel, every
    // attack found on CIFAR-10); benign groups 0.38 (full clean CIFAR-10) and 0.9 or more (10,000 images).
    public const double DefaultIsolation = 0.1;

    /// <param name="classes">With the training labels: tells the islands that are whole classes, which the choice reads the tree without.</param>
    public static PoisonedClusterDecision Choose(CondensedTree tree, double isolation = DefaultIsolation, int depth = 1, WholeLabelIslands? classes = null)
    {
        var view = new TreeWithoutClasses(tree, classes);
        var candidates = new List<IslandCandidate>();
        var first = ChooseAmong(view, tree.Root, isolation, candidates, out var majority);
        var decision = first;
        for (var level = 1; level < depth && decision.PoisonedCluster is null && majority is { } inside; level++)
            decision = ChooseAmong(view, inside, isolation, candidates, out majority);
        return (decision.PoisonedCluster is null ? first : decision) with { Candidates = candidates };
    }

    private static PoisonedClusterDecision ChooseAmong(TreeWithoutClasses view, int parent, double isolation, List<IslandCandidate> candidates, out int? majorityCluster)
    {
        var (primary, classes) = view.Split(parent);
        candidates.AddRange(classes);
        majorityCluster = null;
        var where = parent == view.Tree.Root ? "" : $" inside cluster #{parent}";
        var setAside = classes.Count == 0 ? "" : $" ({string.Join("; ", classes.Select(c => $"#{c.Cluster}, {c.Size} samples holding {WholeLabelIslands.Name(c.WholeLabels)} whole"))}: set aside as classes, not poison)";
        if (primary.Count < 2)
            return new PoisonedClusterDecision(primary, null, $"the data form a single cluster{where}: no poisoned cluster{setAside}");
        var candidate = primary.OrderByDescending(c => c.Persistence).ThenBy(c => c.Size).First();
        var majority = primary.MaxBy(c => c.Size)!;
        majorityCluster = majority.Id;
        if (candidate.Id == majority.Id)
            return new PoisonedClusterDecision(primary, null, $"the most persistent cluster{where} (#{candidate.Id}, {candidate.Size} samples) is the majority: no stable minority cluster{setAside}");
        candidates.Add(new IslandCandidate(candidate.Id, candidate.Size, candidate.BirthLambda / majority.DeathLambda));
        if (candidate.BirthLambda > isolation * majority.DeathLambda)
            return new PoisonedClusterDecision(primary, null, $"the most persistent minority cluster{where} (#{candidate.Id}, {candidate.Size} samples) splits off at lambda {candidate.BirthLambda:G3}, not far below the majority's own split at {majority.DeathLambda:G3}: no isolated minority cluster{setAside}");
        return new PoisonedClusterDecision(primary, candidate.Id, $"cluster #{candidate.Id} ({candidate.Size} samples){where} persists longest (kappa {candidate.Persistence:G4} against {majority.Persistence:G4}) and splits off at lambda {candidate.BirthLambda:G3}, below {isolation:G2} x the majority's split at {majority.DeathLambda:G3}{setAside}");
    }

    /// <summary>The condensed tree as if its islands of whole classes had never split off (without labels, the tree itself).</summary>
    private sealed class TreeWithoutClasses(CondensedTree tree, WholeLabelIslands? classes)
    {
        private readonly Dictionary<int, IReadOnlyList<int>> wholeLabels = [];

        public CondensedTree Tree => tree;

        /// <summary>The clusters the cluster splits into once classes are set aside, each with its persistence up to its own such split, and the classes set aside on the way.</summary>
        public (List<ClusterSummary> Children, List<IslandCandidate> Classes) Split(int cluster)
        {
            var (node, kept, shed) = SplitsAt(cluster);
            var children = kept.Select(Summary).ToList();
            var majoritySplit = children.Count > 0 ? children.MaxBy(c => c.Size)!.DeathLambda : tree.DeathLambda(node);
            return (children, shed.Select(c => new IslandCandidate(c, tree.Size(c), tree.BirthLambda(c) / majoritySplit) { WholeLabels = WholeLabels(c) }).ToList());
        }

        // Down from the cluster while it sheds nothing but classes beside its largest part: the node where
        // it splits into more than one cluster that is not classes (or into none), those clusters, and the classes shed.
        private (int Node, List<int> Kept, List<int> Shed) SplitsAt(int cluster)
        {
            var shed = new List<int>();
            while (true)
            {
                var kept = new List<int>();
                var children = tree.ChildClusters(cluster);
                var largest = children.Count == 0 ? -1 : children.MaxBy(tree.Size);
                foreach (var child in children)
                    (child != largest && WholeLabels(child).Count > 0 ? shed : kept).Add(child); // the majority goes on, whatever it holds
                if (kept.Count != 1) return (cluster, kept, shed);
                cluster = kept[0];
            }
        }

        private ClusterSummary Summary(int cluster)
        {
            var death = tree.DeathLambda(SplitsAt(cluster).Node);
            return new ClusterSummary(cluster, tree.Size(cluster), tree.BirthLambda(cluster), death, death - tree.BirthLambda(cluster));
        }

        private IReadOnlyList<int> WholeLabels(int cluster)
        {
            if (classes is null) return [];
            if (!wholeLabels.TryGetValue(cluster, out var labels)) wholeLabels[cluster] = labels = classes.Of(tree.Points(cluster));
            return labels;
        }
    }
}
