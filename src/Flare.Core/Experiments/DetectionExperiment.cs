using System.Diagnostics;
using System.Text.Json;
using Flare.Attacks;
using Flare.Data;
using Flare.Detection;
using Flare.Manifold;
using Flare.Progress;
using Flare.Training;

namespace Flare.Experiments;

/// <summary>One case of the detection benchmark: an attack and label mode, or the clean data set.</summary>
public sealed record ExperimentCase(string? Attack, string? Mode)
{
    public static readonly ExperimentCase Clean = new(null, null);
    public string Name => Attack is null ? "clean" : $"{Attack}-{Mode}";
}

public sealed record RepresentationOutcome(string Representation, int? ChosenK, int Flagged, double? Tpr, double Fpr, double? Precision, string Verdict, double UmapSeconds, double HdbscanSeconds, double SearchSeconds);

/// <summary>What one case measured: the backdoor (BA, ASR), the model's fit, and detection with both representations.</summary>
public sealed record ExperimentOutcome
{
    public required string Case { get; init; }
    public required int TrainSamples { get; init; }

    /// <summary>Width x height of the images the case trained and detected on (after --image-size); null in outcomes written before it was recorded.</summary>
    public string? ImageSize { get; init; }
    public required int PoisonedSamples { get; init; }
    public required int CoverSamples { get; init; }
    public required double TrainAccuracy { get; init; }
    public double? PoisonedFitted { get; init; }
    public required double BenignAccuracy { get; init; }
    public double? AttackSuccessRate { get; init; }
    public required double TrainingSeconds { get; init; }
    public required double ExtractionSeconds { get; init; }
    public required IReadOnlyList<RepresentationOutcome> Detection { get; init; }
}

public sealed record ExperimentSettings
{
    public required string TrainData { get; init; }
    public required string TestData { get; init; }
    public int TrainLimit { get; init; } = 10_000;
    public int? TestLimit { get; init; } = 2_000;

    /// <summary>Side both image sets are scaled and centre-cropped to on reading (null: as stored).</summary>
    public int? ImageSize { get; init; }
    public const double DefaultRate = 0.1;

    public double Rate { get; init; } = DefaultRate;
    public TrainingOptions Training { get; init; } = TrainingOptions.ForDetection();
    public DetectionOptions Detection { get; init; } = new();
    public ulong Seed { get; init; }

    /// <summary>Train and extract only (detection is run later with bench redetect).</summary>
    public bool SkipDetection { get; init; }
}

/// <summary>
/// The detection benchmark behind docs/results.md and docs/attacks.md: for each case, poison a
/// CIFAR-10 subset in memory, train the detection model (flip only), measure benign accuracy and
/// attack success rate, extract features once and detect with both representations. Each case's
/// features, ground truth and model are kept so detection can be re-run without retraining.
/// </summary>
public static class DetectionExperiment
{
    public const string TruthFile = "truth.txt";
    public const string LabelsFile = "labels.txt";
    public const string PenultimateFile = "features-penultimate.npy";

    public static ExperimentOutcome Run(ExperimentCase @case, ExperimentSettings settings, ImageSet cleanTrain, ImageSet cleanTest, string caseFolder, IProgressSink progress)
    {
        Directory.CreateDirectory(caseFolder);
        var images = cleanTrain;
        var poisoned = new bool[cleanTrain.Count];
        int coverCount = 0;
        PoisonedSet? poisonedSet = null;
        if (@case.Attack is not null)
        {
            poisonedSet = Poisoner.Poison(cleanTrain, new PoisonOptions { Attack = @case.Attack, Mode = @case.Mode!, Rate = settings.Rate, Seed = settings.Seed }, progress);
            images = poisonedSet.Images;
            foreach (var i in poisonedSet.Plan.Poisoned) poisoned[i] = true;
            coverCount = poisonedSet.Plan.Cover.Length;
        }
        File.WriteAllLines(Path.Combine(caseFolder, TruthFile), poisoned.Select(p => p ? "1" : "0"));
        File.WriteAllLines(Path.Combine(caseFolder, LabelsFile), images.Labels.Select(l => l.ToString(System.Globalization.CultureInfo.InvariantCulture)));

        var clock = Stopwatch.StartNew();
        var trained = Trainer.Train(images, settings.Training with { Seed = settings.Seed }, progress);
        var trainingSeconds = clock.Elapsed.TotalSeconds;
        using var model = trained.Model;
        Checkpoint.Save(Path.Combine(caseFolder, "model.ckpt"), model, trained.Metadata);

        var normalization = trained.Metadata.Normalization;
        var benignAccuracy = Evaluator.Accuracy(Evaluator.Predict(model, cleanTest, normalization, progress, "benign accuracy"), cleanTest.Labels);
        double? asr = null, fitted = null;
        if (poisonedSet is not null)
        {
            asr = AttackSuccess.Measure(model, normalization, cleanTest, poisonedSet.Attack, poisonedSet.Mode, progress).Rate;
            var poisonedImages = images.Select(poisonedSet.Plan.Poisoned);
            fitted = Evaluator.Accuracy(Evaluator.Predict(model, poisonedImages, normalization, progress, "fit of poisoned samples"), poisonedImages.Labels);
        }

        clock.Restart();
        var features = LatentExtractor.Extract(model, images, normalization, progress);
        var extractionSeconds = clock.Elapsed.TotalSeconds;
        features.PerChannel.Save(Path.Combine(caseFolder, "features-channel.npy"), Path.Combine(caseFolder, "features-channel-layers.csv"));
        features.PerLayer.Save(Path.Combine(caseFolder, "features-layer.npy"), Path.Combine(caseFolder, "features-layer-layers.csv"));
        if (features.Penultimate is { } penultimate) Npy.Write(Path.Combine(caseFolder, PenultimateFile), penultimate);

        var outcome = new ExperimentOutcome
        {
            Case = @case.Name,
            TrainSamples = images.Count,
            ImageSize = $"{images.Width}x{images.Height}",
            PoisonedSamples = poisoned.Count(p => p),
            CoverSamples = coverCount,
            TrainAccuracy = trained.Metadata.TrainAccuracy ?? 0,
            PoisonedFitted = fitted,
            BenignAccuracy = benignAccuracy,
            AttackSuccessRate = asr,
            TrainingSeconds = trainingSeconds,
            ExtractionSeconds = extractionSeconds,
            Detection = settings.SkipDetection ? [] : [Detect(features.PerLayer, poisoned, images.Labels, features.Penultimate, settings.Detection, progress), Detect(features.PerChannel, poisoned, images.Labels, features.Penultimate, settings.Detection, progress)],
        };
        File.WriteAllText(Path.Combine(caseFolder, "outcome.json"), JsonSerializer.Serialize(outcome, ExperimentTable.Json));
        return outcome;
    }

    /// <summary>Re-runs detection on a case folder's saved features (after a change to the detection stage).</summary>
    public static ExperimentOutcome Redetect(string caseFolder, DetectionOptions options, IProgressSink progress)
    {
        var previous = JsonSerializer.Deserialize<ExperimentOutcome>(File.ReadAllText(Path.Combine(caseFolder, "outcome.json")), ExperimentTable.Json)
            ?? throw new FlareException($"{caseFolder}: unreadable outcome.json");
        var poisoned = File.ReadAllLines(Path.Combine(caseFolder, TruthFile)).Select(l => l.Trim() == "1").ToArray();
        var labelsPath = Path.Combine(caseFolder, LabelsFile);
        if (!File.Exists(labelsPath)) throw new FlareException($"{caseFolder}: no {LabelsFile} (written by flare bench detection since the class-conditional stage); re-run the case");
        var labels = File.ReadAllLines(labelsPath).Select(l => int.Parse(l, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        // Cases saved before the penultimate activations were kept extend a label's groups in the last BatchNorm layer.
        var penultimatePath = Path.Combine(caseFolder, PenultimateFile);
        var penultimate = File.Exists(penultimatePath) ? Npy.ReadMatrix(penultimatePath) : null;
        var detections = new[] { Representation.Layer, Representation.Channel }
            .Select(r => Detect(LoadFeatures(caseFolder, r), poisoned, labels, penultimate, options, progress))
            .ToList();
        var outcome = previous with { Detection = detections };
        File.WriteAllText(Path.Combine(caseFolder, "outcome.json"), JsonSerializer.Serialize(outcome, ExperimentTable.Json));
        return outcome;
    }

    public static LatentFeatures LoadFeatures(string caseFolder, Representation representation)
    {
        var name = representation.ToName();
        var matrix = Npy.ReadMatrix(Path.Combine(caseFolder, $"features-{name}.npy"));
        var layers = File.ReadAllLines(Path.Combine(caseFolder, $"features-{name}-layers.csv")).Skip(1)
            .Select(line => int.Parse(line.Split(',')[1], System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        return new LatentFeatures(matrix, layers, representation);
    }

    private static RepresentationOutcome Detect(LatentFeatures features, bool[] poisoned, int[] labels, DenseMatrix? penultimate, DetectionOptions options, IProgressSink progress)
    {
        var result = FlareDetector.Detect(features, options with { Representation = features.Representation }, progress, labels, penultimate);
        var metrics = DetectionMetrics.Compute(result.Flagged, poisoned);
        return new RepresentationOutcome(features.Representation.ToName(), result.DroppedLayers, result.FlaggedCount,
            metrics.TruePositiveRate, metrics.FalsePositiveRate, metrics.Precision, result.Verdict,
            result.Times.Umap, result.Times.Hdbscan, result.Times.SubspaceSearch);
    }
}
