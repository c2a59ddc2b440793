using Flare.Data;

namespace Flare.Attacks;

/// <summary>
/// A patch trigger of Flare's own design, held out from detection development: a 5x5 checker of
/// two colours, rotated by a seeded angle (15-75 degrees, so never axis-aligned) and stamped at
/// full opacity at a random position that differs per image. The colours are complementary: each
/// channel of the first is drawn from [0, 0.25] or [0.75, 1] and the second is 1 minus it, so the
/// cells differ by at least half the range in every channel. Training images take their position
/// from their own random stream; a test image takes it from a hash of its 8-bit pixels and the
/// seed, so the test-time trigger is random across images yet the same for the same image.
/// </summary>
public sealed class RotatedPatch : PixelAttack
{
    public const int Cells = 5;
    public const double MinAngleDegrees = 15;
    public const double MaxAngleDegrees = 75;
    private const ulong TestPositionStream = 0x7E57;

    private readonly ulong seed;
    private readonly float[][] colors;
    private readonly float[] pattern;
    private readonly float[] footprint;

    public RotatedPatch(AttackSetup setup) : base(setup)
    {
        seed = setup.Seed;
        var random = setup.TriggerRandom();
        AngleDegrees = MinAngleDegrees + (MaxAngleDegrees - MinAngleDegrees) * random.NextDouble();
        var first = new float[ImageSet.Channels];
        for (var c = 0; c < ImageSet.Channels; c++)
            first[c] = (float)(0.25 * random.NextDouble() + (random.NextInt(2) == 0 ? 0 : 0.75));
        colors = [first, first.Select(v => 1 - v).ToArray()];

        var angle = AngleDegrees * Math.PI / 180;
        var (cos, sin) = (Math.Cos(angle), Math.Sin(angle));
        Size = (int)Math.Ceiling(Cells * (cos + sin));
        if (Size > Math.Min(Height, Width)) throw new FlareException($"rotated-patch: images of {Width}x{Height} are too small for the {Size}x{Size} rotated patch");
        // Nearest-cell sampling: each pixel centre of the Size x Size box is rotated back into the
        // checker's frame; it is part of the patch when it lands inside the 5x5 square.
        pattern = new float[ImageSet.Channels * Size * Size];
        footprint = new float[Size * Size];
        var centre = (Size - 1) / 2.0;
        for (var y = 0; y < Size; y++)
            for (var x = 0; x < Size; x++)
            {
                var (dx, dy) = (x - centre, y - centre);
                var u = cos * dx + sin * dy + Cells / 2.0;
                var v = -sin * dx + cos * dy + Cells / 2.0;
                if (u < 0 || v < 0 || u >= Cells || v >= Cells) continue;
                var color = colors[((int)u + (int)v) & 1];
                footprint[y * Size + x] = 1;
                for (var c = 0; c < ImageSet.Channels; c++) pattern[c * Size * Size + y * Size + x] = color[c];
            }
    }

    public override string Name => "rotated-patch";

    public double AngleDegrees { get; }

    /// <summary>The side of the square box that holds the rotated patch.</summary>
    public int Size { get; }

    public override IReadOnlyDictionary<string, object> Parameters => new Dictionary<string, object>
    {
        ["cells"] = Cells,
        ["angle_degrees"] = Math.Round(AngleDegrees, 6),
        ["box_size"] = Size,
        ["patch_pixels"] = footprint.Count(a => a > 0),
        ["colors"] = colors.Select(color => color.Select(v => (int)ToByte(v)).ToArray()).ToArray(),
        ["position"] = "uniform random per image: a training sample's own stream; a test image: a hash of its pixels and the seed",
        ["opacity"] = 1.0,
    };

    public override IReadOnlyList<TriggerImage> TriggerImages
    {
        get
        {
            var picture = new float[ImageValues];
            var mask = new float[Height * Width];
            Stamp(picture, 0, 0);
            for (var y = 0; y < Size; y++)
                for (var x = 0; x < Size; x++) mask[y * Width + x] = footprint[y * Size + x];
            return
            [
                new("trigger-pattern.png", "the rotated patch at position (0, 0), black elsewhere; each image has it at its own random position", ToPicture(picture)),
                new("trigger-mask.png", "the patch's pixels at position (0, 0) (white = stamped)", GreyPicture(mask)),
            ];
        }
    }

    protected override void PoisonTraining(Span<float> image, int ordinal, SeededRandom random) => StampAtRandom(image, random);

    protected override void TriggerTest(Span<float> image)
    {
        // FNV-1a over the 8-bit values, so the 8-bit and float entry points choose the same position.
        var hash = 14695981039346656037UL;
        foreach (var value in image) hash = (hash ^ ToByte(value)) * 1099511628211UL;
        StampAtRandom(image, SeededRandom.ForStream(seed, (AttackStreams.Trigger + TestPositionStream) ^ hash));
    }

    private void StampAtRandom(Span<float> image, SeededRandom random)
    {
        var top = random.NextInt(Height - Size + 1);
        var left = random.NextInt(Width - Size + 1);
        Stamp(image, top, left);
    }

    private void Stamp(Span<float> image, int top, int left)
    {
        var plane = Height * Width;
        for (var y = 0; y < Size; y++)
            for (var x = 0; x < Size; x++)
            {
                if (footprint[y * Size + x] == 0) continue;
                for (var c = 0; c < ImageSet.Channels; c++)
                    image[c * plane + (top + y) * Width + left + x] = pattern[c * Size * Size + y * Size + x];
            }
    }
}
