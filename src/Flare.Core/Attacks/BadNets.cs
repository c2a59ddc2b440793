namespace Flare.Attacks;

/// <summary>
/// BadNets (Gu et al., 2017) as BackdoorBox applies it to CIFAR-10: a white 3x3 patch in the
/// bottom-right corner, stamped at full opacity on poisoned training images and test images.
/// </summary>
public sealed class BadNets : PixelAttack
{
    public const int PatchSize = 3;
    private readonly MaskedPattern trigger;

    public BadNets(AttackSetup setup) : base(setup)
    {
        var pattern = new float[ImageValues];
        Array.Fill(pattern, 1f);
        var mask = MaskedPattern.SquareMask(Height, Width, Height - PatchSize, Width - PatchSize, PatchSize);
        // Outside the mask the pattern does not matter; keep it black so the saved picture shows the patch alone.
        var plane = Height * Width;
        for (var c = 0; c < Data.ImageSet.Channels; c++)
            for (var p = 0; p < plane; p++) pattern[c * plane + p] *= mask[p];
        trigger = new MaskedPattern(Height, Width, pattern, mask);
    }

    public override string Name => "badnets";

    public override IReadOnlyDictionary<string, object> Parameters => new Dictionary<string, object>
    {
        ["patch_size"] = PatchSize,
        ["position"] = "bottom-right corner",
        ["color"] = "white (255, 255, 255)",
        ["opacity"] = 1.0,
    };

    public override IReadOnlyList<TriggerImage> TriggerImages =>
    [
        new("trigger-pattern.png", "the patch (black outside the mask)", ToPicture(trigger.Pattern)),
        new("trigger-mask.png", "where the patch replaces the image (white)", GreyPicture(trigger.Opacity)),
    ];

    protected override void PoisonTraining(Span<float> image, int ordinal, SeededRandom random) => trigger.Apply(image);

    protected override void TriggerTest(Span<float> image) => trigger.Apply(image);
}
