using Flare.Attacks;
using Flare.Data;
using Flare.Models;
using Flare.Progress;
using Flare.Training;

namespace Flare.Mitigation;

/// <summary>
/// The test set a backdoor is judged on: clean images for benign accuracy and, when the attack is
/// known (an output folder of flare poison), its triggered copy for the attack success rate.
/// The triggered copy is built once, so scoring after every epoch costs only the predictions.
/// </summary>
public sealed class BackdoorTest
{
    public BackdoorTest(ImageSet clean, string? attackFolder)
    {
        Clean = clean;
        if (attackFolder is null) return;
        var trigger = AttackRecord.LoadTrigger(attackFolder, clean.ClassNames);
        Attack = trigger.Record;
        Mode = trigger.Mode;
        Triggered = TriggeredTestSet.Build(clean, trigger.Attack, trigger.Mode);
        if (Triggered.Images.Count == 0)
            throw new FlareException($"{attackFolder}: no test image lies outside the target class {Mode.Target}; the attack success rate needs some");
    }

    public ImageSet Clean { get; }
    public AttackRecord? Attack { get; }
    public LabelMode? Mode { get; }
    public TriggeredTestSet? Triggered { get; }
}

/// <summary>A model's benign accuracy and, when the attack is known, its attack success rate.</summary>
public sealed record ModelScore(double BenignAccuracy, int TestSamples, double? AttackSuccessRate, int? TriggeredSamples)
{
    public static ModelScore Measure(ImageClassifier model, Normalization normalization, BackdoorTest test, IProgressSink? progress = null)
    {
        var predictions = Evaluator.Predict(model, test.Clean, normalization, progress, "benign accuracy");
        var accuracy = Evaluator.Accuracy(predictions, test.Clean.Labels);
        if (test.Triggered is null) return new ModelScore(accuracy, test.Clean.Count, null, null);
        var success = AttackSuccess.Measure(model, normalization, test.Triggered, test.Mode!, progress);
        return new ModelScore(accuracy, test.Clean.Count, success.Rate, success.TriggeredSamples);
    }
}
