using Flare.Data;
using Flare.Progress;

namespace Flare.Detection;

/// <summary>Whether a detector reads the clean reserve images (<c>flare compare --clean</c>).</summary>
public enum CleanDataUse
{
    None,
    Required,
}

/// <summary>What every detector gets: the model's evidence on the training set, clean reserve images if any, a seed and the assumed poison rate.</summary>
public sealed record DetectorInput
{
    public required ModelEvidence Evidence { get; init; }

    /// <summary>Clean reserve images with the model's classes and image size (labels are used only where a method says so).</summary>
    public ImageSet? Clean { get; init; }

    /// <summary>Seed for every random step a detector takes.</summary>
    public ulong Seed { get; init; }

    /// <summary>The poison rate epsilon that Spectral Signatures and SPECTRE assume (their removal budget is 1.5 epsilon n).</summary>
    public double PoisonRate { get; init; } = DetectorInputDefaults.PoisonRate;
}

public static class DetectorInputDefaults
{
    /// <summary>The rate the baselines' papers and the measured grid use.</summary>
    public const double PoisonRate = 0.1;
}

/// <summary>
/// A detector's answer: per training sample a flag and a score (higher is more suspicious; each
/// detector's notes say what its score is), and what it decided along the way.
/// </summary>
public sealed record DetectorOutcome(bool[] Flagged, double[] Scores, IReadOnlyList<string> Notes)
{
    public int FlaggedCount => Flagged.Count(f => f);
}

/// <summary>
/// A sample-level poison detector run on a model trained on the (possibly poisoned) training set.
/// Every implementation lives in its own file and has one line in <see cref="DetectorRegistry"/>;
/// the contract test runs them all through the same checks.
/// </summary>
public interface IPoisonDetector
{
    /// <summary>The name in <see cref="DetectorRegistry"/>.</summary>
    string Name { get; }

    DetectorOutcome Detect(DetectorInput input, IProgressSink progress, CancellationToken cancellationToken = default);
}
