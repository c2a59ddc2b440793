using Flare.Attacks;
using Flare.Data;

namespace Flare.Tests.Support;

/// <summary>
/// The tiny sets learned attacks are tested on: 120 synthetic images of 16x16 in 3 classes, and a
/// width-4 surrogate trained one epoch (attacks that train none, and pattern attacks, get none).
/// </summary>
public static class TinyLearnedSets
{
    public const int Size = 16;

    public static readonly SurrogateOptions TinySurrogate = new() { Epochs = 1, Width = 4 };

    public static ImageSet Clean() => SyntheticImages.Create(perClass: 40, classes: 3, height: Size, width: Size);

    public static PoisonOptions Options(string attack, string mode, ulong seed) =>
        new() { Attack = attack, Mode = mode, Rate = 0.1, Seed = seed, Surrogate = AttackRegistry.Get(attack).Learned?.TrainsSurrogate == true ? TinySurrogate : null };

    /// <summary>A copy of <paramref name="image"/> with the attack's test-time trigger.</summary>
    public static byte[] Triggered(IBackdoorAttack attack, ReadOnlySpan<byte> image)
    {
        var copy = image.ToArray();
        attack.TriggerTestImage(copy);
        return copy;
    }
}
