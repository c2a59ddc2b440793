using Flare.Progress;
using static TorchSharp.torch;

namespace Flare.Detection.Baselines;

/// <summary>
/// SCALE-UP (Guo et al., ICLR 2023), data-free variant, after BackdoorBox core/defenses/SCALE_UP.py:
/// each training image's [0, 1] pixels are amplified, x_s = clip(s x, 0, 1) before normalization,
/// for s in 3, 5, 7, 9, 11; the scaled prediction consistency SPC is the share of scales whose
/// prediction equals the prediction on x; SPC >= 0.5 flags. Score: SPC. The optional z-normalisation
/// on clean reserve data is not implemented (the paper's Table I figures are the data-free ones).
/// </summary>
public sealed class ScaleUp : IPoisonDetector
{
    public static readonly int[] Scales = [3, 5, 7, 9, 11];
    public const double Threshold = 0.5;

    public string Name => "scale-up";

    public DetectorOutcome Detect(DetectorInput input, IProgressSink progress, CancellationToken cancellationToken = default)
    {
        var evidence = input.Evidence;
        var images = evidence.Images;
        var original = evidence.Predictions(progress);
        var consistent = new int[images.Count];
        using (var stage = progress.Begin("SCALE-UP amplified predictions", (long)Scales.Length * images.Count))
        {
            foreach (var scale in Scales)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var predictions = evidence.PredictTransformed(images, pixels => (pixels * scale).clamp(0, 1), stage);
                for (var i = 0; i < images.Count; i++)
                    if (predictions[i] == original[i]) consistent[i]++;
            }
        }
        var scores = consistent.Select(c => (double)c / Scales.Length).ToArray();
        return new DetectorOutcome(scores.Select(s => s >= Threshold).ToArray(), scores,
            [$"SPC over scales {string.Join(", ", Scales)}; flagged at SPC >= {Threshold}"]);
    }
}
