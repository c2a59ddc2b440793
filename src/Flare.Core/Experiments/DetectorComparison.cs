using System.Diagnostics;
using Flare.Data;
using Flare.Detection;
using Flare.Progress;

namespace Flare.Experiments;

/// <summary>One detector's run in a comparison.</summary>
public sealed record DetectorRun(DetectorSpec Spec, DetectorOutcome Outcome, double Seconds, DetectionMetrics? Metrics)
{
    public bool UsedClean => Spec.CleanData == CleanDataUse.Required;
}

/// <summary>Every chosen detector on one model and data set, with the shared passes timed apart.</summary>
public sealed record ComparisonResult(IReadOnlyList<DetectorRun> Runs, double PenultimateSeconds, double BatchNormSeconds);

/// <summary>
/// Runs detectors side by side on one model: the shared features are extracted once up front (so
/// each detector's time is its own work), then each detector in turn, scored against the ground
/// truth when there is one.
/// </summary>
public static class DetectorComparison
{
    /// <summary>Fails before any work when a chosen detector needs clean reserve images and none were given.</summary>
    public static void EnsureCleanData(IReadOnlyList<DetectorSpec> specs, bool haveClean)
    {
        var needing = specs.Where(s => s.CleanData == CleanDataUse.Required).Select(s => s.Name).ToList();
        if (!haveClean && needing.Count > 0)
            throw new FlareException($"--clean: {string.Join(", ", needing)} need(s) clean reserve images (for example a slice of the test folder); give --clean DIR or leave {string.Join(", ", needing)} out of --detectors");
    }

    public static void ValidatePoisonRate(double poisonRate)
    {
        if (!(poisonRate > 0 && poisonRate < 0.5)) throw new FlareException($"--poison-rate must be in (0, 0.5), got {poisonRate}");
    }

    /// <summary>Clean reserve images must have the training set's classes, in order, and image size.</summary>
    public static void EnsureCleanMatches(ImageSet clean, ImageSet training, string cleanLabel)
    {
        if (!clean.ClassNames.SequenceEqual(training.ClassNames))
            throw new FlareException($"{cleanLabel}: classes [{string.Join(", ", clean.ClassNames)}] differ from the training set's [{string.Join(", ", training.ClassNames)}]");
        if (clean.Height != training.Height || clean.Width != training.Width)
            throw new FlareException($"{cleanLabel}: images are {clean.Width}x{clean.Height} but the training images are {training.Width}x{training.Height}");
    }

    public static ComparisonResult Run(ModelEvidence evidence, IReadOnlyList<DetectorSpec> specs, DetectorSettings settings, ImageSet? clean,
        ulong seed, double poisonRate, bool[]? poisoned, IProgressSink progress, CancellationToken cancellationToken = default)
    {
        EnsureCleanData(specs, clean is not null);
        ValidatePoisonRate(poisonRate);
        if (clean is not null) EnsureCleanMatches(clean, evidence.Images, "--clean");
        var clock = Stopwatch.StartNew();
        evidence.Penultimate(progress);
        var penultimateSeconds = clock.Elapsed.TotalSeconds;
        var batchNormSeconds = 0.0;
        if (specs.Any(s => s.Name == "flare"))
        {
            clock.Restart();
            evidence.BatchNormFeatures(progress);
            batchNormSeconds = clock.Elapsed.TotalSeconds;
        }
        var input = new DetectorInput { Evidence = evidence, Clean = clean, Seed = seed, PoisonRate = poisonRate };
        var runs = new List<DetectorRun>();
        for (var d = 0; d < specs.Count; d++)
        {
            var spec = specs[d];
            progress.Message($"[{d + 1}/{specs.Count}] {spec.Title}");
            clock.Restart();
            var outcome = spec.Factory(settings).Detect(input, progress, cancellationToken);
            var seconds = clock.Elapsed.TotalSeconds;
            var metrics = poisoned is null ? null : DetectionMetrics.Compute(outcome.Flagged, poisoned);
            var summary = metrics is null ? "" : $", TPR {(metrics.TruePositiveRate is { } t ? $"{100 * t:F2} %" : "n/a")}, FPR {100 * metrics.FalsePositiveRate:F2} %";
            progress.Message($"[{d + 1}/{specs.Count}] {spec.Name}: {outcome.FlaggedCount} flagged{summary} in {seconds:F1} s");
            runs.Add(new DetectorRun(spec, outcome, seconds, metrics));
            Native.ProcessMemory.Release();
        }
        return new ComparisonResult(runs, penultimateSeconds, batchNormSeconds);
    }
}
