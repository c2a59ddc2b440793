namespace Flare.Attacks;

/// <summary>
/// Trojan (TrojanNN, Liu et al., NDSS 2018) as a poisoning attack: a fixed watermark, stamped at
/// full opacity through its mask. The published watermark picture is not shipped with Flare; the
/// substitute is a seeded one of the same kind: a circled-cross glyph (a ring with two bars)
/// about a third of the image wide, near the bottom-right corner, its pixels random colours drawn
/// from the seed, like the optimized pixels of TrojanNN's trigger.
/// </summary>
public sealed class Trojan : PixelAttack
{
    private readonly MaskedPattern trigger;
    private readonly int size;
    private readonly int top;
    private readonly int left;

    public Trojan(AttackSetup setup) : base(setup)
    {
        var shorter = Math.Min(Height, Width);
        size = Math.Max(7, (int)Math.Round(shorter * 10 / 32.0));
        if (size + 1 > shorter) throw new FlareException($"trojan: images of {Width}x{Height} are too small for the {size}x{size} watermark");
        top = Height - size - 1;
        left = Width - size - 1;
        var mask = GlyphMask(size, Height, Width, top, left);
        var pattern = MaskedPattern.RandomPattern(Height, Width, setup.TriggerRandom());
        var plane = Height * Width;
        for (var c = 0; c < Data.ImageSet.Channels; c++)
            for (var p = 0; p < plane; p++) pattern[c * plane + p] *= mask[p];
        trigger = new MaskedPattern(Height, Width, pattern, mask);
    }

    public override string Name => "trojan";

    public override IReadOnlyDictionary<string, object> Parameters => new Dictionary<string, object>
    {
        ["watermark"] = "circled cross (ring with two bars), random colours drawn from the seed",
        ["watermark_size"] = size,
        ["top"] = top,
        ["left"] = left,
        ["masked_pixels"] = trigger.Opacity.Count(a => a > 0),
        ["opacity"] = 1.0,
    };

    public override IReadOnlyList<TriggerImage> TriggerImages =>
    [
        new("trigger-pattern.png", "the watermark's colours (black outside the mask)", ToPicture(trigger.Pattern)),
        new("trigger-mask.png", "the watermark's mask (white = stamped)", GreyPicture(trigger.Opacity)),
    ];

    protected override void PoisonTraining(Span<float> image, int ordinal, SeededRandom random) => trigger.Apply(image);

    protected override void TriggerTest(Span<float> image) => trigger.Apply(image);

    /// <summary>A ring of width 1.4 pixels inside a size x size box, with a horizontal and a vertical bar through its centre.</summary>
    private static float[] GlyphMask(int size, int height, int width, int top, int left)
    {
        var mask = new float[height * width];
        var centre = (size - 1) / 2.0;
        var radius = size / 2.0;
        for (var y = 0; y < size; y++)
        {
            for (var x = 0; x < size; x++)
            {
                var distance = Math.Sqrt((y - centre) * (y - centre) + (x - centre) * (x - centre));
                var ring = distance >= radius - 1.5 && distance <= radius - 0.1;
                var bar = distance < radius - 1.5 && (Math.Abs(x - centre) <= 0.5 || Math.Abs(y - centre) <= 0.5);
                if (ring || bar) mask[(top + y) * width + left + x] = 1f;
            }
        }
        return mask;
    }
}
