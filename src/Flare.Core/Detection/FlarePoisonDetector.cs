using Flare.Progress;

namespace Flare.Detection;

/// <summary>
/// FLARE (<see cref="FlareDetector"/>) behind the common detector interface, on the cached
/// BatchNorm features. Its randomness is UMAP's, seeded by <see cref="DetectionOptions.Seed"/>
/// (the authors' 42), not by the comparison's seed, so its flags match <c>flare detect</c>'s.
/// Its score is the per-sample suspicion (<see cref="DetectionResult.Suspicion"/>).
/// </summary>
public sealed class FlarePoisonDetector(DetectionOptions options) : IPoisonDetector
{
    public string Name => "flare";

    public DetectionOptions Options => options;

    public DetectorOutcome Detect(DetectorInput input, IProgressSink progress, CancellationToken cancellationToken = default)
    {
        var extracted = input.Evidence.BatchNormFeatures(progress);
        var result = FlareDetector.Detect(extracted.For(options.Representation), options, progress, input.Evidence.Images.Labels, extracted.Penultimate, cancellationToken);
        var notes = new List<string> { result.Verdict };
        if (result.DroppedLayers is { } k) notes.Add($"poisoned cluster found with the last {k} BatchNorm layers dropped ({options.Representation.ToName()} features)");
        return new DetectorOutcome(result.Flagged, result.Suspicion, notes);
    }
}
