using System.CommandLine;
using Flare.Cli.Terminal;
using Flare.IO;
using Flare.Manifold;
using Flare.Manifold.Clustering;
using Flare.Manifold.Embedding;
using Flare.Manifold.Neighbors;
using Flare.Progress;

namespace Flare.Cli.Commands;

/// <summary>flare umap and flare hdbscan: Flare.Manifold on NumPy files, for use on any float matrix.</summary>
internal static class ManifoldCommands
{
    public static Command Umap()
    {
        var input = CommonOptions.RequiredPath("--in", "Input matrix (.npy, float32 or float64, C order, N x D)");
        var output = CommonOptions.RequiredPath("--out", "Output embedding (.npy, float32, N x components)");
        var neighbors = new Option<int>("--neighbors") { Description = "n_neighbors", DefaultValueFactory = _ => 15 };
        var minDist = new Option<double>("--min-dist") { Description = "min_dist", DefaultValueFactory = _ => 0.1 };
        var components = new Option<int>("--components") { Description = "Output dimensions", DefaultValueFactory = _ => 2 };
        var metric = new Option<string>("--metric") { Description = "euclidean or cosine", DefaultValueFactory = _ => "euclidean" };
        var seed = new Option<int>("--seed") { Description = "Random seed", DefaultValueFactory = _ => 42 };
        var command = new Command("umap", "Embed a matrix with UMAP (as umap-learn defines it)") { input, output, neighbors, minDist, components, metric, seed };
        command.SetAction(parse => CommandRunner.Run(() =>
        {
            var options = new UmapOptions
            {
                NeighborCount = parse.GetValue(neighbors),
                MinDist = parse.GetValue(minDist),
                Components = parse.GetValue(components),
                Metric = parse.GetValue(metric)!.ToLowerInvariant() switch
                {
                    "euclidean" => DistanceMetric.Euclidean,
                    "cosine" => DistanceMetric.Cosine,
                    var other => throw new FlareException($"unknown --metric '{other}' (known: euclidean, cosine)"),
                },
                Seed = parse.GetValue(seed),
            };
            if (options.Components < 1) throw new FlareException($"--components must be at least 1, got {options.Components}");
            if (options.MinDist < 0) throw new FlareException($"--min-dist must not be negative, got {options.MinDist}");
            var data = ReadMatrix(parse.GetValue(input)!);
            if (options.NeighborCount < 2 || options.NeighborCount >= data.Rows)
                throw new FlareException($"--neighbors must be in [2, {data.Rows - 1}] for {data.Rows} rows, got {options.NeighborCount}");
            var embedding = ProgressDisplay.Run(progress => Fit(progress, "UMAP", p => new Umap(options).Fit(data, p)));
            AtomicFile.Write(parse.GetValue(output)!, path => Npy.Write(path, embedding));
            Console.WriteLine($"embedded {data.Rows} x {data.Columns} into {embedding.Columns} dimensions: {parse.GetValue(output)}");
            return 0;
        }));
        return command;
    }

    public static Command Hdbscan()
    {
        var input = CommonOptions.RequiredPath("--in", "Input points (.npy, float32 or float64, C order, N x D)");
        var output = CommonOptions.RequiredPath("--out", "Labels CSV (index,label; noise is -1)");
        var minClusterSize = new Option<int>("--min-cluster-size") { Description = "min_cluster_size", DefaultValueFactory = _ => 5 };
        var minSamples = new Option<int?>("--min-samples") { Description = "min_samples (default: min_cluster_size)" };
        var selection = new Option<string>("--selection") { Description = "eom or leaf", DefaultValueFactory = _ => "eom" };
        var tree = new Option<string?>("--tree") { Description = "Also write the condensed tree as CSV (parent,child,lambda,child_size)" };
        var command = new Command("hdbscan", "Cluster points with HDBSCAN (as the hdbscan package defines it)") { input, output, minClusterSize, minSamples, selection, tree };
        command.SetAction(parse => CommandRunner.Run(() =>
        {
            var options = new HdbscanOptions
            {
                MinClusterSize = parse.GetValue(minClusterSize),
                MinSamples = parse.GetValue(minSamples),
                Selection = parse.GetValue(selection)!.ToLowerInvariant() switch
                {
                    "eom" => ClusterSelectionMethod.Eom,
                    "leaf" => ClusterSelectionMethod.Leaf,
                    var other => throw new FlareException($"unknown --selection '{other}' (known: eom, leaf)"),
                },
            };
            if (options.MinClusterSize < 2) throw new FlareException($"--min-cluster-size must be at least 2, got {options.MinClusterSize}");
            if (options.MinSamples is < 1) throw new FlareException($"--min-samples must be at least 1, got {options.MinSamples}");
            var data = ReadMatrix(parse.GetValue(input)!);
            if (data.Rows < options.MinClusterSize) throw new FlareException($"{parse.GetValue(input)}: {data.Rows} points are fewer than --min-cluster-size {options.MinClusterSize}");
            var result = ProgressDisplay.Run(progress => Fit(progress, "HDBSCAN", p => new Flare.Manifold.Clustering.Hdbscan(options).Fit(data, p)));
            AtomicFile.Write(parse.GetValue(output)!, path => File.WriteAllText(path, result.LabelsToCsv()));
            if (parse.GetValue(tree) is { } treePath) AtomicFile.Write(treePath, path => File.WriteAllText(path, result.CondensedTree.ToCsv()));
            var noise = result.Labels.Count(l => l < 0);
            Console.WriteLine($"{result.ClusterCount} clusters, {noise} noise points of {data.Rows}: {parse.GetValue(output)}");
            return 0;
        }));
        return command;
    }

    private static DenseMatrix ReadMatrix(string path)
    {
        if (!File.Exists(path)) throw new FlareException($"{path}: file not found");
        try
        {
            var matrix = Npy.ReadMatrix(path);
            foreach (var value in matrix.Values)
                if (!float.IsFinite(value)) throw new FlareException($"{path}: contains NaN or infinite values");
            return matrix;
        }
        catch (Exception e) when (e is FormatException or InvalidDataException or NotSupportedException or EndOfStreamException or ArgumentException)
        {
            throw new FlareException($"{path}: not a readable .npy matrix ({e.Message.Split('\n')[0]})");
        }
    }

    private static T Fit<T>(IProgressSink progress, string name, Func<IProgress<StageProgress>, T> fit)
    {
        const int Steps = 1000;
        using var stage = progress.Begin(name, Steps);
        var reported = 0L;
        var result = fit(new Progress<StageProgress>(p =>
        {
            var target = (long)(Math.Clamp(p.Fraction, 0, 1) * Steps);
            var step = target - Interlocked.Exchange(ref reported, Math.Max(target, Interlocked.Read(ref reported)));
            if (step > 0) stage.Advance(step, p.Stage);
        }));
        return result;
    }
}
