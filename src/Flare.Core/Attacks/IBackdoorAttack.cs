namespace Flare.Attacks;

/// <summary>
/// A backdoor trigger for images of one size. Images are C x H x W, either 8-bit (0..255) or float
/// in [0, 1]; every method changes the image in place. An attack object is immutable: its trigger
/// is fixed when it is created from an <see cref="AttackSetup"/>, so the same setup gives the same
/// trigger, in training data and at test time.
/// </summary>
public interface IBackdoorAttack
{
    /// <summary>The name in <see cref="AttackRegistry"/>.</summary>
    string Name { get; }

    int Height { get; }
    int Width { get; }

    /// <summary>
    /// Triggers the <paramref name="ordinal"/>-th poisoned training sample (0, 1, ... in selection
    /// order); <paramref name="random"/> is the sample's own stream, for attacks that vary the trigger per sample.
    /// </summary>
    void PoisonTrainingImage(Span<byte> image, int ordinal, SeededRandom random);

    /// <summary>
    /// Triggers the <paramref name="ordinal"/>-th cover sample (a triggered or noise-triggered image
    /// that keeps its true label); only for attacks whose <see cref="AttackSpec.UsesCoverSamples"/>.
    /// </summary>
    void CoverTrainingImage(Span<byte> image, int ordinal, SeededRandom random);

    /// <summary>Applies the test-time trigger to an 8-bit image.</summary>
    void TriggerTestImage(Span<byte> image);

    /// <summary>Applies the test-time trigger to a float image with values in [0, 1].</summary>
    void TriggerTestImage(Span<float> image);

    /// <summary>The trigger's parameters as recorded in attack.json (names in snake case; values are numbers, strings or arrays).</summary>
    IReadOnlyDictionary<string, object> Parameters { get; }

    /// <summary>Pictures of the trigger (pattern, mask, ...) saved as PNG beside attack.json.</summary>
    IReadOnlyList<TriggerImage> TriggerImages { get; }
}

/// <summary>What fixes an attack's trigger: the image size and the seed.</summary>
public sealed record AttackSetup(int Height, int Width, ulong Seed)
{
    /// <summary>The stream every trigger is drawn from, apart from the streams of sample selection and labels.</summary>
    public SeededRandom TriggerRandom(ulong purpose = 0) => SeededRandom.ForStream(Seed, AttackStreams.Trigger + purpose);
}

/// <summary>A picture of a trigger: an 8-bit RGB image (C x H x W) and the file name it is saved under.</summary>
public sealed record TriggerImage(string FileName, string Description, byte[] Pixels);

/// <summary>Stream tags for <see cref="SeededRandom.ForStream"/>, one per purpose so random steps never share draws.</summary>
internal static class AttackStreams
{
    public const ulong Selection = 0xA77AC0001UL;
    public const ulong UntargetedLabels = 0xA77AC0002UL;
    public const ulong FileNames = 0xA77AC0003UL;

    /// <summary>The seed of a learned attack's surrogate training.</summary>
    public const ulong Surrogate = 0xA77AC0004UL;

    /// <summary>The order a learned attack's optimisation visits the training images in.</summary>
    public const ulong Optimisation = 0xA77AC0005UL;
    public const ulong Trigger = 0xA77AC1000UL;

    /// <summary>Each training sample's own stream (cover noise, per-sample trigger choices), keyed by its index in the source set.</summary>
    public static ulong Sample(int index) => 0xA77AD00000000UL + (ulong)index;
}
