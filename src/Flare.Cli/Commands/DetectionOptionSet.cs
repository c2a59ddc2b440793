using System.CommandLine;
using Flare.Detection;

namespace Flare.Cli.Commands;

/// <summary>The detection options detect and purify share.</summary>
internal sealed class DetectionOptionSet
{
    private static readonly DetectionOptions Defaults = new();

    private readonly Option<string> representation = new("--representation") { Description = "Features: channel (paper: one per BatchNorm channel) or layer (authors' code: one per BatchNorm layer)", DefaultValueFactory = _ => Defaults.Representation.ToName() };
    private readonly Option<double> xi = new("--xi") { Description = "Stability threshold xi on the cluster persistence kappa", DefaultValueFactory = _ => Defaults.Xi };
    private readonly Option<int> depth = new("--depth") { Description = "Levels the stability walk descends (d)", DefaultValueFactory = _ => Defaults.Depth };
    private readonly Option<int?> minClusterSize = new("--min-cluster-size") { Description = "HDBSCAN min_cluster_size (default: samples / 500, at least 10; 100 at 50,000)" };
    private readonly Option<int> neighbors = new("--neighbors") { Description = "UMAP n_neighbors", DefaultValueFactory = _ => Defaults.Neighbors };
    private readonly Option<int> umapSeed = new("--umap-seed") { Description = "UMAP random seed", DefaultValueFactory = _ => Defaults.Seed };
    private readonly Option<int?> maxDropped = new("--max-dropped-layers") { Description = "Most BatchNorm layers the subspace search may drop (default: half of them)" };
    private readonly Option<double> isolation = new("--isolation") { Description = "A minority cluster is poisoned only if it splits off at no more than this fraction of the density at which the majority splits", DefaultValueFactory = _ => PoisonedClusterChoice.DefaultIsolation };

    private readonly Option<bool> labelsInBatchNorm = new("--labels-in-batchnorm") { Description = "Cluster each label in the BatchNorm features and measure it in the last BatchNorm layer, as before 2026-12-06, instead of in the penultimate activations (docs/results.md, \"One trigger in the first layers\")" };
    private readonly Option<bool> wholeSetOnly = new("--whole-set-only") { Description = "Skip the search within each training label (for all-to-all and untargeted poison; docs/results.md, \"Within each label\"), the extension of the whole set's island within its labels and the setting aside of its trigger carriers; flag only an island of the whole data set, as the paper does" };

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { representation, xi, depth, minClusterSize, neighbors, umapSeed, maxDropped, isolation, wholeSetOnly, labelsInBatchNorm })
            command.Options.Add(option);
    }

    public DetectionOptions Read(ParseResult parse)
    {
        var options = new DetectionOptions
        {
            Representation = RepresentationNames.Parse(parse.GetValue(representation)!),
            Xi = parse.GetValue(xi),
            Depth = parse.GetValue(depth),
            MinClusterSize = parse.GetValue(minClusterSize),
            Neighbors = parse.GetValue(neighbors),
            Seed = parse.GetValue(umapSeed),
            MaxDroppedLayers = parse.GetValue(maxDropped),
            Isolation = parse.GetValue(isolation),
            WithinLabels = !parse.GetValue(wholeSetOnly),
            LabelsInBatchNorm = parse.GetValue(labelsInBatchNorm),
        };
        options.Validate();
        return options;
    }
}
