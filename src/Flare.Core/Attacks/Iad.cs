using System.Globalization;
using Flare.Data;
using Flare.IO;
using Flare.Models;
using Flare.Native;
using Flare.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Flare.Attacks;

/// <summary>
/// IAD, the input-aware dynamic backdoor (Nguyen and Tran, NeurIPS 2020), after the authors' code
/// and BackdoorBox's IAD.py: a pattern generator g and a mask generator m (<see cref="IadGenerator"/>)
/// make each image its own trigger, x' = x + m(x) (g(x) - x), with m(x) pushed towards 0 or 1 by
/// tanh(20 m - 10) / 2 + 1/2. First m is pre-trained alone on the clean set: mask norm
/// mean(relu(m - 0.032)) weighted 100, plus the diversity loss (distance of two images over the
/// distance of their masks). Then g and a classifier train jointly: in every batch 10 % of the
/// images become backdoor samples (labelled by the mode), the next 10 % cross samples (the
/// pattern and mask of another image, true label), the rest stay clean; the loss is cross-entropy
/// plus the diversity loss on the patterns (lambda_div 1). Classifier SGD lr 0.01, generators
/// Adam lr 0.01, betas (0.5, 0.9), constant (the authors' first learning-rate step comes at epoch 100).
/// The frozen generators then write a static set: the poisoned samples carry their own trigger,
/// the cover samples are cross samples with their true labels (as many as poisoned, p_cross =
/// p_attack), and test images get their own trigger. Both generators are saved as artifacts.
/// Substitutes: the classifier is Flare's CIFAR ResNet-18 (the authors': PreAct-ResNet-18) at the
/// surrogate width, with Flare's crop and flip (the authors add a 10-degree random rotation); the
/// schedule is short (<see cref="Defaults"/>).
/// </summary>
public sealed class Iad : PixelAttack, ILearnedAttack
{
    public const string PatternGeneratorFile = "iad-pattern-generator.bin";
    public const string MaskGeneratorFile = "iad-mask-generator.bin";

    public static class Defaults
    {
        /// <summary>
        /// The authors pre-train the mask 25 epochs. A mask epoch runs the generator forward and
        /// backward on two images per sample: on the 1,000-image check a mask step took about four
        /// times a joint step. 2 epochs are 156 steps on the 10,000-image sets of the bench; on
        /// smaller sets the mask stays denser than the authors' (docs/attacks.md).
        /// </summary>
        public const int MaskEpochs = 2;

        /// <summary>
        /// The authors train 600 epochs on the full set, beyond a 2-core CPU. A joint epoch runs the
        /// classifier on every image and the generators on a fifth of them; 20 are the epochs of the
        /// detection model's recipe, and on 1,000 images the joint classifier already sends most
        /// triggered images to the target (attack.json records how many).
        /// </summary>
        public const int JointEpochs = 20;

        /// <summary>p_attack = p_cross: each share of a training batch. The diversity loss pairs every backdoor sample with one cross sample.</summary>
        public const double BatchShare = 0.1;

        /// <summary>Cover (cross) samples per poisoned sample in the static set: p_cross / p_attack.</summary>
        public const double CrossToPoisonRatio = 1;

        public const double DiversityWeight = 1;
        public const double MaskNormWeight = 100;
        public const double MaskDensity = 0.032;
        public const double ThresholdSlope = 20;
        public const double DistanceEpsilon = 1e-7;
        public const double ClassifierLearningRate = 0.01;
        public const double Momentum = 0.9;
        public const double WeightDecay = 5e-4;
        public const double GeneratorLearningRate = 0.01;
        public const double AdamBeta1 = 0.5;
        public const double AdamBeta2 = 0.9;
        public const int BatchSize = 128;

        /// <summary>The clean images whose statistics the frozen generators' BatchNorm layers keep (<see cref="IadGenerator.Calibrate"/>).</summary>
        public const int CalibrationImages = 256;

        public const Augmentation Augmentation = Training.Augmentation.CropFlip;
    }

    /// <summary>Reused (--trigger-from) with the new run's clean set and cross samples; the generators were trained for their mode and target.</summary>
    public static readonly LearnedAttackSpec Spec = new(Build, Load, [LabelModeKind.AllToOne, LabelModeKind.AllToAll, LabelModeKind.Untargeted],
        Reuse: Reuse, ReuseKeepsMode: true);

    /// <summary>Fewer images than this leave a batch without a backdoor sample and a cross sample.</summary>
    private const int MinimumImages = (int)(2 / Defaults.BatchShare);

    private readonly IadGenerator patternGenerator;
    private readonly IadGenerator maskGenerator;
    private readonly IReadOnlyDictionary<string, object> parameters;

    /// <summary>The clean training set, the cover samples (selection order) and the sample shown in the pictures; null for a trigger loaded for test images.</summary>
    private readonly ImageSet? clean;

    private readonly int[]? cover;
    private readonly int exampleIndex;

    // One image at a time through libtorch: grad mode and dispose scopes are per thread, and a
    // collection pause is process-wide, while Poisoner triggers images from parallel threads.
    private readonly Lock gate = new();

    private Iad(AttackSetup setup, IadGenerator patternGenerator, IadGenerator maskGenerator, IReadOnlyDictionary<string, object> parameters,
        ImageSet? clean = null, int[]? cover = null, int exampleIndex = 0) : base(setup)
    {
        this.patternGenerator = patternGenerator;
        this.maskGenerator = maskGenerator;
        this.parameters = parameters;
        this.clean = clean;
        this.cover = cover;
        this.exampleIndex = exampleIndex;
    }

    public override string Name => "iad";

    public override IReadOnlyDictionary<string, object> Parameters => parameters;

    public IReadOnlyList<AttackArtifact> Artifacts =>
    [
        new(PatternGeneratorFile, "IAD pattern generator g: TorchSharp weights of IadGenerator with 3 outputs (pixels in [0, 1] in, pattern in [0, 1] out)", path => Save(patternGenerator, path)),
        new(MaskGeneratorFile, "IAD mask generator m: TorchSharp weights of IadGenerator with 1 output (before the threshold tanh(20 m - 10) / 2 + 1/2)", path => Save(maskGenerator, path)),
    ];

    /// <summary>The first poisoned sample: its trigger, pattern and mask (each image has its own). A loaded trigger holds no training image and shows none.</summary>
    public override IReadOnlyList<TriggerImage> TriggerImages
    {
        get
        {
            if (clean is null) return [];
            var source = Pixels(clean.Image(exampleIndex));
            var (pattern, mask) = Generate(source);
            var triggered = (float[])source.Clone();
            Combine(triggered, pattern, mask);
            return
            [
                new("trigger-example.png", "the first poisoned training sample with its trigger", ToPicture(triggered)),
                new("trigger-pattern.png", "the pattern g(x) the generator made for it", ToPicture(pattern)),
                new("trigger-mask.png", "its mask m(x) (white: the pattern replaces the image)", GreyPicture(mask)),
            ];
        }
    }

    /// <summary>The pattern g(x) (3 x H x W) and thresholded mask m(x) (H x W) of one image in [0, 1].</summary>
    public (float[] Pattern, float[] Mask) Generate(ReadOnlySpan<float> image)
    {
        var values = image.ToArray();
        lock (gate)
        {
            // No collection pause: nothing here makes a temporary Scalar (the generators and Threshold
            // hold theirs), and a pause per image, a no-GC region started thousands of times, grew the
            // process by about 100 KB an image (docs/benchmarks.md, "Memory of the 50,000-image purify").
            using var noGrad = torch.no_grad();
            using var scope = NewDisposeScope();
            var input = torch.tensor(values, [1, ImageSet.Channels, Height, Width]);
            var pattern = patternGenerator.call(input).data<float>().ToArray();
            var mask = Threshold(maskGenerator.call(input)).data<float>().ToArray();
            return (pattern, mask);
        }
    }

    protected override void PoisonTraining(Span<float> image, int ordinal, SeededRandom random) => TriggerTest(image);

    /// <summary>A cross sample: the pattern and mask of another training image, drawn from the sample's own stream.</summary>
    protected override void CoverTraining(Span<float> image, int ordinal, SeededRandom random)
    {
        if (clean is null || cover is null) throw new InvalidOperationException("an IAD trigger loaded from attack.json triggers test images only");
        var own = cover[ordinal];
        var partner = random.NextInt(clean.Count - 1);
        if (partner >= own) partner++;
        var (pattern, mask) = Generate(Pixels(clean.Image(partner)));
        Combine(image, pattern, mask);
    }

    protected override void TriggerTest(Span<float> image)
    {
        var (pattern, mask) = Generate(image);
        Combine(image, pattern, mask);
    }

    /// <summary>x + m (g - x), pixel by pixel.</summary>
    private void Combine(Span<float> image, ReadOnlySpan<float> pattern, ReadOnlySpan<float> mask)
    {
        var plane = Height * Width;
        for (var i = 0; i < image.Length; i++) image[i] += mask[i % plane] * (pattern[i] - image[i]);
    }

    private static Tensor Threshold(Tensor mask) => IadGenerator.Squash(mask.mul(ThresholdScalars.Slope).sub(ThresholdScalars.HalfSlope));

    // Held for the process's lifetime, as IadGenerator's: Generate runs without a collection pause.
    private static class ThresholdScalars
    {
        internal static readonly Scalar Slope = Defaults.ThresholdSlope.ToScalar();
        internal static readonly Scalar HalfSlope = (Defaults.ThresholdSlope / 2).ToScalar();
    }

    /// <summary>
    /// The diversity loss: the mean over pairs of ||x1 - x2|| / (||o1 - o2|| + epsilon) (root mean
    /// squares), small when different images get different outputs (patterns or masks). The
    /// outputs' root is taken of the mean square plus epsilon squared: where two outputs coincide
    /// the plain root's gradient is infinite and times their zero difference gives NaN (the
    /// authors' form; it ended an untargeted joint training in NaN, docs/attacks.md).
    /// </summary>
    private static Tensor Diversity(Tensor images1, Tensor images2, Tensor outputs1, Tensor outputs2)
    {
        var imageDistance = (images1 - images2).square().mean([1, 2, 3]).sqrt();
        var outputDistance = ((outputs1 - outputs2).square().mean([1, 2, 3]) + Defaults.DistanceEpsilon * Defaults.DistanceEpsilon).sqrt();
        return (imageDistance / (outputDistance + Defaults.DistanceEpsilon)).mean();
    }

    private static float[] Pixels(ReadOnlySpan<byte> image)
    {
        var values = new float[image.Length];
        ToUnit(image, values);
        return values;
    }

    /// <summary>The label a backdoor sample is trained to in the joint phase; all-to-one includes target-class images, as the authors do.</summary>
    private static long BackdoorLabel(LabelMode mode, int label, SeededRandom random) =>
        mode.Kind == LabelModeKind.AllToOne ? mode.Target!.Value : mode.PoisonLabel(label, random);

    private static ILearnedAttack Build(AttackContext context)
    {
        context.Surrogate.Validate();
        TorchRuntime.EnsureLoaded();
        var images = context.Clean;
        if (images.Count < MinimumImages) throw new FlareException($"iad: needs at least {MinimumImages} training images, got {images.Count}");
        var mode = context.Mode;
        var progress = context.Progress;
        var jointEpochs = context.Surrogate.Epochs ?? Defaults.JointEpochs;
        var spec = ModelRegistry.Get(SurrogateOptions.Defaults.Model);
        var width = context.Surrogate.Width ?? spec.DefaultWidth;

        torch.manual_seed((long)(context.Setup.TriggerRandom().NextUInt64() & long.MaxValue));
        var patternGenerator = new IadGenerator(ImageSet.Channels);
        var maskGenerator = new IadGenerator(1);
        using var classifier = spec.Create(width, images.ClassNames.Count, InputStems.For(images.Height, images.Width));
        // The generators compute right on either backend; the classifier's width decides.
        if (ConvolutionBackend.ConfigureFor(classifier) is { } note) progress.Message(note);

        var normalization = Normalization.FromImages(images);
        using var mean = torch.tensor(normalization.Mean).view(1, ImageSet.Channels, 1, 1);
        using var std = torch.tensor(normalization.Std).view(1, ImageSet.Channels, 1, 1);
        var assembler = new BatchAssembler(images, Normalization.Identity);
        var batchSize = Math.Min(Defaults.BatchSize, images.Count);
        // Whole batches only, as the authors' loaders (drop_last): every batch has its backdoor and cross shares.
        var steps = images.Count / batchSize;
        var share = Math.Max(1, (int)(Defaults.BatchShare * batchSize));
        var first = new float[batchSize * assembler.ImageFloats];
        var second = new float[batchSize * assembler.ImageFloats];
        var labels = new long[batchSize];
        var partnerLabels = new long[batchSize];

        double maskNorm = 0, maskDiversity = 0;
        using (var optimizer = torch.optim.Adam(maskGenerator.parameters(), Defaults.GeneratorLearningRate, Defaults.AdamBeta1, Defaults.AdamBeta2))
        using (var stage = progress.Begin("iad: pre-training the mask generator", (long)Defaults.MaskEpochs * steps * batchSize))
        {
            maskGenerator.train();
            for (var epoch = 0; epoch < Defaults.MaskEpochs; epoch++)
            {
                var random = SeededRandom.ForStream(context.Seed, AttackStreams.Optimisation + (ulong)epoch);
                var order1 = random.Permutation(images.Count);
                var order2 = random.Permutation(images.Count);
                double normSum = 0, diversitySum = 0;
                for (var step = 0; step < steps; step++)
                {
                    assembler.Fill(order1.AsSpan(step * batchSize, batchSize), first, labels, Defaults.Augmentation, random);
                    assembler.Fill(order2.AsSpan(step * batchSize, batchSize), second, partnerLabels, Defaults.Augmentation, random);
                    // No collection may free a temporary Scalar while libtorch reads it (see CollectionPause).
                    using (CollectionPause.Begin())
                    using (NewDisposeScope())
                    {
                        var x1 = BatchTensors.Images(first, batchSize, images.Height, images.Width);
                        var x2 = BatchTensors.Images(second, batchSize, images.Height, images.Width);
                        var mask1 = Threshold(maskGenerator.call(x1));
                        var mask2 = Threshold(maskGenerator.call(x2));
                        var norm = nn.functional.relu(mask1 - Defaults.MaskDensity).mean();
                        var diversity = Diversity(x1, x2, mask1, mask2);
                        var loss = Defaults.MaskNormWeight * norm + Defaults.DiversityWeight * diversity;
                        optimizer.zero_grad();
                        loss.backward();
                        optimizer.step();
                        normSum += norm.item<float>();
                        diversitySum += diversity.item<float>();
                    }
                    stage.Advance(batchSize, string.Create(CultureInfo.InvariantCulture,
                        $"mask epoch {epoch + 1}/{Defaults.MaskEpochs} norm {normSum / (step + 1):F4} diversity {diversitySum / (step + 1):F3}"));
                }
                (maskNorm, maskDiversity) = (normSum / steps, diversitySum / steps);
            }
        }
        using var calibration = CalibrationBatch(context, assembler, Defaults.MaskEpochs + jointEpochs);
        maskGenerator.Calibrate(calibration);
        Freeze(maskGenerator);

        long backdoorHits = 0, crossHits = 0, cleanHits = 0, cleanSeen = 0;
        double crossEntropy = 0, patternDiversity = 0;
        using (var classifierOptimizer = torch.optim.SGD(classifier.parameters(), Defaults.ClassifierLearningRate, Defaults.Momentum, weight_decay: Defaults.WeightDecay))
        using (var generatorOptimizer = torch.optim.Adam(patternGenerator.parameters(), Defaults.GeneratorLearningRate, Defaults.AdamBeta1, Defaults.AdamBeta2))
        using (var stage = progress.Begin("iad: training the pattern generator and a classifier jointly", (long)jointEpochs * steps * batchSize))
        {
            classifier.train();
            patternGenerator.train();
            for (var epoch = 0; epoch < jointEpochs; epoch++)
            {
                var random = SeededRandom.ForStream(context.Seed, AttackStreams.Optimisation + (ulong)(Defaults.MaskEpochs + epoch));
                var order1 = random.Permutation(images.Count);
                var order2 = random.Permutation(images.Count);
                (backdoorHits, crossHits, cleanHits, cleanSeen, crossEntropy, patternDiversity) = (0, 0, 0, 0, 0, 0);
                for (var step = 0; step < steps; step++)
                {
                    assembler.Fill(order1.AsSpan(step * batchSize, batchSize), first, labels, Defaults.Augmentation, random);
                    assembler.Fill(order2.AsSpan(step * batchSize, batchSize), second, partnerLabels, Defaults.Augmentation, random);
                    for (var b = 0; b < share; b++) labels[b] = BackdoorLabel(mode, (int)labels[b], random);
                    using (CollectionPause.Begin())
                    using (NewDisposeScope())
                    {
                        var x1 = BatchTensors.Images(first, batchSize, images.Height, images.Width);
                        var x2 = BatchTensors.Images(second, batchSize, images.Height, images.Width);
                        var target = BatchTensors.Labels(labels, batchSize);
                        var own = x1.narrow(0, 0, share);
                        var crossed = x1.narrow(0, share, share);
                        var partners = x2.narrow(0, share, share);
                        var pattern1 = patternGenerator.call(own);
                        var pattern2 = patternGenerator.call(partners);
                        Tensor mask1, mask2;
                        using (torch.no_grad())
                        {
                            mask1 = Threshold(maskGenerator.call(own));
                            mask2 = Threshold(maskGenerator.call(partners));
                        }
                        var backdoor = own + mask1 * (pattern1 - own);
                        var cross = crossed + mask2 * (pattern2 - crossed);
                        var input = torch.cat([backdoor, cross, x1.narrow(0, 2 * share, batchSize - 2 * share)], 0);
                        var logits = classifier.call((input - mean) / std);
                        var ce = nn.functional.cross_entropy(logits, target);
                        var diversity = Diversity(own, partners, pattern1, pattern2);
                        var loss = ce + Defaults.DiversityWeight * diversity;
                        classifierOptimizer.zero_grad();
                        generatorOptimizer.zero_grad();
                        loss.backward();
                        classifierOptimizer.step();
                        generatorOptimizer.step();
                        var hits = logits.argmax(1).eq(target);
                        backdoorHits += hits.narrow(0, 0, share).sum().item<long>();
                        crossHits += hits.narrow(0, share, share).sum().item<long>();
                        cleanHits += hits.narrow(0, 2 * share, batchSize - 2 * share).sum().item<long>();
                        crossEntropy += ce.item<float>();
                        patternDiversity += diversity.item<float>();
                    }
                    cleanSeen += batchSize - 2 * share;
                    var seen = (step + 1) * share;
                    stage.Advance(batchSize, string.Create(CultureInfo.InvariantCulture,
                        $"epoch {epoch + 1}/{jointEpochs} loss {crossEntropy / (step + 1):F3} clean {(double)cleanHits / Math.Max(cleanSeen, 1):F3} backdoor {(double)backdoorHits / seen:F3} cross {(double)crossHits / seen:F3}"));
                }
                if (double.IsNaN(crossEntropy)) throw new FlareException($"iad: joint training diverged (loss is NaN) in epoch {epoch + 1}");
            }
        }
        patternGenerator.Calibrate(calibration);
        Freeze(patternGenerator);
        classifier.eval();
        var (success, meanMask) = JointClassifierSuccess(context, classifier, patternGenerator, maskGenerator, assembler, mean, std);
        var shareSeen = (double)steps * share;

        var parameters = new Dictionary<string, object>
        {
            ["generators"] = "encoder-decoder, 3x3 convolutions of 32, 64, 128 channels with BatchNorm and ReLU, 2x2 max-pool, nearest upsampling, tanh / 2 + 1/2; pattern: 3 outputs, mask: 1 output thresholded by tanh(20 m - 10) / 2 + 1/2",
            ["trigger"] = "x' = x + m(x) (g(x) - x), from the image's own content",
            ["cover"] = "cross samples: x + m(x2) (g(x2) - x) with x2 another training image drawn per sample; true label",
            ["mask_epochs"] = Defaults.MaskEpochs,
            ["mask_loss"] = FormattableString.Invariant($"{Defaults.MaskNormWeight} mean(relu(m - {Defaults.MaskDensity})) + {Defaults.DiversityWeight} diversity"),
            ["joint_epochs"] = jointEpochs,
            ["joint_loss"] = FormattableString.Invariant($"CE + {Defaults.DiversityWeight} diversity; per batch {Defaults.BatchShare} backdoor, {Defaults.BatchShare} cross, the rest clean"),
            ["backdoor_label"] = mode.Kind switch
            {
                LabelModeKind.AllToOne => FormattableString.Invariant($"{mode.Target} (all-to-one)"),
                LabelModeKind.AllToAll => "(y + 1) mod K",
                _ => "a random other label, drawn per step",
            },
            ["classifier"] = string.Create(CultureInfo.InvariantCulture,
                $"{spec.Name} width {width}, SGD lr {Defaults.ClassifierLearningRate} constant, momentum {Defaults.Momentum}, weight decay {Defaults.WeightDecay}, batch {batchSize}, {Defaults.Augmentation.ToName()}, on the {images.Count} clean training images"),
            ["generator_optimiser"] = string.Create(CultureInfo.InvariantCulture,
                $"Adam lr {Defaults.GeneratorLearningRate} constant, betas ({Defaults.AdamBeta1}, {Defaults.AdamBeta2})"),
            ["mask_norm_last_epoch"] = Math.Round(maskNorm, 6),
            ["mask_diversity_last_epoch"] = Math.Round(maskDiversity, 6),
            ["joint_clean_accuracy_last_epoch"] = Math.Round((double)cleanHits / Math.Max(cleanSeen, 1), 6),
            ["joint_backdoor_accuracy_last_epoch"] = Math.Round(backdoorHits / shareSeen, 6),
            ["joint_cross_accuracy_last_epoch"] = Math.Round(crossHits / shareSeen, 6),
            ["joint_classifier_attack_success_on_poisoned_samples"] = Math.Round(success, 6),
            ["mean_mask_on_poisoned_samples"] = Math.Round(meanMask, 6),
            ["pattern_generator_file"] = PatternGeneratorFile,
            ["mask_generator_file"] = MaskGeneratorFile,
        };
        return new Iad(context.Setup, patternGenerator, maskGenerator, parameters, images, context.Cover.ToArray(), context.Poisoned[0]);
    }

    /// <summary>
    /// The share of the samples the set poisons that the jointly trained classifier (eval mode)
    /// sends where the mode wants once triggered, and their mean mask value (the share of pixels
    /// the pattern replaces): the trigger is learned when the first is high and the second small.
    /// </summary>
    private static (double Success, double MeanMask) JointClassifierSuccess(AttackContext context, ImageClassifier classifier,
        IadGenerator patternGenerator, IadGenerator maskGenerator, BatchAssembler assembler, Tensor mean, Tensor std)
    {
        var images = context.Clean;
        var poisoned = context.Poisoned.ToArray();
        var buffer = new float[Defaults.BatchSize * assembler.ImageFloats];
        var labels = new long[Defaults.BatchSize];
        long successes = 0;
        double maskSum = 0;
        for (var start = 0; start < poisoned.Length; start += Defaults.BatchSize)
        {
            var count = Math.Min(Defaults.BatchSize, poisoned.Length - start);
            assembler.Fill(poisoned.AsSpan(start, count), buffer, labels, Augmentation.None, null);
            long[] predictions;
            using (CollectionPause.Begin())
            using (torch.no_grad())
            using (NewDisposeScope())
            {
                var x = BatchTensors.Images(buffer, count, images.Height, images.Width);
                var mask = Threshold(maskGenerator.call(x));
                var triggered = x + mask * (patternGenerator.call(x) - x);
                predictions = classifier.call((triggered - mean) / std).argmax(1).data<long>().ToArray();
                maskSum += mask.sum().item<float>();
            }
            for (var b = 0; b < count; b++)
                if (context.Mode.IsSuccess((int)predictions[b], (int)labels[b])) successes++;
        }
        return ((double)successes / poisoned.Length, maskSum / ((double)poisoned.Length * images.Height * images.Width));
    }

    /// <summary>Up to <see cref="Defaults.CalibrationImages"/> clean images in a seeded order, without augmentation, as an N x 3 x H x W batch in [0, 1].</summary>
    private static Tensor CalibrationBatch(AttackContext context, BatchAssembler assembler, int stream)
    {
        var images = context.Clean;
        var count = Math.Min(Defaults.CalibrationImages, images.Count);
        var chosen = SeededRandom.ForStream(context.Seed, AttackStreams.Optimisation + (ulong)stream).Permutation(images.Count).AsSpan(0, count);
        var buffer = new float[count * assembler.ImageFloats];
        assembler.Fill(chosen, buffer, new long[count], Augmentation.None, null);
        return BatchTensors.Images(buffer, count, images.Height, images.Width);
    }

    private static void Freeze(IadGenerator generator)
    {
        foreach (var parameter in generator.parameters()) parameter.requires_grad = false;
        generator.eval();
    }

    private static void Save(IadGenerator generator, string path)
    {
        using var stream = OutputFiles.Create(path);
        using var writer = new BinaryWriter(stream);
        generator.save(writer);
    }

    private static IBackdoorAttack Load(ArtifactFolder folder) => Loaded(folder, null);

    /// <summary>The saved generators with this run's clean set and cover samples, for its poisoned and cross samples (as <see cref="Build"/> returns them).</summary>
    private static ILearnedAttack Reuse(ArtifactFolder folder, AttackContext context) => Loaded(folder, context);

    private static Iad Loaded(ArtifactFolder folder, AttackContext? context)
    {
        TorchRuntime.EnsureLoaded();
        return new Iad(folder.Setup, LoadGenerator(folder.PathOf(PatternGeneratorFile), ImageSet.Channels),
            LoadGenerator(folder.PathOf(MaskGeneratorFile), 1), folder.Parameters, context?.Clean, context?.Cover.ToArray(), context?.Poisoned[0] ?? 0);
    }

    private static IadGenerator LoadGenerator(string path, int outputs)
    {
        var generator = new IadGenerator(outputs);
        try
        {
            using var reader = new BinaryReader(File.OpenRead(path));
            generator.load(reader);
        }
        catch (Exception e) when (e is not FlareException)
        {
            generator.Dispose();
            throw new FlareException($"{path}: unreadable generator weights ({e.Message.Split('\n')[0]})", e);
        }
        Freeze(generator);
        return generator;
    }
}
