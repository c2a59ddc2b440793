using System.Diagnostics;
using Flare.Models;
using Flare.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace Flare.Training;

public sealed record ThroughputResult(string Model, int Width, int BatchSize, int Threads, double TrainImagesPerSecond, double InferImagesPerSecond);

/// <summary>
/// Training and inference throughput on random 32x32 inputs, the same measurement the PyTorch
/// peer script (bench/pytorch_throughput.py) makes: warm-up steps, then timed steps.
/// </summary>
public static class ThroughputBenchmark
{
    public static ThroughputResult Measure(string modelName, int width, int batchSize, int trainSteps, int inferSteps, int warmupSteps = 3)
    {
        TorchRuntime.EnsureLoaded();
        torch.manual_seed(0);
        using var model = ModelRegistry.Get(modelName).Create(width, 10);
        using var optimizer = torch.optim.SGD(model.parameters(), 0.01, 0.9, weight_decay: 5e-4);
        using var input = torch.randn(batchSize, 3, 32, 32);
        using var target = torch.randint(0, 10, [batchSize], dtype: ScalarType.Int64);

        model.train();
        void TrainStep()
        {
            using var scope = NewDisposeScope();
            var loss = nn.functional.cross_entropy(model.call(input), target);
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
        }
        for (var i = 0; i < warmupSteps; i++) TrainStep();
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < trainSteps; i++) TrainStep();
        var train = trainSteps * batchSize / clock.Elapsed.TotalSeconds;

        model.eval();
        using var noGrad = torch.no_grad();
        void InferStep()
        {
            using var scope = NewDisposeScope();
            model.call(input).argmax(1);
        }
        for (var i = 0; i < warmupSteps; i++) InferStep();
        clock.Restart();
        for (var i = 0; i < inferSteps; i++) InferStep();
        var infer = inferSteps * batchSize / clock.Elapsed.TotalSeconds;
        return new ThroughputResult(modelName, width, batchSize, torch.get_num_threads(), train, infer);
    }
}
