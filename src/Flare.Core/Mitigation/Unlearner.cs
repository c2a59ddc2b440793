using System.Diagnostics;
using System.Globalization;
using Flare.Data;
using Flare.Models;
using Flare.Native;
using Flare.Progress;
using Flare.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Flare.Mitigation;

/// <summary>
/// One epoch of FLARE (R). <see cref="FlaggedLoss"/> is the mean cross-entropy of the flagged
/// samples (labels as given) seen by the ascent pass, before each step (null once the stop guard has fired); <see cref="ClippedSamples"/>
/// counts those above the bound; <see cref="AscentSteps"/> is 0 once the stop guard has fired.
/// </summary>
public sealed record UnlearningEpoch(int Epoch, double LearningRate, double? FlaggedLoss, int ClippedSamples, int AscentSteps, double KeptLoss, double KeptAccuracy, double Seconds, ModelScore? Score);

/// <summary>The run's history; the flagged-set loss in evaluation mode before and after; what the guard did.</summary>
public sealed record UnlearningResult(IReadOnlyList<UnlearningEpoch> History, double FlaggedLossBefore, double FlaggedLossAfter, double KeptAccuracyAfter, string GuardReport);

/// <summary>
/// FLARE (R), Eq. 10-11 of the paper: from the backdoored model, each epoch one gradient-ascent
/// pass over the flagged samples (maximising cross-entropy on their labels as given, i.e. the
/// attack's labels), then one descent pass over the kept samples. Unbounded ascent drives the
/// loss to infinity and wrecks the model, so a guard bounds it (<see cref="CollapseGuard"/>).
/// Ascent and descent have separate optimizers, so momentum from one pass does not push the other.
/// </summary>
public static class Unlearner
{
    /// <summary>Unlearns in place: <paramref name="model"/> is changed. <paramref name="probe"/>, if given, scores the model after every epoch.</summary>
    public static UnlearningResult Run(ImageClassifier model, Normalization normalization, ImageSet flagged, ImageSet kept,
        UnlearningOptions options, IProgressSink progress, Func<ImageClassifier, ModelScore>? probe = null)
    {
        options.Validate();
        if (flagged.Count == 0) throw new FlareException("nothing to unlearn: no sample is flagged");
        if (kept.Count == 0) throw new FlareException("every sample is flagged: relearning needs kept samples");
        TorchRuntime.EnsureLoaded();
        torch.manual_seed((long)(options.Seed & long.MaxValue));
        ConvolutionBackend.ConfigureFor(model);
        var flaggedLossBefore = MeanLoss(model, normalization, flagged);

        var parameters = model.parameters().ToList();
        using var ascent = torch.optim.SGD(parameters, options.LearningRate, options.Momentum, weight_decay: options.WeightDecay);
        using var descent = torch.optim.SGD(parameters, options.LearningRate, options.Momentum, weight_decay: options.WeightDecay);
        var flaggedPass = new Pass(flagged, normalization, options);
        var keptPass = new Pass(kept, normalization, options);
        var history = new List<UnlearningEpoch>();
        int? stoppedEpoch = null;
        double stoppedLoss = 0;
        var clippedTotal = 0L;
        using var stage = progress.Begin("unlearning", (long)options.Epochs * (flagged.Count + kept.Count));
        var heap = new HeapGrowthGuard();
        for (var epoch = 1; epoch <= options.Epochs; epoch++)
        {
            var clock = Stopwatch.StartNew();
            var learningRate = options.LearningRateInEpoch(epoch);
            foreach (var group in ascent.ParamGroups.Concat(descent.ParamGroups)) group.LearningRate = learningRate;
            // Ascent with BatchNorm in evaluation mode: a batch made only of flagged (triggered)
            // samples has statistics far from the running ones, so in training mode its loss is
            // high before any step (measured: 2.8 against 0.005 in evaluation mode on the Trojan
            // development case, docs/mitigation.md) and the ascent would chase, and the guard
            // clip, a loss the model does not have at test time; it would also overwrite the
            // running statistics with the triggered batch's.
            model.eval();
            var ascentSteps = 0;
            double flaggedLossSum = 0;
            int flaggedSeen = 0, clipped = 0;
            foreach (var count in flaggedPass.Batches(epoch, 0))
            {
                if (stoppedEpoch is not null) break;
                using var pause = CollectionPause.Begin();
                using var scope = NewDisposeScope();
                var (input, target) = flaggedPass.Tensors(count);
                var perSample = nn.functional.cross_entropy(model.call(input), target, reduction: nn.Reduction.None);
                var batchLoss = perSample.mean().item<float>();
                if (float.IsNaN(batchLoss)) throw new FlareException($"unlearning diverged (flagged loss is NaN) in epoch {epoch}; try a lower learning rate");
                flaggedLossSum += batchLoss * count;
                flaggedSeen += count;
                stage.Advance(count, $"epoch {epoch}/{options.Epochs} ascent, flagged loss {flaggedLossSum / flaggedSeen:F3}");
                Tensor objective;
                if (options.Guard == CollapseGuard.Stop)
                {
                    if (batchLoss > options.LossBound)
                    {
                        stoppedEpoch = epoch;
                        stoppedLoss = batchLoss;
                        break;
                    }
                    objective = perSample.mean().neg();
                }
                else
                {
                    var above = (int)perSample.gt(options.LossBound).sum().item<long>();
                    clipped += above;
                    // Samples above the bound have zero gradient through clamp; a batch with none below it takes no step.
                    if (above == count) continue;
                    objective = perSample.clamp(max: options.LossBound).mean().neg();
                }
                ascent.zero_grad();
                objective.backward();
                ascent.step();
                ascentSteps++;
                heap.AfterBatch();
            }
            if (flaggedSeen < flagged.Count) stage.Advance(flagged.Count - flaggedSeen);
            clippedTotal += clipped;

            model.train();
            double keptLossSum = 0;
            long correct = 0, keptSeen = 0;
            foreach (var count in keptPass.Batches(epoch, 1))
            {
                using var pause = CollectionPause.Begin();
                using var scope = NewDisposeScope();
                var (input, target) = keptPass.Tensors(count);
                var logits = model.call(input);
                var loss = nn.functional.cross_entropy(logits, target);
                descent.zero_grad();
                loss.backward();
                descent.step();
                var value = loss.item<float>();
                if (float.IsNaN(value)) throw new FlareException($"relearning diverged (loss is NaN) in epoch {epoch}; try a lower learning rate");
                keptLossSum += value * count;
                correct += logits.argmax(1).eq(target).sum().item<long>();
                keptSeen += count;
                heap.AfterBatch();
                stage.Advance(count, $"epoch {epoch}/{options.Epochs} relearning, kept loss {keptLossSum / keptSeen:F3} acc {(double)correct / keptSeen:F3}");
            }
            model.eval();
            var seconds = clock.Elapsed.TotalSeconds;
            var score = probe?.Invoke(model);
            history.Add(new UnlearningEpoch(epoch, learningRate, flaggedSeen == 0 ? null : flaggedLossSum / flaggedSeen, clipped, ascentSteps,
                keptLossSum / keptSeen, (double)correct / keptSeen, seconds, score));
            ProcessMemory.TrimNativeHeap();
        }
        model.eval();
        var flaggedLossAfter = MeanLoss(model, normalization, flagged);
        var keptAccuracy = Evaluator.Accuracy(Evaluator.Predict(model, kept, normalization, progress, "kept-set accuracy"), kept.Labels);
        var guard = options.Guard == CollapseGuard.Stop
            ? stoppedEpoch is { } e
                ? string.Create(CultureInfo.InvariantCulture, $"stop: ascent stopped in epoch {e} (flagged batch loss {stoppedLoss:F2} > bound {options.LossBound}); relearning continued to epoch {options.Epochs}")
                : string.Create(CultureInfo.InvariantCulture, $"stop: the flagged loss never passed the bound {options.LossBound}; every ascent step was taken")
            : clippedTotal > 0
                ? string.Create(CultureInfo.InvariantCulture, $"clip: flagged samples above loss {options.LossBound} gave no ascent gradient ({history[^1].ClippedSamples} of {flagged.Count} in the last epoch, {clippedTotal} sample-passes in all)")
                : string.Create(CultureInfo.InvariantCulture, $"clip: no flagged sample passed the bound {options.LossBound}; nothing was clipped");
        return new UnlearningResult(history, flaggedLossBefore, flaggedLossAfter, keptAccuracy, guard);
    }

    /// <summary>Mean cross-entropy of a set under its labels, in evaluation mode without augmentation.</summary>
    public static double MeanLoss(ImageClassifier model, Normalization normalization, ImageSet images)
    {
        if (images.Count == 0) return double.NaN;
        model.eval();
        var assembler = new BatchAssembler(images, normalization);
        var buffer = new float[Evaluator.BatchSize * assembler.ImageFloats];
        var labels = new long[Evaluator.BatchSize];
        var indices = Enumerable.Range(0, images.Count).ToArray();
        using var noGrad = torch.no_grad();
        double sum = 0;
        for (var start = 0; start < images.Count; start += Evaluator.BatchSize)
        {
            var count = Math.Min(Evaluator.BatchSize, images.Count - start);
            assembler.Fill(indices.AsSpan(start, count), buffer, labels, Augmentation.None, null);
            using (CollectionPause.Begin())
            using (var scope = NewDisposeScope())
            {
                var input = BatchTensors.Images(buffer, count, images.Height, images.Width);
                var target = BatchTensors.Labels(labels, count);
                sum += nn.functional.cross_entropy(model.call(input), target, reduction: nn.Reduction.Sum).item<float>();
            }
        }
        return sum / images.Count;
    }

    /// <summary>
    /// Shuffled, augmented batches of one set; the order and augmentation are fixed by the seed,
    /// epoch and pass. Each step fills the buffers; <see cref="Tensors"/> copies them into tensors
    /// of the caller's dispose scope.
    /// </summary>
    private sealed class Pass(ImageSet images, Normalization normalization, UnlearningOptions options)
    {
        private readonly BatchAssembler assembler = new(images, normalization);
        private readonly float[] buffer = new float[Math.Min(options.BatchSize, images.Count) * images.ImageBytes];
        private readonly long[] labels = new long[Math.Min(options.BatchSize, images.Count)];

        public IEnumerable<int> Batches(int epoch, int pass)
        {
            var stream = (ulong)epoch * 4 + (ulong)pass * 2;
            var order = SeededRandom.ForStream(options.Seed, stream).Permutation(images.Count);
            var augmentRandom = SeededRandom.ForStream(options.Seed, stream + 1);
            for (var start = 0; start < images.Count; start += labels.Length)
            {
                var count = Math.Min(labels.Length, images.Count - start);
                assembler.Fill(order.AsSpan(start, count), buffer, labels, options.Augmentation, augmentRandom);
                yield return count;
            }
        }

        public (Tensor Input, Tensor Target) Tensors(int count) =>
            (BatchTensors.Images(buffer, count, images.Height, images.Width), BatchTensors.Labels(labels, count));
    }
}
