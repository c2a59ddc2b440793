using Flare.Data;

namespace Flare.Attacks;

/// <summary>
/// A colour-filter trigger of Flare's own design, held out from detection development: one fixed
/// affine map per channel applied to every pixel, x'_c = clamp(gain_c x_c + offset_c), like a
/// photo app's colour filter (a colour cast plus a contrast change). Each gain is 1 +- 0.1..0.2
/// and each offset +- 0.03..0.08 (sign and size drawn from the seed per channel), so the filter is
/// never close to the identity; it has no spatial structure at all.
/// </summary>
public sealed class Tint : PixelAttack
{
    public const double MinGainChange = 0.1;
    public const double MaxGainChange = 0.2;
    public const double MinOffset = 0.03;
    public const double MaxOffset = 0.08;

    private readonly float[] gains = new float[ImageSet.Channels];
    private readonly float[] offsets = new float[ImageSet.Channels];

    public Tint(AttackSetup setup) : base(setup)
    {
        var random = setup.TriggerRandom();
        for (var c = 0; c < ImageSet.Channels; c++)
        {
            gains[c] = (float)(1 + SignedMagnitude(random, MinGainChange, MaxGainChange));
            offsets[c] = (float)SignedMagnitude(random, MinOffset, MaxOffset);
        }
    }

    public override string Name => "tint";

    /// <summary>The gain of each channel (R, G, B).</summary>
    public IReadOnlyList<float> Gains => gains;

    /// <summary>The offset of each channel (R, G, B), in units of the full range [0, 1].</summary>
    public IReadOnlyList<float> Offsets => offsets;

    public override IReadOnlyDictionary<string, object> Parameters => new Dictionary<string, object>
    {
        ["gains"] = gains.Select(g => (double)g).ToArray(),
        ["offsets"] = offsets.Select(o => (double)o).ToArray(),
        ["map"] = "x'_c = clamp(gain_c x_c + offset_c, 0, 1) on every pixel",
    };

    public override IReadOnlyList<TriggerImage> TriggerImages
    {
        get
        {
            // A grey ramp (black to white, left to right): the top half as is, the bottom half filtered.
            var picture = new float[ImageValues];
            var plane = Height * Width;
            for (var c = 0; c < ImageSet.Channels; c++)
                for (var y = 0; y < Height; y++)
                    for (var x = 0; x < Width; x++)
                    {
                        var grey = Width == 1 ? 0.5f : (float)x / (Width - 1);
                        picture[c * plane + y * Width + x] = y < Height / 2 ? grey : Map(c, grey);
                    }
            return [new("trigger-filter.png", "a grey ramp, top half as is, bottom half through the filter", ToPicture(picture))];
        }
    }

    protected override void PoisonTraining(Span<float> image, int ordinal, SeededRandom random) => Filter(image);

    protected override void TriggerTest(Span<float> image) => Filter(image);

    private void Filter(Span<float> image) => MapValues(image, (c, _, v) => Map(c, v));

    private float Map(int channel, float value) => Math.Clamp(gains[channel] * value + offsets[channel], 0f, 1f);

    /// <summary>A draw of size in [min, max) with a random sign.</summary>
    private static double SignedMagnitude(SeededRandom random, double min, double max)
    {
        var size = min + (max - min) * random.NextDouble();
        return random.NextInt(2) == 0 ? size : -size;
    }
}
