using System.Diagnostics;
using Flare.Manifold;
using Flare.Manifold.Clustering;
using Flare.Manifold.Embedding;
using Flare.Manifold.Neighbors;

namespace Flare.Detection;

/// <summary>One level of the stability walk: a cluster on the largest-child path and its persistence.</summary>
public sealed record StabilityStep(int Cluster, int Size, double Persistence);

/// <summary>One candidate subspace: the features without the last k layers, embedded and clustered.</summary>
public sealed record SubspaceTrial(int DroppedLayers, int Columns, bool Stable, IReadOnlyList<StabilityStep> Walk, double UmapSeconds, double HdbscanSeconds)
{
    public required DenseMatrix Embedding { get; init; }
    public required HdbscanResult Clustering { get; init; }
}

/// <summary>
/// One step of the paper's Algorithm 1: drop the last k BatchNorm layers' features, embed with
/// UMAP, cluster with HDBSCAN, and walk from the largest cluster below the root down its largest
/// child for at most d levels. The subspace is stable at the first cluster on that walk whose
/// persistence kappa exceeds xi: the benign samples then hold together as one cluster instead of
/// falling apart by class.
/// </summary>
public static class StableSubspaceSearch
{
    /// <param name="neighbors">In: the neighbours found in the previous, larger subspace (null for the first), where
    /// NN-descent starts instead of its random-projection trees: dropping a layer keeps most of them (docs/benchmarks.md,
    /// "Subspace search"). Out: this subspace's neighbours, for the next.</param>
    public static SubspaceTrial Try(LatentFeatures features, int droppedLayers, DetectionOptions options, ref KnnGraph? neighbors, CancellationToken cancellationToken = default)
    {
        var subspace = features.WithoutLastLayers(droppedLayers);
        var clock = Stopwatch.StartNew();
        var umap = UmapFor(subspace.Rows, options);
        neighbors = NeighborSearch.Compute(subspace, umap.Options.NeighborCount, umap.Options.Metric, umap.Options.NeighborMethod, umap.Options.Seed, cancellationToken: cancellationToken, startFrom: neighbors);
        var embedding = umap.FitGraph(neighbors, cancellationToken: cancellationToken);
        var umapSeconds = clock.Elapsed.TotalSeconds;
        clock.Restart();
        var clustering = new Hdbscan(new HdbscanOptions { MinClusterSize = options.MinClusterSizeFor(features.Count) }).Fit(embedding, cancellationToken: cancellationToken);
        var hdbscanSeconds = clock.Elapsed.TotalSeconds;
        var walk = StabilityWalk(clustering.CondensedTree, options.Depth, options.Xi);
        var stable = walk.Count > 0 && walk[^1].Persistence > options.Xi;
        return new SubspaceTrial(droppedLayers, subspace.Columns, stable, walk, umapSeconds, hdbscanSeconds) { Embedding = embedding, Clustering = clustering };
    }

    public static DenseMatrix Embed(DenseMatrix data, DetectionOptions options, CancellationToken cancellationToken = default) =>
        UmapFor(data.Rows, options).Fit(data, cancellationToken: cancellationToken);

    private static Umap UmapFor(int rows, DetectionOptions options) =>
        new(new UmapOptions
        {
            NeighborCount = Math.Min(options.Neighbors, rows - 1),
            MinDist = options.MinDist,
            Components = 2,
            Seed = options.Seed,
        });

    /// <summary>
    /// The walk of Algorithm 1: from the largest child of the root, down the largest child cluster,
    /// at most <paramref name="depth"/> clusters; it ends early at the first cluster whose
    /// persistence exceeds <paramref name="xi"/>, so the last step is the deciding one.
    /// </summary>
    public static List<StabilityStep> StabilityWalk(CondensedTree tree, int depth, double xi)
    {
        var walk = new List<StabilityStep>();
        var node = LargestChild(tree, tree.Root);
        while (node is { } cluster && walk.Count < depth)
        {
            var step = new StabilityStep(cluster, tree.Size(cluster), tree.Persistence(cluster));
            walk.Add(step);
            if (step.Persistence > xi) break;
            node = LargestChild(tree, cluster);
        }
        return walk;
    }

    public static int? LargestChild(CondensedTree tree, int cluster)
    {
        var children = tree.ChildClusters(cluster);
        return children.Count == 0 ? null : children.MaxBy(tree.Size);
    }
}
