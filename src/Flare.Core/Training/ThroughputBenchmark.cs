using System.Diagnostics;
using Flare.Models;
using Flare.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace Flare.Training;

public sealed record ThroughputResult(string Model, int Width, int BatchSize, int Threads, string Layout, double TrainImagesPerSecond, double InferImagesPerSecond);

/// <summary>
/// Training and inference throughput on random 32x32 inputs, the same measurement the PyTorch
/// peer script (bench/pytorch_throughput.py) makes: warm-up steps, then timed steps. Several memory
/// layouts are measured step by step in turn (one model each, same initial weights), so that on a
/// shared machine each layout sees the same load and their ratio stays meaningful.
/// </summary>
public static class ThroughputBenchmark
{
    public static IReadOnlyList<ThroughputResult> Measure(string modelName, int width, int batchSize, int trainSteps, int inferSteps,
        IReadOnlyList<BatchLayout> layouts, int warmupSteps = 3)
    {
        TorchRuntime.EnsureLoaded();
        var runs = layouts.Select(layout => new LayoutRun(modelName, width, batchSize, layout)).ToList();
        try
        {
            foreach (var run in runs) run.Model.train();
            var train = Alternate(runs, warmupSteps, trainSteps, run => run.TrainStep());
            foreach (var run in runs) run.Model.eval();
            using var noGrad = torch.no_grad();
            var infer = Alternate(runs, warmupSteps, inferSteps, run => run.InferStep());
            var threads = torch.get_num_threads();
            return runs.Select((run, i) => new ThroughputResult(modelName, width, batchSize, threads, run.Layout == BatchLayout.ChannelsLast ? "channels-last" : "channels-first",
                trainSteps * batchSize / train[i], inferSteps * batchSize / infer[i])).ToList();
        }
        finally
        {
            foreach (var run in runs) run.Dispose();
        }
    }

    // Seconds per run over the timed steps, the runs taking turns step by step.
    private static double[] Alternate(List<LayoutRun> runs, int warmupSteps, int steps, Action<LayoutRun> step)
    {
        var seconds = new double[runs.Count];
        for (var i = 0; i < warmupSteps + steps; i++)
            for (var r = 0; r < runs.Count; r++)
            {
                var start = Stopwatch.GetTimestamp();
                step(runs[r]);
                if (i >= warmupSteps) seconds[r] += Stopwatch.GetElapsedTime(start).TotalSeconds;
            }
        return seconds;
    }

    private sealed class LayoutRun : IDisposable
    {
        private readonly torch.optim.Optimizer optimizer;
        private readonly Tensor input, target;

        public LayoutRun(string modelName, int width, int batchSize, BatchLayout layout)
        {
            Layout = layout;
            torch.manual_seed(0);
            Model = ModelRegistry.Get(modelName).Create(width, 10);
            ConvolutionBackend.ConfigureFor(Model);
            ConvolutionWeights.Arrange(Model, layout);
            optimizer = torch.optim.SGD(Model.parameters(), 0.01, 0.9, weight_decay: 5e-4);
            using var images = torch.randn(batchSize, 3, 32, 32);
            input = layout == BatchLayout.ChannelsLast ? images.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2) : images.clone();
            target = torch.randint(0, 10, [batchSize], dtype: ScalarType.Int64);
        }

        public BatchLayout Layout { get; }
        public ImageClassifier Model { get; }

        public void TrainStep()
        {
            using var scope = NewDisposeScope();
            var loss = nn.functional.cross_entropy(Model.call(input), target);
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
        }

        public void InferStep()
        {
            using var scope = NewDisposeScope();
            Model.call(input).argmax(1);
        }

        public void Dispose()
        {
            optimizer.Dispose();
            input.Dispose();
            target.Dispose();
            Model.Dispose();
        }
    }
}
