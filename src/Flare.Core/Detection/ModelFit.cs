using Flare.Data;
using Flare.Training;

namespace Flare.Detection;

/// <summary>
/// How well the model FLARE reads features from fits the data it judges. FLARE sees a backdoor only
/// in a model that learned the poisoned samples: a model that fits the data poorly, or was trained
/// on other data, can flag nothing while a backdoor is there, so its "nothing flagged" is not "clean".
/// Detect and purify both apply this one rule and state its outcome in the summary and the report.
/// </summary>
public sealed record ModelFit(double Accuracy, bool TrainedOnThisData, string? Warning)
{
    public static class Defaults
    {
        /// <summary>
        /// Below this accuracy on the judged data the model has not fitted it. FLARE's detections
        /// (docs/results.md) come from models that fit their training sets well above it.
        /// </summary>
        public const double MinimumAccuracy = 0.95;
    }

    /// <summary>True when the detection's result can be taken at its word.</summary>
    public bool Trusted => Warning is null;

    /// <summary>The fit of <paramref name="model"/> to <paramref name="images"/> from its predictions on them (in image order).</summary>
    public static ModelFit Measure(IReadOnlyList<int> predictions, ImageSet images, ModelMetadata model)
    {
        if (predictions.Count != images.Count) throw new ArgumentException("one prediction per image is required", nameof(predictions));
        var accuracy = Evaluator.Accuracy(predictions, images.Labels);
        var sameData = string.Equals(images.ContentHash(), model.TrainingDataHash, StringComparison.OrdinalIgnoreCase);
        var problems = new List<string>();
        if (!sameData) problems.Add("the model was trained on other images than these (training-data hash differs)");
        if (accuracy < Defaults.MinimumAccuracy)
            problems.Add($"it has not learned these images (accuracy below {100 * Defaults.MinimumAccuracy:F0} %)");
        var warning = problems.Count == 0
            ? null
            : $"{string.Join("; ", problems)}: a backdoor the model did not learn cannot show, so few or no flagged samples do not mean the data are clean";
        return new ModelFit(accuracy, sameData, warning);
    }
}
