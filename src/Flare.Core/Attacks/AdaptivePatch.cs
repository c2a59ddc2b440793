namespace Flare.Attacks;

/// <summary>
/// Adaptive-Patch (Qi et al., "Revisiting the assumption of latent separability for backdoor
/// defenses", ICLR 2023), with the CIFAR-10 setting of the authors' backdoor-toolbox:
/// four patch triggers; each poisoned training sample carries one of them (in turn), at a low
/// training opacity (0.5, 0.2, 0.5, 0.3 for patches 0..3); cover samples carry a patch the same
/// way but keep their true labels (the "conservatism" that shrinks the latent separation); test
/// images carry all four patches at full opacity. The authors' cover rate is twice the poisoning
/// rate (0.003 and 0.006), the default here too. Their patches are pictures Flare does not ship
/// (phoenix, firefox, badnet and trojan squares); the substitutes are four seeded random-colour
/// squares, one in each corner, an eighth of the image wide.
/// </summary>
public sealed class AdaptivePatch : PixelAttack
{
    public static readonly IReadOnlyList<float> TrainingOpacities = [0.5f, 0.2f, 0.5f, 0.3f];
    public const float TestOpacity = 1f;
    public const double CoverToPoisonRatio = 2;

    private readonly MaskedPattern[] patches;
    private readonly MaskedPattern[] trainingPatches;
    private readonly (int Top, int Left)[] corners;
    private readonly int size;

    public AdaptivePatch(AttackSetup setup) : base(setup)
    {
        size = Math.Max(2, (int)Math.Round(Math.Min(Height, Width) / 8.0));
        if (2 * size > Math.Min(Height, Width)) throw new FlareException($"adaptive-patch: images of {Width}x{Height} are too small for four {size}x{size} patches");
        corners = [(0, 0), (0, Width - size), (Height - size, 0), (Height - size, Width - size)];
        patches = new MaskedPattern[corners.Length];
        trainingPatches = new MaskedPattern[corners.Length];
        for (var j = 0; j < corners.Length; j++)
        {
            var mask = MaskedPattern.SquareMask(Height, Width, corners[j].Top, corners[j].Left, size);
            var pattern = MaskedPattern.RandomPattern(Height, Width, setup.TriggerRandom((ulong)j));
            var plane = Height * Width;
            for (var c = 0; c < Data.ImageSet.Channels; c++)
                for (var p = 0; p < plane; p++) pattern[c * plane + p] *= mask[p];
            patches[j] = new MaskedPattern(Height, Width, pattern, mask);
            trainingPatches[j] = patches[j].WithOpacity(TrainingOpacities[j]);
        }
    }

    public override string Name => "adaptive-patch";

    public int PatchCount => patches.Length;

    /// <summary>The patch a poisoned or cover sample of this ordinal carries: the patches take turns.</summary>
    public int PatchOf(int ordinal) => ordinal % patches.Length;

    public override IReadOnlyDictionary<string, object> Parameters => new Dictionary<string, object>
    {
        ["patches"] = patches.Length,
        ["patch_size"] = size,
        ["patch_corners"] = corners.Select(c => new[] { c.Top, c.Left }).ToArray(),
        ["training_opacities"] = TrainingOpacities.Select(a => (double)a).ToArray(),
        ["test_opacity"] = (double)TestOpacity,
        ["training_patches_per_sample"] = 1,
        ["test_patches_per_sample"] = patches.Length,
        ["patch_colors"] = "uniform random, drawn from the seed",
    };

    public override IReadOnlyList<TriggerImage> TriggerImages
    {
        get
        {
            var images = new List<TriggerImage>();
            for (var j = 0; j < patches.Length; j++)
            {
                images.Add(new($"trigger-pattern-{j}.png", $"patch {j} (black outside its mask)", ToPicture(patches[j].Pattern)));
                images.Add(new($"trigger-mask-{j}.png", $"patch {j}'s training opacity {TrainingOpacities[j]} (grey level)", GreyPicture(trainingPatches[j].Opacity)));
            }
            var all = new float[ImageValues];
            foreach (var patch in patches) patch.Apply(all);
            images.Add(new("trigger-test.png", "the test-time trigger: all patches at full opacity on black", ToPicture(all)));
            return images;
        }
    }

    protected override void PoisonTraining(Span<float> image, int ordinal, SeededRandom random) => trainingPatches[PatchOf(ordinal)].Apply(image);

    protected override void CoverTraining(Span<float> image, int ordinal, SeededRandom random) => trainingPatches[PatchOf(ordinal)].Apply(image);

    protected override void TriggerTest(Span<float> image)
    {
        foreach (var patch in patches) patch.Apply(image);
    }
}
