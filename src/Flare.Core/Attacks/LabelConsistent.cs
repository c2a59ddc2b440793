using Flare.Data;
using Flare.Native;
using Flare.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Flare.Attacks;

/// <summary>
/// Label-consistent backdoor (LC; Turner, Tsipras and Madry, 2019), clean-label and all-to-one only:
/// the poisoned samples are images of the target class, made hard to classify by an untargeted
/// L-inf PGD attack on their true label against an adversarially trained surrogate (BackdoorBox's
/// settings: epsilon 8/255, step 1.5/255, 100 steps, no random start; rounded to 8 bits), then
/// stamped with the trigger: a 3x3 black-and-white checkerboard in each of the four corners at full
/// opacity. Labels stay as they are. Test images get the corner trigger alone.
/// Substitute: the original surrogate is PGD adversarially trained; here fast adversarial training
/// (FGSM from a random start, Wong et al. 2020: epsilon 8/255, step 10/255) keeps the cost near two
/// passes per epoch.
/// </summary>
public sealed class LabelConsistent : PixelAttack, ILearnedAttack
{
    public static class Defaults
    {
        /// <summary>8 of 255 levels.</summary>
        public const int EpsilonLevels = 8;

        public const double Epsilon = EpsilonLevels / 255.0;

        /// <summary>1.5 of 255 levels.</summary>
        public const double StepLevels = 1.5;

        public const double Step = StepLevels / 255.0;
        public const int Steps = 100;

        /// <summary>Wong et al.'s CIFAR-10 setting: epsilon 8/255, step 1.25 epsilon = 10/255.</summary>
        public const double TrainingEpsilon = 8 / 255.0;

        public const double TrainingStep = 10 / 255.0;

        public const int PatchSize = 3;
        public const int BatchSize = 128;
    }

    public static readonly LearnedAttackSpec Spec = new(Build, Load, [LabelModeKind.AllToOne], CleanLabel: true,
        NotReusable: "its poisoned images are per-sample PGD results against a surrogate, not a trigger for other samples (poison with --attack lc to run PGD again)");

    private readonly MaskedPattern corners;
    private readonly byte[]? adversarialImages;
    private readonly IReadOnlyDictionary<string, object> parameters;

    /// <param name="adversarialImages">The PGD images of the poisoned samples in selection order (8-bit, one after another); null for a trigger loaded for test images.</param>
    private LabelConsistent(AttackSetup setup, byte[]? adversarialImages, IReadOnlyDictionary<string, object> parameters) : base(setup)
    {
        corners = CornerCheckerboards(Height, Width);
        this.adversarialImages = adversarialImages;
        this.parameters = parameters;
    }

    public override string Name => "lc";

    public override IReadOnlyDictionary<string, object> Parameters => parameters;

    /// <summary>None: the test-time trigger is the fixed corner pattern; the perturbed images are in OUT/train.</summary>
    public IReadOnlyList<AttackArtifact> Artifacts => [];

    public override IReadOnlyList<TriggerImage> TriggerImages =>
    [
        new("trigger-pattern.png", "the four corner checkerboards (black outside the mask)", ToPicture(corners.Pattern)),
        new("trigger-mask.png", "where the trigger replaces the image (white)", GreyPicture(corners.Opacity)),
    ];

    protected override void PoisonTraining(Span<float> image, int ordinal, SeededRandom random)
    {
        if (adversarialImages is null) throw new InvalidOperationException("a label-consistent attack loaded from attack.json triggers test images only");
        var adversarial = adversarialImages.AsSpan(ordinal * ImageValues, ImageValues);
        ToUnit(adversarial, image);
        corners.Apply(image);
    }

    protected override void TriggerTest(Span<float> image) => corners.Apply(image);

    private static ILearnedAttack Build(AttackContext context)
    {
        using var surrogate = Surrogate.Train(context, "lc", new FastAdversarialTraining(Defaults.TrainingEpsilon, Defaults.TrainingStep),
            "fast adversarial training (FGSM from a uniform random start, epsilon 8/255, step 10/255)");
        var images = context.Clean;
        var poisoned = context.Poisoned.ToArray();
        var adversarial = new byte[poisoned.Length * images.ImageBytes];
        var epsilon = (float)Defaults.Epsilon;
        double misclassified = 0;
        using (var stage = context.Progress.Begin($"lc: PGD ({Defaults.Steps} steps) on target-class images", poisoned.Length))
        {
            for (var start = 0; start < poisoned.Length; start += Defaults.BatchSize)
            {
                var count = Math.Min(Defaults.BatchSize, poisoned.Length - start);
                var batch = poisoned.AsSpan(start, count);
                using var scope = NewDisposeScope();
                var clean = Surrogate.Pixels(images, batch);
                var labels = torch.tensor(batch.ToArray().Select(i => (long)images.Labels[i]).ToArray());
                var perturbed = clean.clone();
                for (var step = 0; step < Defaults.Steps; step++)
                {
                    // Each step's tensors go when it ends; only the next iterate is kept. No collection may
                    // free a temporary Scalar while libtorch reads it (see CollectionPause).
                    using var pause = CollectionPause.Begin();
                    using var stepScope = NewDisposeScope();
                    var x = perturbed.detach().requires_grad_(true);
                    var loss = nn.functional.cross_entropy(surrogate.Logits(x), labels);
                    var gradient = torch.autograd.grad([loss], [x])[0];
                    var moved = x.detach() + Defaults.Step * gradient.sign();
                    perturbed = (clean + (moved - clean).clamp(-epsilon, epsilon)).clamp(0, 1).MoveToOuterDisposeScope();
                }
                using (CollectionPause.Begin())
                using (torch.no_grad())
                {
                    var bytes = (perturbed * 255).round().clamp(0, 255).to_type(ScalarType.Byte);
                    BatchTensors.CopyOut(bytes, adversarial.AsSpan(start * images.ImageBytes, count * images.ImageBytes));
                    misclassified += surrogate.Logits(bytes.to_type(ScalarType.Float32) / 255).argmax(1).ne(labels).sum().item<long>();
                }
                stage.Advance(count);
            }
        }

        var parameters = new Dictionary<string, object>
        {
            ["patch_size"] = Defaults.PatchSize,
            ["position"] = "the four corners",
            ["pattern"] = "checkerboard, white where row + column is even",
            ["opacity"] = 1.0,
            ["pgd"] = FormattableString.Invariant($"untargeted on the true label, L-inf epsilon {Defaults.EpsilonLevels}/255, step {Defaults.StepLevels}/255, {Defaults.Steps} steps, no random start, rounded to 8 bits"),
            ["pgd_misclassified"] = Math.Round(misclassified / Math.Max(poisoned.Length, 1), 6),
            ["surrogate"] = surrogate.Recipe,
        };
        return new LabelConsistent(context.Setup, adversarial, parameters);
    }

    private static IBackdoorAttack Load(ArtifactFolder folder) => new LabelConsistent(folder.Setup, null, folder.Parameters);

    /// <summary>A 3x3 checkerboard (white where row + column is even) in each corner; the same under horizontal and vertical flips.</summary>
    private static MaskedPattern CornerCheckerboards(int height, int width)
    {
        var size = Defaults.PatchSize;
        var plane = height * width;
        var opacity = new float[plane];
        var pattern = new float[ImageSet.Channels * plane];
        foreach (var (top, left) in new[] { (0, 0), (0, width - size), (height - size, 0), (height - size, width - size) })
        {
            var square = MaskedPattern.SquareMask(height, width, top, left, size);
            for (var p = 0; p < plane; p++)
            {
                if (square[p] == 0) continue;
                opacity[p] = 1f;
                var (y, x) = (p / width - top, p % width - left);
                for (var c = 0; c < ImageSet.Channels; c++) pattern[c * plane + p] = (y + x) % 2 == 0 ? 1f : 0f;
            }
        }
        return new MaskedPattern(height, width, pattern, opacity);
    }
}
