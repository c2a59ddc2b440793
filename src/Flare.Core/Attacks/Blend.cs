namespace Flare.Attacks;

/// <summary>
/// Blend (Chen et al., 2017): x' = (1 - alpha) x + alpha t over the whole image, with alpha = 0.2
/// and t a uniform random noise image drawn from the seed (the paper's random-pattern variant;
/// the Hello Kitty picture of other toolkits is not shipped with Flare).
/// </summary>
public sealed class Blend : PixelAttack
{
    public const float Alpha = 0.2f;
    private readonly MaskedPattern trigger;

    public Blend(AttackSetup setup) : base(setup)
    {
        var pattern = MaskedPattern.RandomPattern(Height, Width, setup.TriggerRandom());
        var opacity = new float[Height * Width];
        Array.Fill(opacity, Alpha);
        trigger = new MaskedPattern(Height, Width, pattern, opacity);
    }

    public override string Name => "blend";

    public override IReadOnlyDictionary<string, object> Parameters => new Dictionary<string, object>
    {
        ["alpha"] = (double)Alpha,
        ["pattern"] = "uniform random noise image drawn from the seed",
    };

    public override IReadOnlyList<TriggerImage> TriggerImages =>
    [
        new("trigger-pattern.png", "the noise image blended into poisoned images", ToPicture(trigger.Pattern)),
        new("trigger-mask.png", "the blend opacity alpha (uniform grey)", GreyPicture(trigger.Opacity)),
    ];

    protected override void PoisonTraining(Span<float> image, int ordinal, SeededRandom random) => trigger.Apply(image);

    protected override void TriggerTest(Span<float> image) => trigger.Apply(image);
}
