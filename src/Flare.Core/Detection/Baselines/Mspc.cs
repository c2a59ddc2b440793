using Flare.Native;
using Flare.Progress;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flare.Detection.Baselines;

/// <summary>How long MSPC optimises its mask; the authors' defaults are 10 inner epochs x 4 outer rounds over the whole set.</summary>
public sealed record MspcSchedule
{
    /// <summary>Mask epochs per outer round (authors: 10).</summary>
    public int InnerEpochs { get; init; } = 2;

    /// <summary>Outer rounds: mask optimisation, then new weights from the masked consistency (authors: 4).</summary>
    public int OuterRounds { get; init; } = 1;

    /// <summary>Samples the mask is optimised on, a seeded random subset; null: all (authors: all).</summary>
    public int? MaskSamples { get; init; } = 2000;

    /// <summary>Mask batch size (authors: 1,000; smaller here so a subset still gives enough SGD steps).</summary>
    public int BatchSize { get; init; } = 100;

    public bool IsAuthors => InnerEpochs == 10 && OuterRounds == 4 && MaskSamples is null;

    public override string ToString() =>
        $"{InnerEpochs} inner epoch(s) x {OuterRounds} outer round(s) on {(MaskSamples is { } n ? $"{n} sampled images" : "all images")}, batch {BatchSize}";

    public void Validate()
    {
        if (InnerEpochs < 1) throw new FlareException($"--mspc-epochs must be at least 1, got {InnerEpochs}");
        if (OuterRounds < 1) throw new FlareException($"--mspc-rounds must be at least 1, got {OuterRounds}");
        if (MaskSamples is < 1) throw new FlareException($"--mspc-samples must be at least 1, got {MaskSamples}");
        if (BatchSize < 1) throw new FlareException($"MSPC batch size must be at least 1, got {BatchSize}");
    }
}

/// <summary>
/// MSPC, masked scaled prediction consistency (Pal et al., ICLR 2024), after the official code
/// (OPTML-Group/BackdoorMSPC, bilevel_full.py and bilevel_losses.py). The consistency of a sample is
/// l = mean over s in 2..12 of (2 [pred(clamp(s (x - tau) m, 0, 1)) = pred(x)] - 1), tau 0.2, on
/// [0, 1] pixels before normalization. Starting from m = 1 and weights w = [l > 0], a shared
/// H x W mask m in [0, 1] is learned (SGD lr 0.1, momentum 0.9, weight decay 5e-4) to minimise the
/// w-weighted KL(f(x) || f(clamp(s (x - tau) m))) averaged over scales plus 0.01 |m|_1; then l
/// and w are recomputed with the mask; l > 0 flags (threshold-free). Score: l. The schedule
/// (<see cref="MspcSchedule"/>) is reduced from the authors' by default, and the notes say so.
/// </summary>
public sealed class Mspc(MspcSchedule schedule) : IPoisonDetector
{
    public static readonly int[] Scales = [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
    public const double Tau = 0.2;
    public const double MaskL1 = 0.01;
    public const double LearningRate = 0.1;
    public const double Momentum = 0.9;
    public const double WeightDecay = 5e-4;

    public string Name => "mspc";

    public MspcSchedule Schedule => schedule;

    public DetectorOutcome Detect(DetectorInput input, IProgressSink progress, CancellationToken cancellationToken = default)
    {
        schedule.Validate();
        var evidence = input.Evidence;
        var images = evidence.Images;
        var model = evidence.Model;
        var original = evidence.Predictions(progress);
        var consistency = Consistency(evidence, original, null, progress, "MSPC consistency without mask", cancellationToken);
        var shareBefore = consistency.Count(l => l > 0);

        var random = SeededRandom.ForStream(input.Seed, 0x4D535043UL);
        var order = random.Permutation(images.Count);
        var sample = order.Take(Math.Min(images.Count, schedule.MaskSamples ?? images.Count)).ToArray();
        using var mask = new Parameter(ones(images.Height, images.Width));
        using var optimizer = optim.SGD([mask], LearningRate, Momentum, weight_decay: WeightDecay);
        var parameters = model.parameters().ToArray();
        var frozen = parameters.Select(p => p.requires_grad).ToArray();
        foreach (var p in parameters) p.requires_grad = false;
        ConvolutionBackend.ConfigureFor(model);
        model.eval();
        try
        {
            for (var round = 0; round < schedule.OuterRounds; round++)
            {
                var weights = consistency.Select(l => l > 0 ? 1f : 0f).ToArray();
                using (var stage = progress.Begin($"MSPC mask, round {round + 1}/{schedule.OuterRounds}", (long)schedule.InnerEpochs * sample.Length))
                {
                    for (var epoch = 0; epoch < schedule.InnerEpochs; epoch++)
                    {
                        for (var start = 0; start < sample.Length; start += schedule.BatchSize)
                        {
                            cancellationToken.ThrowIfCancellationRequested();
                            var batch = sample.AsSpan(start, Math.Min(schedule.BatchSize, sample.Length - start));
                            MaskStep(evidence, optimizer, mask, batch, weights);
                            stage.Advance(batch.Length);
                        }
                    }
                }
                using (var frozenMask = mask.detach().clone())
                    consistency = Consistency(evidence, original, frozenMask, progress, $"MSPC masked consistency, round {round + 1}", cancellationToken);
            }
        }
        finally
        {
            for (var i = 0; i < parameters.Length; i++) parameters[i].requires_grad = frozen[i];
        }
        var maskMean = mask.mean().item<float>();
        return new DetectorOutcome(consistency.Select(l => l > 0).ToArray(), consistency,
        [
            $"schedule: {schedule}{(schedule.IsAuthors ? " (the authors')" : "; reduced from the authors' 10 inner epochs x 4 outer rounds on all images, batch 1000")}",
            $"{shareBefore} samples consistent before the mask, mask mean {maskMean:F3} after; flagged at masked consistency > 0",
        ]);
    }

    private static void MaskStep(ModelEvidence evidence, optim.Optimizer optimizer, Parameter mask, ReadOnlySpan<int> batch, float[] weights)
    {
        using var scope = NewDisposeScope();
        optimizer.zero_grad();
        var pixels = ModelEvidence.Pixels(evidence.Images, batch);
        var w = tensor(batch.ToArray().Select(i => weights[i]).ToArray());
        Tensor reference;
        using (torch.no_grad()) reference = evidence.Model.call(evidence.Normalize(pixels)).log_softmax(1);
        var p = reference.exp();
        var shifted = pixels - Tau;
        foreach (var scale in Scales)
        {
            using (CollectionPause.Begin())
            {
                var scaled = evidence.Model.call(evidence.Normalize((shifted * mask * scale).clamp(0, 1))).log_softmax(1);
                var kl = (p * (reference - scaled)).sum(1);
                var loss = (w * kl).sum() / (batch.Length * Scales.Length);
                loss.backward();
            }
        }
        (MaskL1 * mask.abs().sum()).backward();
        optimizer.step();
        using (torch.no_grad()) mask.clamp_(0, 1);
    }

    private static double[] Consistency(ModelEvidence evidence, int[] original, Tensor? mask, IProgressSink progress, string stageName, CancellationToken cancellationToken)
    {
        var images = evidence.Images;
        var sum = new double[images.Count];
        using var stage = progress.Begin(stageName, (long)Scales.Length * images.Count);
        foreach (var scale in Scales)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var predictions = evidence.PredictTransformed(images, pixels =>
            {
                var shifted = pixels - Tau;
                if (mask is not null) shifted *= mask;
                return (shifted * scale).clamp(0, 1);
            }, stage);
            for (var i = 0; i < images.Count; i++) sum[i] += predictions[i] == original[i] ? 1 : -1;
        }
        return sum.Select(s => s / Scales.Length).ToArray();
    }
}
