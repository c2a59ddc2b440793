namespace Flare.Manifold.Clustering;

/// <summary>
/// HDBSCAN as the hdbscan package defines it (Euclidean, alpha = 1), split into the steps fast_hdbscan uses:
/// core distances, minimum spanning tree of mutual reachability, single-linkage tree, condensed tree, cluster
/// selection and labelling. Each step is public on its own type; this class runs them in order.
/// </summary>
public sealed class Hdbscan
{
    public Hdbscan(HdbscanOptions? options = null)
    {
        Options = options ?? new HdbscanOptions();
        Options.Validate();
    }

    public HdbscanOptions Options { get; }

    /// <summary>
    /// Clusters the rows of <paramref name="data"/> (Euclidean). Progress names each step as it starts ("core
    /// distances", "minimum spanning tree", "single linkage", "condensed tree", "cluster selection").
    /// </summary>
    public HdbscanResult Fit(DenseMatrix data, IProgress<StageProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.Rows < 2)
        {
            throw new ArgumentException($"need at least 2 points, got {data.Rows}.", nameof(data));
        }

        if (data.Columns < 1)
        {
            throw new ArgumentException("data has no columns.", nameof(data));
        }

        data.EnsureFinite(nameof(data));
        progress?.Report(new StageProgress("core distances", 0));
        var core = CoreDistances.Compute(data, Options.EffectiveMinSamples(data.Rows), cancellationToken);
        progress?.Report(new StageProgress("minimum spanning tree", 0));
        var mst = MinimumSpanningTree.Compute(data, core, cancellationToken);
        progress?.Report(new StageProgress("single linkage", 0));
        var linkage = SingleLinkageTree.FromSpanningTree(mst);
        progress?.Report(new StageProgress("condensed tree", 0));
        var condensed = CondensedTree.FromLinkage(linkage, Options.MinClusterSize);
        progress?.Report(new StageProgress("cluster selection", 0));
        var selected = ClusterSelection.Select(condensed, Options.Selection, Options.AllowSingleCluster, Options.ClusterSelectionEpsilon);
        var labels = ClusterSelection.Label(condensed, selected, Options.AllowSingleCluster, Options.ClusterSelectionEpsilon);
        var probabilities = ClusterSelection.Probabilities(condensed, selected, labels);
        progress?.Report(new StageProgress("cluster selection", 1));
        return new HdbscanResult(labels, probabilities, selected, core, mst, linkage, condensed);
    }
}
