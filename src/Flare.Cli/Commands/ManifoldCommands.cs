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
        var force = CommonOptions.Force();
        var command = new Command("umap", "Embed a matrix with UMAP (as umap-learn defines it)") { input, output, neighbors, minDist, components, metric, seed, force };
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
            if (!(options.MinDist >= 0 && options.MinDist <= options.Spread))
                throw new FlareException($"--min-dist must be a number in [0, {options.Spread}] (UMAP's spread), got {options.MinDist}");
            if (options.NeighborCount < 2) throw new FlareException($"--neighbors must be at least 2, got {options.NeighborCount}");
            var inputPath = parse.GetValue(input)!;
            var outputPath = OutputPaths.CheckFile(parse.GetValue(output)!, "--out", [new(inputPath, "--in")], parse.GetValue(force));
            var data = ReadMatrix(inputPath);
            if (data.Rows < 3) throw new FlareException($"{inputPath}: UMAP needs at least 3 points, the file has {data.Rows}");
            if (options.NeighborCount >= data.Rows)
                throw new FlareException($"--neighbors must be below the number of points ({data.Rows} in {inputPath}), got {options.NeighborCount}");
            if (options.Components >= data.Rows)
                throw new FlareException($"--components must be below the number of points ({data.Rows} in {inputPath}), got {options.Components}");
            var embedding = ProgressDisplay.Run(progress => Fit(progress, "UMAP", p => new Umap(options).Fit(data, p)));
            AtomicFile.Write(outputPath, path => Npy.Write(path, embedding));
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
        var force = CommonOptions.Force();
        var command = new Command("hdbscan", "Cluster points with HDBSCAN (as the hdbscan package defines it)") { input, output, minClusterSize, minSamples, selection, tree, force };
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
            var inputPath = parse.GetValue(input)!;
            var outputPath = OutputPaths.CheckFile(parse.GetValue(output)!, "--out", [new(inputPath, "--in")], parse.GetValue(force));
            var treePath = parse.GetValue(tree) is { } treeOption
                ? OutputPaths.CheckFile(treeOption, "--tree", [new(inputPath, "--in"), new(outputPath, "--out")], parse.GetValue(force))
                : null;
            var data = ReadMatrix(inputPath);
            if (data.Rows < options.MinClusterSize) throw new FlareException($"{inputPath}: {data.Rows} points are fewer than --min-cluster-size {options.MinClusterSize}");
            if (options.MinSamples > data.Rows) throw new FlareException($"{inputPath}: {data.Rows} points are fewer than --min-samples {options.MinSamples}");
            var result = ProgressDisplay.Run(progress => Fit(progress, "HDBSCAN", p => new Flare.Manifold.Clustering.Hdbscan(options).Fit(data, p)));
            var files = new List<(string, Action<string>, string)> { (outputPath, path => File.WriteAllText(path, result.LabelsToCsv()), "--out") };
            if (treePath is not null) files.Add((treePath, path => File.WriteAllText(path, result.CondensedTree.ToCsv()), "--tree"));
            AtomicFile.WriteAll(files);
            var noise = result.Labels.Count(l => l < 0);
            Console.WriteLine($"{result.ClusterCount} clusters, {noise} noise points of {data.Rows}: {parse.GetValue(output)}");
            return 0;
        }));
        return command;
    }

    private static DenseMatrix ReadMatrix(string path)
    {
        if (Directory.Exists(path)) throw new FlareException($"{path}: is a folder, expected a .npy file");
        if (!File.Exists(path)) throw new FlareException($"{path}: file not found");
        DenseMatrix matrix;
        try
        {
            matrix = Npy.ReadMatrix(path);
        }
        catch (Exception e) when (e is FormatException or InvalidDataException or NotSupportedException or EndOfStreamException or ArgumentException or OverflowException or OutOfMemoryException)
        {
            throw new FlareException($"{path}: not a readable .npy matrix ({e.Message.Split('\n')[0]})");
        }
        if (matrix.Rows == 0 || matrix.Columns == 0) throw new FlareException($"{path}: the matrix is {matrix.Rows} x {matrix.Columns}; it needs at least one row and one column");
        if (DistanceRange.Problem(matrix) is { } problem) throw new FlareException($"{path}: {problem}");
        return matrix;
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
