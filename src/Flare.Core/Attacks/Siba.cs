using Flare.IO;
using Flare.Manifold;
using Flare.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace Flare.Attacks;

/// <summary>
/// SIBA (Gao et al., "Backdoor Attack with Sparse and Invisible Trigger", IEEE TIFS 2024), after
/// the authors' optimize_siba.py: one universal perturbation, L-inf at most epsilon (8/255) on k
/// (100) pixels, optimised against a surrogate trained on the clean set. Per batch a signed-gradient
/// step of 0.8 epsilon on the mean of min(CE, 10); the pixel mask is re-selected on the first batch
/// of every fifth epoch as the k pixels with the largest |gradient| summed over channels; the
/// perturbation of the epoch with the lowest mean loss is kept. x' = clamp(x + delta).
/// Objectives: a2o the target, a2a (y + 1) mod K per image, ut the true label's loss maximised
/// (bounded the same way); the images optimised over are those the mode poisons.
/// </summary>
public sealed class Siba : PixelAttack, ILearnedAttack
{
    public const string PerturbationFile = "trigger-perturbation.npy";

    public static class Defaults
    {
        /// <summary>The authors' 8 (of 255).</summary>
        public const int EpsilonLevels = 8;

        public const double Epsilon = EpsilonLevels / 255.0;

        /// <summary>k, the pixels the perturbation may change.</summary>
        public const int Pixels = 100;

        /// <summary>The authors run 200 epochs; with a step of 0.8 epsilon per batch a pixel reaches the bound after two batches, so 20 epochs (four mask selections) keep the cost near 20 passes over the data.</summary>
        public const int Epochs = 20;

        public const int MaskPeriod = 5;
        public const double StepFactor = 0.8;
        public const double LossBound = 10;
        public const int BatchSize = 128;
    }

    /// <summary>Reused (--trigger-from) as it is; the perturbation was optimised for its mode and target.</summary>
    public static readonly LearnedAttackSpec Spec = new(Build, Load, [LabelModeKind.AllToOne, LabelModeKind.AllToAll, LabelModeKind.Untargeted],
        Reuse: (folder, _) => Load(folder), ReuseKeepsMode: true);

    private readonly float[] perturbation;
    private readonly IReadOnlyDictionary<string, object> parameters;

    private Siba(AttackSetup setup, float[] perturbation, IReadOnlyDictionary<string, object> parameters) : base(setup)
    {
        this.perturbation = perturbation;
        this.parameters = parameters;
    }

    public override string Name => "siba";

    /// <summary>delta, 3 x H x W, zero outside the pixel mask.</summary>
    public ReadOnlySpan<float> Perturbation => perturbation;

    public override IReadOnlyDictionary<string, object> Parameters => parameters;

    public IReadOnlyList<AttackArtifact> Artifacts =>
    [
        new(PerturbationFile, "the universal perturbation delta: float32 .npy, 3 rows (channels) x H*W columns (pixels in row-major order), in [0, 1] units, zero outside the pixel mask", path =>
        {
            using var stream = OutputFiles.Create(path);
            Npy.Write(stream, new DenseMatrix(Data.ImageSet.Channels, Height * Width, (float[])perturbation.Clone()));
        }),
    ];

    public override IReadOnlyList<TriggerImage> TriggerImages
    {
        get
        {
            var epsilon = (float)Defaults.Epsilon;
            var shown = perturbation.Select(d => 0.5f + d / (2 * epsilon)).ToArray();
            var plane = Height * Width;
            var mask = new float[plane];
            for (var i = 0; i < perturbation.Length; i++)
                if (perturbation[i] != 0) mask[i % plane] = 1f;
            return
            [
                new("trigger-perturbation.png", "delta scaled to the picture: grey 0, black -epsilon, white +epsilon", ToPicture(shown)),
                new("trigger-mask.png", "the pixels delta changes (white)", GreyPicture(mask)),
            ];
        }
    }

    protected override void PoisonTraining(Span<float> image, int ordinal, SeededRandom random) => AddPerturbation(image);

    protected override void TriggerTest(Span<float> image) => AddPerturbation(image);

    private void AddPerturbation(Span<float> image)
    {
        for (var i = 0; i < image.Length; i++) image[i] = Math.Clamp(image[i] + perturbation[i], 0f, 1f);
    }

    private static ILearnedAttack Build(AttackContext context)
    {
        using var surrogate = Surrogate.Train(context, "siba");
        var images = context.Clean;
        var mode = context.Mode;
        var chosen = Enumerable.Range(0, images.Count).Where(i => mode.Changes(images.Labels[i])).ToArray();
        var plane = images.Height * images.Width;
        var epsilon = (float)Defaults.Epsilon;
        var step = (float)(Defaults.StepFactor * Defaults.Epsilon);
        var delta = new float[Data.ImageSet.Channels * plane];
        var mask = new float[plane];
        float[] best = delta;
        var bestLoss = double.PositiveInfinity;
        var bestEpoch = 0;
        var batchSize = Math.Min(Defaults.BatchSize, chosen.Length);
        var labels = new long[batchSize];

        using var stage = context.Progress.Begin("siba: optimising the trigger", (long)Defaults.Epochs * chosen.Length);
        for (var epoch = 0; epoch < Defaults.Epochs; epoch++)
        {
            var order = SeededRandom.ForStream(context.Seed, AttackStreams.Optimisation + (ulong)epoch).Permutation(chosen.Length);
            double lossSum = 0;
            var batches = 0;
            for (var start = 0; start < chosen.Length; start += batchSize)
            {
                var count = Math.Min(batchSize, chosen.Length - start);
                var batch = order.Skip(start).Take(count).Select(o => chosen[o]).ToArray();
                for (var b = 0; b < count; b++) labels[b] = ObjectiveLabel(mode, images.Labels[batch[b]]);
                float[] gradient;
                // No collection may free a temporary Scalar while libtorch reads it (see CollectionPause).
                using (CollectionPause.Begin())
                using (var scope = NewDisposeScope())
                {
                    var pixels = Surrogate.Pixels(images, batch);
                    var d = torch.tensor(delta, [Data.ImageSet.Channels, images.Height, images.Width]).requires_grad_(true);
                    var losses = nn.functional.cross_entropy(surrogate.Logits((pixels + d).clamp(0, 1)), torch.tensor(labels.AsSpan(0, count).ToArray()), reduction: nn.Reduction.None);
                    var bounded = losses.clamp_max(Defaults.LossBound).mean();
                    var objective = mode.Kind == LabelModeKind.Untargeted ? -bounded : bounded;
                    gradient = torch.autograd.grad([objective], [d])[0].data<float>().ToArray();
                    lossSum += objective.item<float>();
                }
                batches++;
                if (start == 0 && epoch % Defaults.MaskPeriod == 0) mask = TopPixels(gradient, plane, Defaults.Pixels);
                var next = new float[delta.Length];
                for (var i = 0; i < next.Length; i++)
                    next[i] = Math.Clamp((delta[i] - step * MathF.Sign(gradient[i])) * mask[i % plane], -epsilon, epsilon);
                delta = next;
                stage.Advance(count, $"epoch {epoch + 1}/{Defaults.Epochs} loss {lossSum / batches:F3}");
            }
            var epochLoss = lossSum / batches;
            if (epochLoss < bestLoss)
            {
                bestLoss = epochLoss;
                best = delta;
                bestEpoch = epoch + 1;
            }
        }

        var parameters = new Dictionary<string, object>
        {
            ["epsilon"] = Defaults.Epsilon,
            ["epsilon_8_bit"] = Defaults.EpsilonLevels,
            ["pixels"] = Defaults.Pixels,
            ["objective"] = mode.Kind switch
            {
                LabelModeKind.AllToOne => FormattableString.Invariant($"min(CE(f(x + delta), {mode.Target}), {Defaults.LossBound}) over images outside the target class"),
                LabelModeKind.AllToAll => FormattableString.Invariant($"min(CE(f(x + delta), (y + 1) mod K), {Defaults.LossBound}) over all images"),
                _ => FormattableString.Invariant($"-min(CE(f(x + delta), y), {Defaults.LossBound}) over all images"),
            },
            ["epochs"] = Defaults.Epochs,
            ["step"] = FormattableString.Invariant($"{Defaults.StepFactor} x epsilon per batch, signed gradient"),
            ["mask"] = $"top {Defaults.Pixels} pixels by |gradient| summed over channels, on the first batch of every {Defaults.MaskPeriod}th epoch",
            ["batch_size"] = batchSize,
            ["optimised_images"] = chosen.Length,
            ["kept_epoch"] = bestEpoch,
            ["kept_epoch_loss"] = Math.Round(bestLoss, 6),
            ["surrogate"] = surrogate.Recipe,
            ["perturbation_file"] = PerturbationFile,
        };
        return new Siba(context.Setup, best, parameters);
    }

    private static Siba Load(ArtifactFolder folder)
    {
        var path = folder.PathOf(PerturbationFile);
        var setup = folder.Setup;
        var plane = setup.Height * setup.Width;
        DenseMatrix matrix;
        try
        {
            matrix = Npy.ReadMatrix(path);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or FormatException)
        {
            throw new FlareException($"{path}: unreadable perturbation ({e.Message})", e);
        }
        if (matrix.Rows != Data.ImageSet.Channels || matrix.Columns != plane)
            throw new FlareException($"{path}: expected a {Data.ImageSet.Channels} x {plane} perturbation, found {matrix.Rows} x {matrix.Columns}");
        return new Siba(setup, matrix.Values, folder.Parameters);
    }

    /// <summary>The label the perturbation pushes an image of class <paramref name="label"/> toward (untargeted: away from).</summary>
    private static long ObjectiveLabel(LabelMode mode, int label) => mode.Kind switch
    {
        LabelModeKind.AllToOne => mode.Target!.Value,
        LabelModeKind.AllToAll => (label + 1) % mode.Classes,
        _ => label,
    };

    /// <summary>A 0/1 pixel mask of the <paramref name="k"/> pixels with the largest |gradient| summed over channels (ties: the lower index).</summary>
    private static float[] TopPixels(float[] gradient, int plane, int k)
    {
        var weight = new float[plane];
        for (var i = 0; i < gradient.Length; i++) weight[i % plane] += MathF.Abs(gradient[i]);
        var mask = new float[plane];
        foreach (var p in Enumerable.Range(0, plane).OrderByDescending(p => weight[p]).ThenBy(p => p).Take(k)) mask[p] = 1f;
        return mask;
    }
}
