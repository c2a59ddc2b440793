using Flare.Data;
using Flare.Progress;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flare.Detection.Baselines;

/// <summary>
/// IBD-PSC (Hou et al., ICML 2024), after the official code (IBD-PSC, test-time detection class):
/// the gamma and beta of the last j BatchNorm layers are multiplied by omega = 1.5. The first j*
/// counts from the last layer until the amplified model's error on the clean reserve images
/// exceeds 0.6; the parameter-oriented scaled consistency PSC of a sample is the mean, over the
/// five models j = j* .. j* + 4, of the softmax probability of the unamplified prediction, and
/// PSC >= 0.9 flags. Each amplified model is applied to the whole set once (weights scaled in
/// place, then restored). Score: PSC.
/// </summary>
public sealed class IbdPsc : IPoisonDetector
{
    public const double Omega = 1.5;
    public const double ErrorThreshold = 0.6;
    public const int AmplifiedModels = 5;
    public const double Threshold = 0.9;

    public string Name => "ibd-psc";

    public DetectorOutcome Detect(DetectorInput input, IProgressSink progress, CancellationToken cancellationToken = default)
    {
        var clean = input.Clean ?? throw new FlareException("--clean: ibd-psc needs clean reserve images");
        var evidence = input.Evidence;
        var layers = evidence.Model.BatchNormLayers;
        var images = evidence.Images;
        var original = evidence.Predictions(progress);

        var start = layers.Count;
        var cleanErrors = new List<string>();
        using (var stage = progress.Begin("IBD-PSC: choosing the first amplified layer", (long)layers.Count * clean.Count))
        {
            for (var j = 1; j <= layers.Count; j++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var error = CleanError(evidence, clean, layers, j, stage);
                cleanErrors.Add($"{j}: {100 * error:F1} %");
                if (error > ErrorThreshold) { start = j; break; }
            }
        }
        var last = Math.Min(layers.Count, start + AmplifiedModels - 1);
        var first = Math.Max(1, last - AmplifiedModels + 1);
        var psc = new double[images.Count];
        using (var stage = progress.Begin("IBD-PSC amplified models", (long)(last - first + 1) * images.Count))
        {
            for (var j = first; j <= last; j++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                using var amplified = Amplify(layers, j);
                evidence.Forward(images, pixels => pixels, stage, (offset, logits) =>
                {
                    var count = (int)logits.shape[0];
                    var chosen = tensor(original.AsSpan(offset, count).ToArray().Select(c => (long)c).ToArray());
                    var probabilities = logits.softmax(1).gather(1, chosen.unsqueeze(1)).squeeze(1).to(ScalarType.Float64).data<double>().ToArray();
                    for (var i = 0; i < count; i++) psc[offset + i] += probabilities[i];
                });
            }
        }
        var models = last - first + 1;
        for (var i = 0; i < psc.Length; i++) psc[i] /= models;
        return new DetectorOutcome(psc.Select(p => p >= Threshold).ToArray(), psc,
        [
            $"clean error with the last j BatchNorm layers amplified by {Omega}: {string.Join(", ", cleanErrors)}",
            start > layers.Count ? $"no depth pushed the clean error above {100 * ErrorThreshold:F0} %: used the last {models} depths" : $"amplified the last {first} to {last} BatchNorm layers",
            $"flagged at PSC >= {Threshold}",
        ]);
    }

    private static double CleanError(ModelEvidence evidence, ImageSet clean, IReadOnlyList<BatchNorm2d> layers, int depth, IProgressStage stage)
    {
        using var amplified = Amplify(layers, depth);
        var predictions = evidence.PredictTransformed(clean, pixels => pixels, stage);
        var wrong = 0;
        for (var i = 0; i < clean.Count; i++)
            if (predictions[i] != clean.Labels[i]) wrong++;
        return (double)wrong / Math.Max(1, clean.Count);
    }

    // Scales gamma and beta of the last `depth` BatchNorm layers in place; disposing restores them.
    private static AmplifiedLayers Amplify(IReadOnlyList<BatchNorm2d> layers, int depth)
    {
        var scaled = layers.Skip(layers.Count - depth).ToArray();
        var saved = new List<(Tensor Target, Tensor Copy)>();
        using var noGrad = torch.no_grad();
        foreach (var layer in scaled)
        {
            foreach (var parameter in new[] { layer.weight, layer.bias })
            {
                if (parameter is null) continue;
                saved.Add((parameter, parameter.detach().clone()));
                parameter.mul_(Omega);
            }
        }
        return new AmplifiedLayers(saved);
    }

    private sealed class AmplifiedLayers(List<(Tensor Target, Tensor Copy)> saved) : IDisposable
    {
        public void Dispose()
        {
            using var noGrad = torch.no_grad();
            foreach (var (target, copy) in saved)
            {
                target.copy_(copy);
                copy.Dispose();
            }
        }
    }
}
