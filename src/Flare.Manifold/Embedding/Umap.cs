using System.Runtime.CompilerServices;
using Flare.Manifold.Neighbors;

namespace Flare.Manifold.Embedding;

/// <summary>
/// Uniform Manifold Approximation and Projection as umap-learn 0.5 defines it: k nearest neighbours, the fuzzy
/// simplicial set, a spectral start and SGD with negative sampling. Same seed, same output on the same machine.
/// </summary>
public sealed class Umap
{
    public Umap(UmapOptions? options = null)
    {
        Options = options ?? new UmapOptions();
    }

    public UmapOptions Options { get; }

    /// <summary>umap-learn's default epoch count for a graph of <paramref name="points"/> vertices.</summary>
    public static int DefaultEpochs(int points) => points <= 10_000 ? 500 : 200;

    /// <summary>
    /// Embeds the rows of <paramref name="data"/>; returns an N x Components matrix. Progress names the stage
    /// ("exact nearest neighbours" or "nn-descent", "fuzzy graph", "spectral initialisation", "optimise layout") with
    /// its completed fraction, and may be reported from worker threads.
    /// </summary>
    public DenseMatrix Fit(DenseMatrix data, IProgress<StageProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        Options.Validate(data.Rows);
        var knn = NeighborSearch.Compute(data, Options.NeighborCount, Options.Metric, Options.NeighborMethod, Options.Seed, progress, cancellationToken);
        return FitGraph(knn, progress, cancellationToken);
    }

    /// <summary>Embeds from precomputed neighbours (rows sorted ascending, the point itself first, K = NeighborCount).</summary>
    public DenseMatrix FitGraph(KnnGraph knn, IProgress<StageProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(knn);
        Options.Validate(knn.Count);
        progress?.Report(new StageProgress("fuzzy graph", 0));
        var graph = FuzzySimplicialSet.Build(knn, Options.LocalConnectivity, Options.SetOpMixRatio);
        progress?.Report(new StageProgress("fuzzy graph", 1));
        return Embed(graph, progress, cancellationToken);
    }

    /// <summary>umap-learn's simplicial_set_embedding: prune, initialise, optimise.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public DenseMatrix Embed(SparseGraph graph, IProgress<StageProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(graph);
        Options.Validate(graph.Count);
        int n = graph.Count;
        int dim = Options.Components;
        int epochs = Options.Epochs ?? DefaultEpochs(n);

        // Edges too weak to be sampled even once in the run are dropped, as umap-learn does.
        float maxWeight = graph.Weights.Length == 0 ? 0f : graph.Weights.Max();
        var head = new List<int>(graph.EdgeCount);
        var tail = new List<int>(graph.EdgeCount);
        var weights = new List<float>(graph.EdgeCount);
        for (int i = 0; i < n; i++)
        {
            for (int e = graph.RowStart[i]; e < graph.RowStart[i + 1]; e++)
            {
                if (graph.Weights[e] >= maxWeight / epochs)
                {
                    head.Add(i);
                    tail.Add(graph.Columns[e]);
                    weights.Add(graph.Weights[e]);
                }
            }
        }

        progress?.Report(new StageProgress("spectral initialisation", 0));
        var embedding = Initialize(graph, dim, cancellationToken);
        progress?.Report(new StageProgress("spectral initialisation", 1));

        var epochsPerSample = weights.Select(w => (double)maxWeight / w).ToArray();
        var (a, b) = CurveParameters.Fit(Options.MinDist, Options.Spread);
        var settings = new LayoutOptimizer.Settings(a, b, Options.RepulsionStrength, Options.LearningRate, Options.NegativeSampleRate, epochs, Options.Seed, Options.LayoutMode);
        progress?.Report(new StageProgress("optimise layout", 0));
        new LayoutOptimizer(dim, n, head.ToArray(), tail.ToArray(), epochsPerSample, settings).Optimize(
            embedding,
            progress is null ? null : f => progress.Report(new StageProgress("optimise layout", f)),
            cancellationToken);
        return new DenseMatrix(n, dim, embedding);
    }

    /// <summary>
    /// umap-learn's start: spectral coordinates scaled to a maximum of 10 plus N(0, 1e-4) noise (or uniform in
    /// [-10, 10]), then every coordinate rescaled to [0, 10].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private float[] Initialize(SparseGraph graph, int dim, CancellationToken cancellationToken)
    {
        int n = graph.Count;
        var random = new RandomStream(Options.Seed, 1);
        var embedding = new float[n * dim];
        var spectral = Options.Initialization == UmapInitialization.Spectral
            ? SpectralInitialization.Compute(graph, dim, Options.Seed, cancellationToken)
            : null;
        if (spectral is not null)
        {
            double largest = spectral.Max(v => v.Max(Math.Abs));
            double expansion = largest > 0 ? 10.0 / largest : 1.0;
            for (int i = 0; i < n; i++)
            {
                for (int d = 0; d < dim; d++)
                {
                    embedding[(i * dim) + d] = (float)((spectral[d][i] * expansion) + (0.0001 * random.NextGaussian()));
                }
            }
        }
        else
        {
            for (int i = 0; i < embedding.Length; i++)
            {
                embedding[i] = (float)((random.NextDouble() * 20.0) - 10.0);
            }
        }

        for (int d = 0; d < dim; d++)
        {
            float min = float.PositiveInfinity;
            float max = float.NegativeInfinity;
            for (int i = 0; i < n; i++)
            {
                min = Math.Min(min, embedding[(i * dim) + d]);
                max = Math.Max(max, embedding[(i * dim) + d]);
            }

            float scale = max > min ? 10f / (max - min) : 0f;
            for (int i = 0; i < n; i++)
            {
                embedding[(i * dim) + d] = (embedding[(i * dim) + d] - min) * scale;
            }
        }

        return embedding;
    }
}
