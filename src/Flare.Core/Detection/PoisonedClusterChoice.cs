using Flare.Manifold.Clustering;

namespace Flare.Detection;

/// <summary>A cluster of the condensed tree as the report shows it.</summary>
public sealed record ClusterSummary(int Id, int Size, double BirthLambda, double DeathLambda, double Persistence);

/// <summary>
/// A minority cluster the choice weighed: the most persistent minority of a split down the majority,
/// or one passed over for being classes. Isolation is the density at which it splits off
/// over the density at which the majority itself splits: near 1 for a piece of the benign data, far
/// below 1 for an island. WholeLabels: the labels it holds whole when it is classes (<see cref="WholeLabelIslands"/>), else empty.
/// </summary>
public sealed record IslandCandidate(int Cluster, int Size, double Isolation)
{
    /// <summary>The density at which the majority splits, against which Isolation was measured.</summary>
    public double Reference { get; init; }

    public IReadOnlyList<int> WholeLabels { get; init; } = [];
}

/// <summary>
/// The outcome of the stability-based choice: the clusters it compared (each split's minority and the
/// majority it ended with), the ones judged poisoned (none, one, or several islands), and every
/// minority cluster weighed on the way.
/// </summary>
public sealed record PoisonedClusterDecision(IReadOnlyList<ClusterSummary> Primary, IReadOnlyList<int> PoisonedClusters, string Reason)
{
    public IReadOnlyList<IslandCandidate> Candidates { get; init; } = [];

    public bool IsPoisoned(int cluster) => PoisonedClusters.Contains(cluster);
}

/// <summary>
/// The paper's Eq. 7-8 split the condensed tree at the root into its primary clusters and call the
/// more persistent one poisoned, because samples sharing a trigger stay together across more density
/// levels than the diverse benign samples.
/// A data set need not be poisoned, and benign data has small persistent clusters of its own
/// (measured on clean CIFAR-10: groups of 25-220 similar images split off the root). What sets a
/// poisoned cluster apart is that it is an island: it separates from the rest at a density far below
/// the one at which the rest itself first splits (on BadNets, at lambda 0.07 against 4.7; clean-data
/// clusters split off at 0.9 or more of that level). So a minority cluster is poisoned when it splits
/// off at no more than <c>isolation</c> times the density at which the majority falls apart (default
/// 0.1, between the ratios measured for poisoned clusters and for benign ones). Only a minority can be
/// poisoned, but it need not outlast the majority: all-to-all poison is one island that falls apart at
/// once into one tight group per target label, so the island persists less than a benign majority
/// that holds together; of each split's minorities the most persistent is weighed.
/// The choice walks down the majority, the same largest-child path as the stability walk and for as
/// many levels, weighing each split's minority, because poison can leave as several islands one after
/// the other (all-to-all: a group of target labels, then another). The majority then "splits" first
/// by an island leaving, so each minority's isolation is measured against the first split below it
/// that is not an island leaving, and every island found is flagged. Whatever leaves the majority
/// before an island does is as far from it, so it is an island too (docs/method.md, section 4).
/// With the training labels, an island made of whole labels is classes the model sets apart, not
/// poison (<see cref="WholeLabelIslands"/>), and the choice reads the tree as if such islands had
/// never split off: a cluster that sheds only classes goes on as its remaining child, so neither
/// the candidates nor the majority's split (the reference of isolation) are classes leaving.
/// </summary>
public static class PoisonedClusterChoice
{
    // Between the ratios measured for poisoned islands and for benign clusters: docs/method.md, section 4;
    // docs/results.md, "Several islands" (its margins).
    public const double DefaultIsolation = 0.1;

    /// <param name="depth">How many splits down the majority are weighed.</param>
    /// <param name="classes">With the training labels: tells the islands that are whole classes, which the choice reads the tree without.</param>
    public static PoisonedClusterDecision Choose(CondensedTree tree, double isolation = DefaultIsolation, int depth = 1, WholeLabelIslands? classes = null)
    {
        var view = new TreeWithoutClasses(tree, classes);
        var candidates = new List<IslandCandidate>();
        var splits = new List<(int Parent, ClusterSummary Minority, ClusterSummary Majority)>();
        List<ClusterSummary>? rootChildren = null;
        for (var parent = tree.Root; splits.Count < depth;)
        {
            var (children, shed) = view.Split(parent);
            rootChildren ??= children;
            candidates.AddRange(shed);
            if (children.Count < 2) break;
            var majority = children.MaxBy(c => c.Size)!;
            var minority = children.Where(c => c.Id != majority.Id).OrderByDescending(c => c.Persistence).ThenBy(c => c.Size).First();
            splits.Add((parent, minority, majority));
            parent = majority.Id;
        }
        var setAside = candidates.Count == 0 ? "" : $" ({string.Join("; ", candidates.Select(c => $"#{c.Cluster}, {c.Size} samples holding {WholeLabelIslands.Name(c.WholeLabels)} whole"))}: set aside as classes, not poison)";
        if (splits.Count == 0)
            return new PoisonedClusterDecision(rootChildren!, [], $"the data form a single cluster: no poisoned cluster{setAside}") { Candidates = candidates };

        // From the deepest split up: a minority is an island when it splits off far below the majority's
        // own split, which is the next split down unless that one is an island leaving too.
        var weighed = new IslandCandidate[splits.Count];
        var reference = splits[^1].Majority.DeathLambda;
        for (var i = splits.Count - 1; i >= 0; i--)
        {
            var minority = splits[i].Minority;
            weighed[i] = new IslandCandidate(minority.Id, minority.Size, minority.BirthLambda / reference) { Reference = reference };
            if (i > 0 && weighed[i].Isolation > isolation) reference = splits[i - 1].Majority.DeathLambda;
        }
        candidates.AddRange(weighed);
        var compared = splits.Select(s => s.Minority).Append(splits[^1].Majority).ToList();
        var islands = weighed.Where(c => c.Isolation <= isolation).ToList();
        string Where(int level) => splits[level].Parent == tree.Root ? "" : $" inside cluster #{splits[level].Parent}";
        if (islands.Count == 0)
        {
            var closest = Array.IndexOf(weighed, weighed.MinBy(c => c.Isolation));
            var c = weighed[closest];
            return new PoisonedClusterDecision(compared, [], $"the most isolated minority cluster{Where(closest)} (#{c.Cluster}, {c.Size} samples) splits off at lambda {c.Isolation * c.Reference:G3}, not far below the majority's own split at {c.Reference:G3}: no isolated minority cluster{setAside}") { Candidates = candidates };
        }
        // The islands are the first splits down the path and share one reference: whatever leaves before an island is one too.
        var found = islands.Select(c => $"#{c.Cluster} ({c.Size} samples{Where(Array.IndexOf(weighed, c))}) at lambda {c.Isolation * c.Reference:G3} (isolation {c.Isolation:G2})");
        return new PoisonedClusterDecision(compared, islands.Select(c => c.Cluster).ToList(), $"{(islands.Count == 1 ? "an island splits" : $"{islands.Count} islands split")} off the majority below {isolation:G2} x its own split at lambda {islands[0].Reference:G3}: {string.Join("; ", found)}{setAside}") { Candidates = candidates };
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
            return (children, shed.Select(c => new IslandCandidate(c, tree.Size(c), tree.BirthLambda(c) / majoritySplit) { Reference = majoritySplit, WholeLabels = WholeLabels(c) }).ToList());
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
