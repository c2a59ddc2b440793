using Flare.Models;

namespace Flare.Training;

/// <summary>The training recipe: SGD with momentum, weight decay and a learning-rate schedule (cosine unless asked).</summary>
public sealed record TrainingOptions
{
    public string Model { get; init; } = ModelRegistry.DefaultName;

    /// <summary>Null: the architecture's default width.</summary>
    public int? Width { get; init; }

    public int Epochs { get; init; } = 30;

    /// <summary>
    /// The epochs of the detection model purify and compare train (with flip augmentation only). Shorter
    /// schedules were measured and lose detections (docs/benchmarks.md, "Train only as long as detection needs").
    /// </summary>
    public const int DetectionModelEpochs = 20;

    /// <summary>The detection model's initial learning rate.</summary>
    public const double DetectionModelLearningRate = 0.1;

    /// <summary>The detection model's recipe (purify, compare, the benchmarks): the architecture's default width, flip only.</summary>
    public static TrainingOptions ForDetection(ulong seed = 0) =>
        new() { Epochs = DetectionModelEpochs, LearningRate = DetectionModelLearningRate, Augmentation = Augmentation.Flip, Seed = seed };
    public int BatchSize { get; init; } = 128;
    public double LearningRate { get; init; } = 0.1;

    /// <summary>How <see cref="LearningRate"/> moves over the run: cosine to 0 (the recipe), or one cycle peaking at it.</summary>
    public LearningRateSchedule Schedule { get; init; } = LearningRateSchedule.Cosine;
    public double Momentum { get; init; } = 0.9;
    public double WeightDecay { get; init; } = 5e-4;
    public Augmentation Augmentation { get; init; } = Augmentation.CropFlip;
    public ulong Seed { get; init; }

    /// <summary>
    /// Keep activations and convolution weights channels-last while training where oneDNN runs the
    /// convolutions: the same arithmetic in another memory order, faster on CPUs (docs/benchmarks.md).
    /// Not part of the recipe: results agree with channels-first to float rounding, not byte for byte,
    /// so the trained model is another run of the recipe (docs/benchmarks.md, "Channels-last and the results grid").
    /// </summary>
    public bool ChannelsLast { get; init; } = true;

    /// <summary>
    /// Multiply in bfloat16 inside the convolutions while training, where the CPU has bfloat16
    /// dot products (ConvolutionBackend.BFloat16ConvolutionsFast); float32 everywhere else. Like the
    /// layout, not part of the recipe: another rounding of the same training run. Speed and what it
    /// changes in the detections: docs/benchmarks.md, "bfloat16 convolutions".
    /// </summary>
    public bool BFloat16Convolutions { get; init; } = true;

    public void Validate()
    {
        if (Epochs <= 0) throw new FlareException($"--epochs must be positive, got {Epochs}");
        if (BatchSize <= 0) throw new FlareException($"--batch must be positive, got {BatchSize}");
        if (!(LearningRate > 0) || double.IsInfinity(LearningRate)) throw new FlareException($"--lr must be a positive number, got {LearningRate}");
        if (Width is <= 0) throw new FlareException($"--width must be positive, got {Width}");
        ModelRegistry.Get(Model);
    }
}
