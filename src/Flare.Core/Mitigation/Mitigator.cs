using System.Diagnostics;
using System.Globalization;
using Flare.Data;
using Flare.Models;
using Flare.Progress;
using Flare.Training;

namespace Flare.Mitigation;

/// <summary>How to get a clean model once the poisoned samples are flagged (paper, Sec. IV-D/E).</summary>
public enum MitigationMethod
{
    None,

    /// <summary>FLARE (P): train from scratch on the kept samples with the accuracy recipe.</summary>
    Retrain,

    /// <summary>FLARE (R): unlearn the flagged samples and relearn the kept ones, from the detection model.</summary>
    Unlearn,
}

public static class MitigationMethodNames
{
    public static string ToName(this MitigationMethod method) => method switch
    {
        MitigationMethod.None => "none",
        MitigationMethod.Retrain => "retrain",
        MitigationMethod.Unlearn => "unlearn",
        _ => throw new ArgumentOutOfRangeException(nameof(method)),
    };

    public static MitigationMethod Parse(string name) => name.ToLowerInvariant() switch
    {
        "none" => MitigationMethod.None,
        "retrain" => MitigationMethod.Retrain,
        "unlearn" => MitigationMethod.Unlearn,
        _ => throw new FlareException($"unknown --mitigate '{name}' (known: none, retrain, unlearn)"),
    };
}

public sealed record MitigationOptions
{
    public static class Defaults
    {
        public const MitigationMethod Method = MitigationMethod.None;

        /// <summary>The accuracy recipe of flare train: crop and flip.</summary>
        public const Augmentation RetrainAugmentation = Augmentation.CropFlip;
    }

    public MitigationMethod Method { get; init; } = Defaults.Method;

    /// <summary>FLARE (P)'s recipe; architecture and width are taken from the detection model.</summary>
    public TrainingOptions Retraining { get; init; } = new() { Augmentation = Defaults.RetrainAugmentation };

    public UnlearningOptions Unlearning { get; init; } = new();
}

/// <summary>What a mitigation did. <see cref="Model"/> is null when nothing was done (method none).</summary>
public sealed record MitigationResult
{
    public required MitigationMethod Method { get; init; }
    public required int Flagged { get; init; }
    public required int Kept { get; init; }
    public ImageClassifier? Model { get; init; }
    public ModelMetadata? Metadata { get; init; }
    public required double Seconds { get; init; }
    public UnlearningResult? Unlearning { get; init; }
    public IReadOnlyList<EpochSummary>? Retraining { get; init; }

    /// <summary>A finding the user must see, e.g. that nothing was flagged and the model was kept as it was.</summary>
    public string? Note { get; init; }
}

/// <summary>A mitigation with the scores around it: what the report's mitigation section describes.</summary>
public sealed record MitigationRun
{
    public required MitigationResult Result { get; init; }
    public required MitigationOptions Options { get; init; }

    /// <summary>Where the clean model was saved (null when none was made).</summary>
    public string? ModelFile { get; init; }

    /// <summary>The detection model's BA / ASR, and the clean model's; null without a test set.</summary>
    public ModelScore? Before { get; init; }

    public ModelScore? After { get; init; }
    public string? TestPath { get; init; }
    public BackdoorTest? Test { get; init; }

    /// <summary>
    /// Set when the clean model's ASR is higher than the detection model's: mitigation strengthened
    /// the backdoor, as (R) measured on an untargeted attack (docs/mitigation.md).
    /// </summary>
    public string? Warning => Before?.AttackSuccessRate is { } before && After?.AttackSuccessRate is { } after && after > before
        ? FormattableString.Invariant($"the clean model's ASR ({after:P1}) is higher than the detection model's ({before:P1}): this mitigation strengthened the backdoor; do not use the clean model (docs/mitigation.md)")
        : null;
}

public static class Mitigator
{
    /// <summary>
    /// Scores the detection model on <paramref name="test"/> (if any), mitigates, saves the clean
    /// model to <paramref name="modelFile"/> (atomically) and scores it. With unlearning and a test
    /// set, every epoch is scored too. The detection model is changed in place by unlearning.
    /// </summary>
    public static MitigationRun RunAndScore(MitigationOptions options, ImageClassifier detectionModel, ModelMetadata metadata, ImageSet images,
        IReadOnlyList<bool> flagged, BackdoorTest? test, string? testPath, string modelFile, IProgressSink progress)
    {
        var before = test is null ? null : ModelScore.Measure(detectionModel, metadata.Normalization, test, progress);
        Func<ImageClassifier, ModelScore>? probe = test is null ? null : model => ModelScore.Measure(model, metadata.Normalization, test, SilentProgress.Instance);
        var result = Run(options.Method, detectionModel, metadata, images, flagged, options, progress, probe);
        ModelScore? after = null;
        string? saved = null;
        if (result.Model is { } clean)
        {
            try
            {
                // After unlearning, the probe has already scored the final model.
                if (test is not null) after = result.Unlearning?.History[^1].Score ?? ModelScore.Measure(clean, result.Metadata!.Normalization, test, progress);
                Checkpoint.Save(modelFile, clean, result.Metadata! with { TestAccuracy = after?.BenignAccuracy });
                saved = modelFile;
            }
            finally
            {
                if (!ReferenceEquals(clean, detectionModel)) clean.Dispose();
            }
        }
        return new MitigationRun { Result = result with { Model = null }, Options = options, ModelFile = saved, Before = before, After = after, TestPath = testPath, Test = test };
    }

    /// <summary>
    /// Produces the clean model. For <see cref="MitigationMethod.Unlearn"/> the result's model is
    /// <paramref name="detectionModel"/> itself, changed in place; for retrain it is a new model.
    /// With nothing flagged, unlearning has nothing to do: the model is returned unchanged, with a note.
    /// </summary>
    public static MitigationResult Run(MitigationMethod method, ImageClassifier detectionModel, ModelMetadata metadata, ImageSet images,
        IReadOnlyList<bool> flagged, MitigationOptions options, IProgressSink progress, Func<ImageClassifier, ModelScore>? probe = null)
    {
        if (flagged.Count != images.Count) throw new ArgumentException("one flag per image is required", nameof(flagged));
        var flaggedIndices = Enumerable.Range(0, images.Count).Where(i => flagged[i]).ToArray();
        var keptIndices = Enumerable.Range(0, images.Count).Where(i => !flagged[i]).ToArray();
        var result = new MitigationResult { Method = method, Flagged = flaggedIndices.Length, Kept = keptIndices.Length, Seconds = 0 };
        if (method == MitigationMethod.None) return result;
        if (keptIndices.Length == 0) throw new FlareException($"all {images.Count} samples are flagged: there is nothing to train a clean model on");
        var kept = images.Select(keptIndices);
        var clock = Stopwatch.StartNew();
        if (method == MitigationMethod.Retrain)
        {
            var retraining = options.Retraining with { Model = metadata.Architecture, Width = metadata.Width };
            var trained = Trainer.Train(kept, retraining, progress, $"{metadata.TrainingData ?? "training data"} without the {flaggedIndices.Length} flagged samples");
            return result with
            {
                Model = trained.Model,
                Metadata = trained.Metadata with { Mitigation = $"FLARE (P): retrained from scratch on {kept.Count} kept samples ({flaggedIndices.Length} flagged removed)" },
                Retraining = trained.History,
                Seconds = clock.Elapsed.TotalSeconds,
            };
        }
        if (flaggedIndices.Length == 0)
        {
            return result with
            {
                Model = detectionModel,
                Metadata = metadata with { Mitigation = "FLARE (R): nothing flagged, nothing to unlearn; the detection model unchanged" },
                Note = "nothing is flagged, so there is nothing to unlearn: the clean model is the detection model, unchanged",
            };
        }
        var flaggedSet = images.Select(flaggedIndices);
        var unlearning = Unlearner.Run(detectionModel, metadata.Normalization, flaggedSet, kept, options.Unlearning, progress, probe);
        return result with
        {
            Note = SpreadLabelsNote(flaggedSet),
            Model = detectionModel,
            Metadata = metadata with
            {
                Mitigation = string.Create(CultureInfo.InvariantCulture, $"FLARE (R): unlearned {flaggedIndices.Length} flagged and relearned {kept.Count} kept samples; {options.Unlearning.Describe()}"),
                TrainAccuracy = unlearning.KeptAccuracyAfter,
                TestAccuracy = null,
                CreatedUtc = DateTime.UtcNow,
            },
            Unlearning = unlearning,
            Seconds = clock.Elapsed.TotalSeconds,
        };
    }

    /// <summary>
    /// A note when no label holds <see cref="UnlearningOptions.Defaults.SharedLabelShare"/> of the
    /// flagged samples: the poison is not all-to-one, and if it is untargeted (R) may strengthen it.
    /// </summary>
    public static string? SpreadLabelsNote(ImageSet flagged)
    {
        var perLabel = flagged.CountPerClass();
        var most = Array.IndexOf(perLabel, perLabel.Max());
        var share = (double)perLabel[most] / flagged.Count;
        if (share >= UnlearningOptions.Defaults.SharedLabelShare) return null;
        return string.Create(CultureInfo.InvariantCulture,
            $"the {flagged.Count} flagged samples carry {perLabel.Count(n => n > 0)} different labels (the most common, '{flagged.ClassNames[most]}', {share:P0}): the poison looks all-to-all or untargeted, and on untargeted poison unlearning was measured to strengthen the backdoor (docs/mitigation.md); check the clean model with --test and --attack, or use --mitigate retrain");
    }
}
