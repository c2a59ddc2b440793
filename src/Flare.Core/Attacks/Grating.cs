namespace Flare.Attacks;

/// <summary>
/// A frequency-domain trigger of Flare's own design, held out from detection development: a
/// low-amplitude sinusoidal grating added to every channel of the whole image and clamped,
/// x' = clamp(x + a sin(2 pi (kx x / W + ky y / H) + phase)), a = 6/255. The wave vector (kx, ky)
/// is whole cycles per image, so the grating tiles the image and sits in a single pair of DFT
/// bins; it is drawn from the seed with a length between a tenth and a quarter of the shorter
/// side (3.2-8 cycles on 32x32: periods of 4-10 pixels, any orientation), and the phase too.
/// </summary>
public sealed class Grating : PixelAttack
{
    public const float Amplitude = 6f / 255f;
    public const double MinCyclesPerSide = 0.1;
    public const double MaxCyclesPerSide = 0.25;

    private readonly float[] wave;

    public Grating(AttackSetup setup) : base(setup)
    {
        var shorter = Math.Min(Height, Width);
        var low = MinCyclesPerSide * shorter;
        var high = MaxCyclesPerSide * shorter;
        var reach = (int)Math.Floor(high);
        var choices = new List<(int X, int Y)>();
        // Half the plane (ky > 0, or ky = 0 and kx > 0): k and -k are the same grating with another phase.
        for (var ky = 0; ky <= reach; ky++)
            for (var kx = -reach; kx <= reach; kx++)
            {
                if (ky == 0 && kx <= 0) continue;
                var length = Math.Sqrt(kx * kx + ky * ky);
                if (length >= low && length <= high) choices.Add((kx, ky));
            }
        if (choices.Count == 0) throw new FlareException($"grating: images of {Width}x{Height} are too small for a grating");
        var random = setup.TriggerRandom();
        (CyclesX, CyclesY) = choices[random.NextInt(choices.Count)];
        Phase = random.NextDouble() * 2 * Math.PI;

        wave = new float[Height * Width];
        for (var y = 0; y < Height; y++)
            for (var x = 0; x < Width; x++)
                wave[y * Width + x] = (float)(Amplitude * Math.Sin(2 * Math.PI * ((double)CyclesX * x / Width + (double)CyclesY * y / Height) + Phase));
    }

    public override string Name => "grating";

    /// <summary>Whole cycles across the image's width (may be negative: the orientation).</summary>
    public int CyclesX { get; }

    /// <summary>Whole cycles down the image's height (0 or more).</summary>
    public int CyclesY { get; }

    public double Phase { get; }

    /// <summary>The grating's direction: 0 degrees varies along x only, 90 along y only.</summary>
    public double OrientationDegrees => Math.Atan2((double)CyclesY / Height, (double)CyclesX / Width) * 180 / Math.PI;

    /// <summary>Pixels per cycle along the wave vector.</summary>
    public double PeriodPixels => 1 / Math.Sqrt(Math.Pow((double)CyclesX / Width, 2) + Math.Pow((double)CyclesY / Height, 2));

    public override IReadOnlyDictionary<string, object> Parameters => new Dictionary<string, object>
    {
        ["amplitude"] = (double)Amplitude,
        ["cycles_x"] = CyclesX,
        ["cycles_y"] = CyclesY,
        ["orientation_degrees"] = Math.Round(OrientationDegrees, 6),
        ["period_pixels"] = Math.Round(PeriodPixels, 6),
        ["phase"] = Math.Round(Phase, 9),
        ["channels"] = "the same grating added to every channel, result clamped to [0, 1]",
    };

    public override IReadOnlyList<TriggerImage> TriggerImages
    {
        get
        {
            // The real grating is too faint to see (+-6 of 255); the first picture is it on mid grey,
            // the second the same wave at full contrast.
            var grey = new float[ImageValues];
            Array.Fill(grey, 0.5f);
            Add(grey);
            var visible = new float[Height * Width];
            for (var p = 0; p < visible.Length; p++) visible[p] = 0.5f + 0.5f * wave[p] / Amplitude;
            return
            [
                new("trigger-pattern.png", "the grating added to mid grey (amplitude 6/255)", ToPicture(grey)),
                new("trigger-wave.png", "the grating's wave at full contrast (black -a, white +a)", GreyPicture(visible)),
            ];
        }
    }

    protected override void PoisonTraining(Span<float> image, int ordinal, SeededRandom random) => Add(image);

    protected override void TriggerTest(Span<float> image) => Add(image);

    private void Add(Span<float> image) => MapValues(image, (_, p, v) => Math.Clamp(v + wave[p], 0f, 1f));
}
