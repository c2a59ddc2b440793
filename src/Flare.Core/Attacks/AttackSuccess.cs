using Flare.Data;
using Flare.Models;
using Flare.Progress;
using Flare.Training;

namespace Flare.Attacks;

/// <summary>The attack success rate of a model on the triggered copy of a test set, with the predictions behind it.</summary>
public sealed record AttackSuccess(double Rate, int TriggeredSamples, int[] Predictions, int[] TrueLabels)
{
    /// <summary>
    /// Triggers every test image whose label the attack changes and counts successes by the mode's
    /// rule: all-to-one and all-to-all succeed when the prediction is the attack's label,
    /// untargeted when it differs from the true label.
    /// </summary>
    public static AttackSuccess Measure(ImageClassifier model, Normalization normalization, ImageSet clean, IBackdoorAttack attack, LabelMode mode, IProgressSink? progress = null)
    {
        var triggered = TriggeredTestSet.Build(clean, attack, mode);
        if (triggered.Images.Count == 0)
            throw new FlareException($"no test image lies outside the target class {mode.Target}; the attack success rate needs some");
        return Measure(model, normalization, triggered, mode, progress);
    }

    /// <summary>The same on a triggered test set built beforehand (to score several models on it).</summary>
    public static AttackSuccess Measure(ImageClassifier model, Normalization normalization, TriggeredTestSet triggered, LabelMode mode, IProgressSink? progress = null)
    {
        var predictions = Evaluator.Predict(model, triggered.Images, normalization, progress, "evaluating triggered images");
        return new AttackSuccess(mode.SuccessRate(predictions, triggered.TrueLabels), triggered.Images.Count, predictions, triggered.TrueLabels);
    }
}
