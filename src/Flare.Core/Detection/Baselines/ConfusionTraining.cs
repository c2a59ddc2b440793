using Flare.Data;
using Flare.Manifold;
using Flare.Models;
using Flare.Native;
using Flare.Progress;
using Flare.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Flare.Detection.Baselines;

/// <summary>How long Confusion Training trains; the reference's schedule is about one 200-epoch training per data set.</summary>
public sealed record ConfusionTrainingSchedule
{
    /// <summary>Lowest-loss share of the set kept after each round but the last (reference: 1/2, 1/5, 1/25, 1/50, 1/100).</summary>
    public IReadOnlyList<double> DistillationRatios { get; init; } = ConfusionTraining.Defaults.DistillationRatios;

    /// <summary>Confusion-training iterations per round (reference: 6,000 in rounds 1-3, 2,000 in rounds 4-6).</summary>
    public int ConfusionIterations { get; init; } = ConfusionTraining.Defaults.ConfusionIterations;

    /// <summary>Epochs of plain training on the distilled set before each round after the first (reference: 40; 100 in rounds 1-2).</summary>
    public int PretrainEpochs { get; init; } = ConfusionTraining.Defaults.PretrainEpochs;

    public int Rounds => DistillationRatios.Count + 1;

    public override string ToString() =>
        $"{Rounds} rounds (distillation to {string.Join(", ", DistillationRatios.Select(r => $"{100 * r:0.#} %"))}), {ConfusionIterations} confusion iterations and {PretrainEpochs} pretraining epoch(s) per round, batch {ConfusionTraining.Defaults.BatchSize}";

    public void Validate()
    {
        if (ConfusionIterations < 1) throw new FlareException($"--ct-iterations must be at least 1, got {ConfusionIterations}");
        if (PretrainEpochs < 0) throw new FlareException($"--ct-pretrain-epochs must be at least 0, got {PretrainEpochs}");
        if (DistillationRatios.Any(r => !(r > 0 && r < 1))) throw new FlareException("Confusion Training distillation ratios must be in (0, 1)");
    }
}

/// <summary>
/// Confusion Training (Qi et al., USENIX Security 2023, "Towards a proactive ML approach for
/// detecting backdoor poison samples"), after the official code (Unispac/Fight-Poison-With-Poison,
/// ct_cleanser.py and confusion_training.py: pretrain, confusion_train, distill,
/// identify_poison_samples_simplified). Each round trains a copy of a base model on the inspected
/// set mixed with the clean reserve images under random labels (labels of the reserve are not read),
/// loss ((lambda - 1) L_confusion + L_inspection) / lambda with the inspection loss weighted by
/// 1 / sqrt(class share + 0.001): benign correlations are confused away, the backdoor's stays fitted.
/// The lowest-loss share of the set is kept as the next round's distilled set, on which the base
/// model is first trained further. After the last round, per label: the confused model's
/// penultimate features projected on their top 2 principal directions; one Gaussian fitted on the
/// label's middle 10 % by loss (the "clean chunklet"), one on the samples the confused model still
/// fits (label probability > 0.5); the likelihood ratio of this two-Gaussian model over the clean
/// Gaussian alone, exp(mean log-likelihood gain), flags the label above e, or above 1.5 for the
/// largest; in a flagged label the samples with label probability > 0.6 are flagged.
/// Score: the label probability under the final confused model.
/// Differences from the reference, stated in the notes: the round-1 base model is the model under
/// test (the reference trains 100 epochs on the set first), the schedule is reduced
/// (<see cref="ConfusionTrainingSchedule"/>), all rounds use learning rate 0.01 (the reference: 0.001
/// in rounds 1-3 over 6,000 iterations), the confusion labels are uniformly random (the reference
/// avoids the shifted true label), the last round's pretraining does not add the labelled reserve,
/// and the fit tests compare softmax probabilities where the reference compares raw logits.
/// </summary>
public sealed class ConfusionTraining(ConfusionTrainingSchedule schedule) : IPoisonDetector
{
    /// <summary>The reduced schedule, sized for a few minutes on 10,000 CIFAR images at width 16 on 2 CPU cores (docs/comparison.md).</summary>
    public static class Defaults
    {
        public static readonly IReadOnlyList<double> DistillationRatios = [0.2, 0.04];
        public const int ConfusionIterations = 200;
        public const int PretrainEpochs = 4;
        public const int BatchSize = 128;
    }

    // Reference values (confusion_training.py, ct_cleanser.py and the CIFAR-10 config).
    public const double LearningRate = 0.01;
    public const double ConfusionMomentum = 0.7;
    public const double PretrainMomentum = 0.9;
    public const double WeightDecay = 1e-4;
    public const int BatchFactor = 2;
    public const double MedianShare = 0.1;
    public const double MinimumClassShare = 1.0 / 50;
    public const double IsolatedProbability = 0.5;
    public const double FlaggedProbability = 0.6;
    public const double RatioThreshold = Math.E;
    public const double LargestRatioThreshold = 1.5;
    private const double CovarianceRidge = 1e-3;

    // Reference lambdas per round are 20, 20, 20, 30, 30, 15: the first rounds, the middle, the last.
    private static double Lambda(int round, int rounds) => round == rounds - 1 ? 15 : round == 0 ? 20 : 30;

    public string Name => "ct";

    public ConfusionTrainingSchedule Schedule => schedule;

    public DetectorOutcome Detect(DetectorInput input, IProgressSink progress, CancellationToken cancellationToken = default)
    {
        schedule.Validate();
        var clean = input.Clean ?? throw new FlareException("--clean: ct needs clean reserve images");
        var evidence = input.Evidence;
        var images = evidence.Images;
        var classes = evidence.Classes;
        torch.manual_seed((long)(input.Seed & long.MaxValue));

        using var baseModel = Copy(evidence);
        ImageClassifier? confused = null;
        var distilled = Enumerable.Range(0, images.Count).ToArray();
        var notes = new List<string>();
        double[] losses = [];
        try
        {
            for (var round = 0; round < schedule.Rounds; round++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var last = round == schedule.Rounds - 1;
                if (round > 0) Pretrain(evidence, baseModel, distilled, SeededRandom.ForStream(input.Seed, (ulong)round * 3), progress, round, cancellationToken);
                confused?.Dispose();
                confused = Copy(evidence, baseModel);
                var weights = last ? Enumerable.Repeat(1.0, classes).ToArray() : InverseFrequencies(images, distilled, classes);
                Confuse(evidence, confused, clean, distilled, weights, Lambda(round, schedule.Rounds), SeededRandom.ForStream(input.Seed, (ulong)round * 3 + 1), progress, round, cancellationToken);
                losses = Losses(evidence, confused, progress, $"CT round {round + 1}/{schedule.Rounds}: losses");
                if (!last)
                {
                    distilled = Distill(losses, images.Labels, classes, schedule.DistillationRatios[round]);
                    notes.Add($"round {round + 1}: kept the {distilled.Length} lowest-loss samples");
                }
                ProcessMemory.TrimNativeHeap();
            }
            var (flagged, scores, classNotes) = Identify(evidence, confused!, losses, progress);
            notes.Insert(0, $"schedule: {schedule}; reduced from the reference's 6 rounds (100/100/40/40/40/40 pretraining epochs, 6,000 x 3 + 2,000 x 3 confusion iterations); round 1 starts from the model under test; learning rate 0.01 in every round; clean reserve labels unused");
            notes.AddRange(classNotes);
            return new DetectorOutcome(flagged, scores, notes);
        }
        finally
        {
            confused?.Dispose();
        }
    }

    // A trainable copy of the model under test (or of another copy), so the caller's model is never changed.
    private static ImageClassifier Copy(ModelEvidence evidence, ImageClassifier? from = null)
    {
        var copy = evidence.Metadata.CreateModel();
        var source = (from ?? evidence.Model).state_dict();
        using var noGrad = torch.no_grad();
        foreach (var (name, tensor) in copy.state_dict()) tensor.copy_(source[name]);
        return copy;
    }

    // 1 / sqrt(share + 0.001) per class of the distilled set, so small classes are not ignored.
    private static double[] InverseFrequencies(ImageSet images, int[] distilled, int classes)
    {
        var counts = new double[classes];
        foreach (var i in distilled) counts[images.Labels[i]]++;
        return counts.Select(c => 1 / Math.Sqrt(c / distilled.Length + 0.001)).ToArray();
    }

    private void Pretrain(ModelEvidence evidence, ImageClassifier model, int[] distilled, SeededRandom random, IProgressSink progress, int round, CancellationToken cancellationToken)
    {
        if (schedule.PretrainEpochs == 0 || distilled.Length == 0) return;
        var batches = new Batches(evidence.Normalization);
        using var optimizer = torch.optim.SGD(model.parameters(), LearningRate, PretrainMomentum, weight_decay: WeightDecay);
        ConvolutionBackend.ConfigureFor(model);
        model.train();
        using var stage = progress.Begin($"CT round {round + 1}: training on the distilled set", (long)schedule.PretrainEpochs * distilled.Length);
        for (var epoch = 0; epoch < schedule.PretrainEpochs; epoch++)
        {
            var order = random.Permutation(distilled.Length).Select(i => distilled[i]).ToArray();
            for (var start = 0; start < order.Length; start += Defaults.BatchSize)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var indices = order.AsSpan(start, Math.Min(Defaults.BatchSize, order.Length - start));
                using (CollectionPause.Begin())
                using (NewDisposeScope())
                {
                    var loss = nn.functional.cross_entropy(model.call(batches.Images(evidence.Images, indices)), batches.Labels(evidence.Images, indices));
                    optimizer.zero_grad();
                    loss.backward();
                    optimizer.step();
                }
                stage.Advance(indices.Length);
            }
        }
        model.eval();
    }

    // Clean reserve batches under random labels; every BatchFactor-th step also a distilled batch
    // under its own labels, the two losses mixed by lambda.
    private void Confuse(ModelEvidence evidence, ImageClassifier model, ImageSet clean, int[] distilled, double[] classWeights, double lambda,
        SeededRandom random, IProgressSink progress, int round, CancellationToken cancellationToken)
    {
        var images = evidence.Images;
        var batches = new Batches(evidence.Normalization);
        var cleanCycle = new Cycle(clean.Count, random);
        var distilledCycle = new Cycle(distilled.Length, random);
        var classes = evidence.Classes;
        using var optimizer = torch.optim.SGD(model.parameters(), LearningRate, ConfusionMomentum, weight_decay: WeightDecay);
        ConvolutionBackend.ConfigureFor(model);
        model.train();
        using var stage = progress.Begin($"CT round {round + 1}/{schedule.Rounds}: confusion training", schedule.ConfusionIterations);
        for (var step = 0; step < schedule.ConfusionIterations; step++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var cleanIndices = cleanCycle.Next(Math.Min(Defaults.BatchSize, clean.Count));
            var randomLabels = cleanIndices.Select(_ => (long)random.NextInt(classes)).ToArray();
            using (CollectionPause.Begin())
            using (NewDisposeScope())
            {
                var cleanInput = batches.Images(clean, cleanIndices);
                var confusionTarget = tensor(randomLabels);
                Tensor loss;
                if (step % BatchFactor == 0 && distilled.Length > 0)
                {
                    var inspected = distilledCycle.Next(Math.Min(Defaults.BatchSize, distilled.Length)).Select(i => distilled[i]).ToArray();
                    var logits = model.call(cat([cleanInput, batches.Images(images, inspected)], 0));
                    var boundary = cleanIndices.Length;
                    var confusionLoss = nn.functional.cross_entropy(logits.narrow(0, 0, boundary), confusionTarget);
                    var perSample = nn.functional.cross_entropy(logits.narrow(0, boundary, inspected.Length), batches.Labels(images, inspected), reduction: nn.Reduction.None);
                    var weights = tensor(inspected.Select(i => (float)classWeights[images.Labels[i]]).ToArray());
                    var inspectionLoss = (perSample * weights).sum() / weights.sum();
                    loss = (confusionLoss * (lambda - 1) + inspectionLoss) / lambda;
                }
                else
                {
                    loss = nn.functional.cross_entropy(model.call(cleanInput), confusionTarget);
                }
                optimizer.zero_grad();
                loss.backward();
                optimizer.step();
            }
            stage.Advance(1);
        }
        model.eval();
    }

    // Each sample's cross-entropy under its own label with the confused model.
    private static double[] Losses(ModelEvidence evidence, ImageClassifier model, IProgressSink progress, string stageName)
    {
        var images = evidence.Images;
        var losses = new double[images.Count];
        var confused = new ModelEvidence(model, evidence.Metadata, images);
        using var stage = progress.Begin(stageName, images.Count);
        confused.Forward(images, pixels => pixels, stage, (start, logits) =>
        {
            var count = (int)logits.shape[0];
            var labels = tensor(Enumerable.Range(start, count).Select(i => (long)images.Labels[i]).ToArray());
            var values = nn.functional.cross_entropy(logits, labels, reduction: nn.Reduction.None).to(ScalarType.Float64).data<double>().ToArray();
            values.CopyTo(losses, start);
        });
        return losses;
    }

    // The lowest-loss share of the whole set, topped up so every class keeps at least 2 % of its
    // samples (its lowest-loss ones).
    private static int[] Distill(double[] losses, IReadOnlyList<int> labels, int classes, double ratio)
    {
        var sorted = Enumerable.Range(0, losses.Length).OrderBy(i => losses[i]).ThenBy(i => i).ToArray();
        var kept = sorted.Take((int)(ratio * losses.Length)).ToHashSet();
        for (var c = 0; c < classes; c++)
        {
            var ofClass = sorted.Where(i => labels[i] == c).ToArray();
            var minimum = ofClass.Length / (int)Math.Round(1 / MinimumClassShare);
            var have = ofClass.Count(kept.Contains);
            foreach (var i in ofClass.Where(i => !kept.Contains(i)).Take(Math.Max(0, minimum - have))) kept.Add(i);
        }
        return kept.Order().ToArray();
    }

    private static (bool[] Flagged, double[] Scores, List<string> Notes) Identify(ModelEvidence evidence, ImageClassifier model, double[] losses, IProgressSink progress)
    {
        var images = evidence.Images;
        var confused = new ModelEvidence(model, evidence.Metadata, images);
        var features = confused.Penultimate(progress);
        var probability = new double[images.Count];
        using (var stage = progress.Begin("CT: label probabilities", images.Count))
        {
            confused.Forward(images, pixels => pixels, stage, (start, logits) =>
            {
                var count = (int)logits.shape[0];
                var labels = tensor(Enumerable.Range(start, count).Select(i => (long)images.Labels[i]).ToArray());
                logits.softmax(1).gather(1, labels.unsqueeze(1)).squeeze(1).to(ScalarType.Float64).data<double>().ToArray().CopyTo(probability, start);
            });
        }
        var byLabel = ClassFeatures.IndicesByLabel(images.Labels, evidence.Classes);
        var ratios = new double[byLabel.Length];
        for (var label = 0; label < byLabel.Length; label++)
            ratios[label] = LikelihoodRatio(features, byLabel[label], losses, probability);
        var largest = ratios.Max();
        var flagged = new bool[images.Count];
        var notes = new List<string>();
        for (var label = 0; label < byLabel.Length; label++)
        {
            var ratio = ratios[label];
            if (!(ratio > RatioThreshold || (ratio == largest && ratio > LargestRatioThreshold))) continue;
            var count = 0;
            foreach (var i in byLabel[label].Where(i => probability[i] > FlaggedProbability)) { flagged[i] = true; count++; }
            notes.Add($"{images.ClassNames[label]}: likelihood ratio {ratio:F2}, {count} samples the confused model still fits flagged");
        }
        notes.Add($"likelihood ratios per label: {string.Join(", ", ratios.Select((r, c) => $"{images.ClassNames[c]} {r:F2}"))} (flag above {RatioThreshold:F2}, or above {LargestRatioThreshold} for the largest)");
        return (flagged, probability, notes);
    }

    // exp(mean over the label's samples of log N(z; own Gaussian) - log N(z; clean Gaussian)), z the
    // 2-D principal projection; a sample's own Gaussian is the fitted-samples one if the confused
    // model fits it, else the clean one. 1 when fewer than two samples are fitted.
    private static double LikelihoodRatio(DenseMatrix features, int[] rows, double[] losses, double[] probability)
    {
        if (rows.Length < 4) return 1;
        var projected = LabelBlock.Of(features, 0, rows).Principal(2);
        var byLoss = Enumerable.Range(0, rows.Length).OrderBy(r => losses[rows[r]]).ThenBy(r => r).ToArray();
        var half = MedianShare * rows.Length / 2;
        var middle = byLoss[(int)(rows.Length / 2.0 - half)..(int)(rows.Length / 2.0 + half)];
        var fitted = Enumerable.Range(0, rows.Length).Where(r => probability[rows[r]] > IsolatedProbability).ToArray();
        if (fitted.Length < 2 || middle.Length < 2) return 1;
        var cleanGaussian = Gaussian.Fit(projected, middle);
        var fittedGaussian = Gaussian.Fit(projected, fitted);
        var isFitted = fitted.ToHashSet();
        var gain = 0.0;
        for (var r = 0; r < rows.Length; r++)
            if (isFitted.Contains(r)) gain += fittedGaussian.LogDensity(projected, r) - cleanGaussian.LogDensity(projected, r);
        return Math.Exp(gain / rows.Length);
    }

    private sealed record Gaussian(double[] Mean, double[,] Inverse, double LogNormalizer)
    {
        public static Gaussian Fit(double[,] points, int[] rows)
        {
            var d = points.GetLength(1);
            var covariance = ClassFeatures.Covariance(points, rows);
            // The reference uses the unbiased covariance plus a small constant.
            for (var a = 0; a < d; a++)
                for (var b = 0; b < d; b++) covariance[a, b] *= rows.Length / (rows.Length - 1.0);
            for (var a = 0; a < d; a++) covariance[a, a] += CovarianceRidge;
            var mean = new double[d];
            foreach (var r in rows)
                for (var c = 0; c < d; c++) mean[c] += points[r, c] / rows.Length;
            var (values, _) = ClassFeatures.SymmetricEigen(covariance);
            var logDeterminant = values.Sum(v => Math.Log(Math.Max(v, 1e-300)));
            return new Gaussian(mean, ClassFeatures.Apply(covariance, v => 1 / Math.Max(v, 1e-300)), -0.5 * (d * Math.Log(2 * Math.PI) + logDeterminant));
        }

        public double LogDensity(double[,] points, int row)
        {
            var d = Mean.Length;
            var quadratic = 0.0;
            for (var a = 0; a < d; a++)
                for (var b = 0; b < d; b++) quadratic += (points[row, a] - Mean[a]) * Inverse[a, b] * (points[row, b] - Mean[b]);
            return LogNormalizer - 0.5 * quadratic;
        }
    }

    // Normalized model inputs and labels for index batches of any image set with the model's size.
    private sealed class Batches(Normalization normalization)
    {
        public Tensor Images(ImageSet images, ReadOnlySpan<int> indices) => ModelEvidence.Pixels(images, indices, normalization);

        public Tensor Labels(ImageSet images, ReadOnlySpan<int> indices)
        {
            var labels = new long[indices.Length];
            for (var i = 0; i < indices.Length; i++) labels[i] = images.Labels[indices[i]];
            return BatchTensors.Labels(labels, labels.Length);
        }
    }

    // Endless seeded passes over 0..count-1, each in a new random order.
    private sealed class Cycle(int count, SeededRandom random)
    {
        private int[] order = [];
        private int position;

        public int[] Next(int size)
        {
            var result = new int[size];
            for (var k = 0; k < size; k++)
            {
                if (position == order.Length) { order = random.Permutation(count); position = 0; }
                result[k] = order[position++];
            }
            return result;
        }
    }
}
