using Flare.Data;
using Flare.Models;

namespace Flare.Training;

/// <summary>What a checkpoint records beside the weights, so later commands need no repeated flags.</summary>
public sealed record ModelMetadata
{
    public const string CurrentFormat = "flare-checkpoint/1";

    public string Format { get; init; } = CurrentFormat;
    public required string Architecture { get; init; }
    public required int Width { get; init; }
    public required string[] ClassNames { get; init; }

    /// <summary>The input stem (cifar, imagenet); checkpoints written before it was recorded are cifar.</summary>
    public string Stem { get; init; } = InputStem.Cifar.ToName();
    public required int ImageHeight { get; init; }
    public required int ImageWidth { get; init; }
    public required float[] Mean { get; init; }
    public required float[] Std { get; init; }
    public required int Epochs { get; init; }
    public required int BatchSize { get; init; }
    public required double LearningRate { get; init; }

    /// <summary>The learning-rate schedule (<see cref="LearningRateSchedule"/>); cosine in checkpoints written before it was recorded.</summary>
    public string Schedule { get; init; } = LearningRateSchedule.Cosine.ToName();
    public required string Augmentation { get; init; }
    public required ulong Seed { get; init; }
    public required string TrainingDataHash { get; init; }
    public required int TrainingSamples { get; init; }
    public string? TrainingData { get; init; }
    public double? TrainAccuracy { get; init; }
    public double? TestAccuracy { get; init; }

    /// <summary>The precision the convolutions multiplied in while training (float32, bfloat16); float32 in checkpoints written before it was recorded.</summary>
    public string ConvolutionPrecision { get; init; } = "float32";

    /// <summary>How a clean model was made from a backdoored one (flare purify --mitigate, flare unlearn); null for plain training.</summary>
    public string? Mitigation { get; init; }
    public DateTime CreatedUtc { get; init; } = DateTime.UtcNow;

    public Normalization Normalization => new(Mean, Std);

    /// <summary>
    /// Fails with one line naming <paramref name="path"/> when a field cannot be right: an edited
    /// checkpoint must not make eval print a plausible accuracy or detect fail deep inside.
    /// </summary>
    public void Validate(string path)
    {
        string? problem = null;
        if (ModelRegistry.All.All(spec => spec.Name != Architecture)) problem = $"unknown architecture '{Architecture}'";
        else if (Width <= 0) problem = $"width {Width} is not positive";
        else if (ClassNames.Length < 2 || ClassNames.Distinct().Count() != ClassNames.Length || ClassNames.Any(string.IsNullOrWhiteSpace))
            problem = "class_names must list at least 2 distinct, non-empty names";
        else if (ImageHeight <= 0 || ImageWidth <= 0) problem = $"image size {ImageWidth}x{ImageHeight} is not positive";
        else if (Mean.Length != ImageSet.Channels || Std.Length != ImageSet.Channels)
            problem = $"normalization needs {ImageSet.Channels} means and {ImageSet.Channels} standard deviations, found {Mean.Length} and {Std.Length}";
        // Pixels are scaled to [0, 1], so a channel's mean lies in [0, 1] and its standard deviation in (0, 1].
        else if (Mean.Any(m => !(m >= 0 && m <= 1))) problem = $"normalization mean [{string.Join(", ", Mean)}] is outside [0, 1]";
        else if (Std.Any(s => !(s > 0 && s <= 1))) problem = $"normalization std [{string.Join(", ", Std)}] is outside (0, 1]";
        else if (TrainingSamples <= 0) problem = $"training_samples {TrainingSamples} is not positive";
        else if (string.IsNullOrWhiteSpace(TrainingDataHash)) problem = "training_data_hash is empty";
        else if (!Enum.GetValues<LearningRateSchedule>().Any(known => known.ToName() == Schedule)) problem = $"unknown schedule '{Schedule}'";
        if (problem is not null) throw new FlareException($"{path}: corrupt checkpoint metadata: {problem}");
    }

    /// <summary>A new, untrained network of the recorded architecture, width, classes and input stem.</summary>
    public ImageClassifier CreateModel() => ModelRegistry.Get(Architecture).Create(Width, ClassNames.Length, InputStems.Parse(Stem));
}
