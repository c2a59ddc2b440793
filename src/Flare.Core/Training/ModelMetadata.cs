namespace Flare.Training;

/// <summary>What a checkpoint records beside the weights, so later commands need no repeated flags.</summary>
public sealed record ModelMetadata
{
    public const string CurrentFormat = "flare-checkpoint/1";

    public string Format { get; init; } = CurrentFormat;
    public required string Architecture { get; init; }
    public required int Width { get; init; }
    public required string[] ClassNames { get; init; }
    public required int ImageHeight { get; init; }
    public required int ImageWidth { get; init; }
    public required float[] Mean { get; init; }
    public required float[] Std { get; init; }
    public required int Epochs { get; init; }
    public required int BatchSize { get; init; }
    public required double LearningRate { get; init; }
    public required string Augmentation { get; init; }
    public required ulong Seed { get; init; }
    public required string TrainingDataHash { get; init; }
    public required int TrainingSamples { get; init; }
    public string? TrainingData { get; init; }
    public double? TrainAccuracy { get; init; }
    public double? TestAccuracy { get; init; }
    public DateTime CreatedUtc { get; init; } = DateTime.UtcNow;

    public Normalization Normalization => new(Mean, Std);
}
