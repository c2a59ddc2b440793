using System.Diagnostics;
using Flare.Data;
using Flare.Models;
using Flare.Native;
using Flare.Progress;
using TorchSharp;
using static TorchSharp.torch;

namespace Flare.Training;

public sealed record EpochSummary(int Epoch, double Loss, double Accuracy, double ImagesPerSecond, double Seconds);

public sealed record TrainingResult(ImageClassifier Model, ModelMetadata Metadata, IReadOnlyList<EpochSummary> History);

/// <summary>
/// Changes each training batch before the weight step, as adversarial training does. Batches are
/// normalised (see <see cref="Normalization"/>); the model is in training mode.
/// </summary>
public interface IBatchPerturbation
{
    Tensor Perturb(ImageClassifier model, Tensor input, Tensor target, Normalization normalization);
}

/// <summary>Trains a classifier on an image set with the configured recipe; deterministic for a seed.</summary>
public static class Trainer
{
    /// <param name="profile">When given, receives the wall time of each part of every step.</param>
    /// <param name="perturbation">When given, replaces every batch before its step (adversarial training).</param>
    public static TrainingResult Train(ImageSet train, TrainingOptions options, IProgressSink progress, string? trainingDataLabel = null, TrainingProfile? profile = null,
        IBatchPerturbation? perturbation = null)
    {
        options.Validate();
        if (train.ClassNames.Count < 2) throw new FlareException("training needs at least 2 classes");
        TorchRuntime.EnsureLoaded();
        var spec = ModelRegistry.Get(options.Model);
        var width = options.Width ?? spec.DefaultWidth;

        torch.manual_seed((long)(options.Seed & long.MaxValue));
        var stem = InputStems.For(train.Height, train.Width);
        var model = spec.Create(width, train.ClassNames.Count, stem);
        if (ConvolutionBackend.ConfigureFor(model) is { } note) progress.Message(note);
        var layout = options.ChannelsLast && ConvolutionBackend.OneDnnEnabled ? BatchLayout.ChannelsLast : BatchLayout.ChannelsFirst;
        ConvolutionWeights.Arrange(model, layout);
        var bfloat16 = options.BFloat16Convolutions && ConvolutionBackend.BFloat16ConvolutionsFast;
        model.BFloat16Convolutions = bfloat16;
        var normalization = Normalization.FromImages(train);
        var assembler = new BatchAssembler(train, normalization);
        var batchSize = Math.Min(options.BatchSize, train.Count);
        var stepsPerEpoch = (train.Count + batchSize - 1) / batchSize;

        using var optimizer = torch.optim.SGD(model.parameters(), options.LearningRate, options.Momentum,
            weight_decay: options.WeightDecay);
        var schedule = options.Schedule.Create(optimizer, options.LearningRate, options.Epochs * stepsPerEpoch);

        var history = new List<EpochSummary>();
        var buffer = new float[batchSize * assembler.ImageFloats];
        var labels = new long[batchSize];
        using var stage = progress.Begin("training", (long)options.Epochs * train.Count);
        model.train();
        var heap = new HeapGrowthGuard();
        for (var epoch = 1; epoch <= options.Epochs; epoch++)
        {
            var order = SeededRandom.ForStream(options.Seed, (ulong)epoch * 2).Permutation(train.Count);
            var augmentRandom = SeededRandom.ForStream(options.Seed, (ulong)epoch * 2 + 1);
            var clock = Stopwatch.StartNew();
            double lossSum = 0;
            long correct = 0, seen = 0;
            for (var start = 0; start < train.Count; start += batchSize)
            {
                var count = Math.Min(batchSize, train.Count - start);
                profile?.BeginStep();
                assembler.Fill(order.AsSpan(start, count), buffer, labels, options.Augmentation, augmentRandom, layout);
                profile?.Lap(StepPart.Assembly);
                using (CollectionPause.Begin())
                using (var scope = NewDisposeScope())
                {
                    profile?.Lap(StepPart.Release);
                    var input = BatchTensors.Images(buffer, count, train.Height, train.Width, layout);
                    var target = BatchTensors.Labels(labels, count);
                    if (perturbation is not null) input = perturbation.Perturb(model, input, target, normalization);
                    profile?.Lap(StepPart.Copy);
                    var logits = model.call(input);
                    var loss = nn.functional.cross_entropy(logits, target);
                    profile?.Lap(StepPart.Forward);
                    optimizer.zero_grad();
                    loss.backward();
                    profile?.Lap(StepPart.Backward);
                    optimizer.step();
                    schedule.step();
                    profile?.Lap(StepPart.Optimizer);
                    lossSum += loss.item<float>() * count;
                    correct += logits.argmax(1).eq(target).sum().item<long>();
                    profile?.Lap(StepPart.Metrics);
                }
                heap.AfterBatch();
                profile?.Lap(StepPart.Release);
                profile?.EndStep(count);
                seen += count;
                var rate = seen / Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
                stage.Advance(count, $"epoch {epoch}/{options.Epochs} loss {lossSum / seen:F3} acc {(double)correct / seen:F3} {rate:F0} img/s");
            }
            if (double.IsNaN(lossSum)) throw new FlareException($"training diverged (loss is NaN) in epoch {epoch}; try a lower --lr");
            history.Add(new EpochSummary(epoch, lossSum / seen, (double)correct / seen, seen / clock.Elapsed.TotalSeconds, clock.Elapsed.TotalSeconds));
            ProcessMemory.TrimNativeHeap();
        }
        ConvolutionWeights.Arrange(model, BatchLayout.ChannelsFirst);
        model.BFloat16Convolutions = false;
        model.eval();
        ProcessMemory.Release();

        var metadata = new ModelMetadata
        {
            Architecture = spec.Name,
            Width = width,
            ClassNames = train.ClassNames.ToArray(),
            Stem = stem.ToName(),
            ImageHeight = train.Height,
            ImageWidth = train.Width,
            Mean = normalization.Mean,
            Std = normalization.Std,
            Epochs = options.Epochs,
            BatchSize = options.BatchSize,
            LearningRate = options.LearningRate,
            Schedule = options.Schedule.ToName(),
            Augmentation = options.Augmentation.ToName(),
            Seed = options.Seed,
            TrainingDataHash = train.ContentHash(),
            TrainingSamples = train.Count,
            TrainingData = trainingDataLabel,
            TrainAccuracy = history[^1].Accuracy,
            ConvolutionPrecision = bfloat16 ? "bfloat16" : "float32",
        };
        return new TrainingResult(model, metadata, history);
    }
}
