using System.Globalization;
using Flare.Data;
using Flare.Models;
using Flare.Native;
using Flare.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Flare.Attacks;

/// <summary>
/// The recipe of the surrogate model a learned attack optimises against: Flare's own classifier
/// trained on the clean training set with Flare's trainer (SGD, momentum 0.9, weight decay 5e-4,
/// cosine schedule, batch 128, crop and flip).
/// </summary>
public sealed record SurrogateOptions
{
    public static class Defaults
    {
        /// <summary>SIBA's authors train their surrogate 100 epochs; 10 cost a tenth (about 13 minutes for 50,000 images at width 16 on this machine's 2 cores).</summary>
        public const int Epochs = 10;

        public const string Model = ModelRegistry.DefaultName;
        public const double LearningRate = 0.1;
        public const Augmentation Augmentation = Training.Augmentation.CropFlip;
    }

    /// <summary>Null: the attack's default (<see cref="Defaults.Epochs"/> for a surrogate; IAD trains its classifier <see cref="Iad.Defaults.JointEpochs"/>).</summary>
    public int? Epochs { get; init; }

    /// <summary>Null: the architecture's default width.</summary>
    public int? Width { get; init; }

    public void Validate()
    {
        if (Epochs is <= 0) throw new FlareException($"--surrogate-epochs must be positive, got {Epochs}");
        if (Width is <= 0) throw new FlareException($"surrogate width must be positive, got {Width}");
    }

    public TrainingOptions ToTrainingOptions(ulong seed) => new()
    {
        Model = Defaults.Model,
        Width = Width,
        Epochs = Epochs ?? Defaults.Epochs,
        LearningRate = Defaults.LearningRate,
        Augmentation = Defaults.Augmentation,
        Seed = seed,
    };
}

/// <summary>A surrogate trained on the clean set, frozen, that maps [0, 1] pixel batches to logits.</summary>
internal sealed class Surrogate : IDisposable
{
    private readonly Tensor mean;
    private readonly Tensor std;

    private Surrogate(ImageClassifier model, Normalization normalization, string recipe)
    {
        Model = model;
        Recipe = recipe;
        mean = torch.tensor(normalization.Mean).view(1, ImageSet.Channels, 1, 1);
        std = torch.tensor(normalization.Std).view(1, ImageSet.Channels, 1, 1);
    }

    public ImageClassifier Model { get; }

    /// <summary>How the surrogate was trained and how well it fits the training set, for attack.json.</summary>
    public string Recipe { get; }

    /// <summary>Trains the surrogate of <paramref name="context"/>; <paramref name="adversary"/> makes it adversarial training.</summary>
    public static Surrogate Train(AttackContext context, string attackName, IBatchPerturbation? adversary = null, string? adversaryDescription = null)
    {
        context.Surrogate.Validate();
        TorchRuntime.EnsureLoaded();
        var options = context.Surrogate.ToTrainingOptions(SeededRandom.ForStream(context.Seed, AttackStreams.Surrogate).NextUInt64());
        var width = options.Width ?? ModelRegistry.Get(options.Model).DefaultWidth;
        var recipe = string.Create(CultureInfo.InvariantCulture,
            $"{options.Model} width {width}, {options.Epochs} epochs on the {context.Clean.Count} clean training images, SGD lr {options.LearningRate} cosine, momentum {options.Momentum}, weight decay {options.WeightDecay}, batch {options.BatchSize}, {options.Augmentation.ToName()}");
        if (adversaryDescription is not null) recipe += $", {adversaryDescription}";
        context.Progress.Message($"{attackName}: training the surrogate ({recipe})");
        var result = Trainer.Train(context.Clean, options, context.Progress, perturbation: adversary);
        var model = result.Model;
        ConvolutionBackend.ConfigureFor(model);
        foreach (var parameter in model.parameters()) parameter.requires_grad = false;
        model.eval();
        recipe += string.Create(CultureInfo.InvariantCulture, $"; training accuracy {result.History[^1].Accuracy:F3} in the last epoch");
        return new Surrogate(model, result.Metadata.Normalization, recipe);
    }

    /// <summary>Logits of an N x 3 x H x W batch of pixels in [0, 1].</summary>
    public Tensor Logits(Tensor pixels) => Model.call((pixels - mean) / std);

    /// <summary>The images at <paramref name="indices"/> as an N x 3 x H x W float tensor in [0, 1].</summary>
    public static Tensor Pixels(ImageSet images, ReadOnlySpan<int> indices)
    {
        var values = new float[indices.Length * images.ImageBytes];
        for (var b = 0; b < indices.Length; b++)
        {
            PixelAttack.ToUnit(images.Image(indices[b]), values.AsSpan(b * images.ImageBytes, images.ImageBytes));
        }
        return BatchTensors.Images(values, indices.Length, images.Height, images.Width);
    }

    public void Dispose()
    {
        Model.Dispose();
        mean.Dispose();
        std.Dispose();
    }
}

/// <summary>
/// Fast adversarial training (Wong et al., ICLR 2020, "Fast is better than free"): each batch is
/// replaced by a one-step FGSM example from a uniform random start in the L-inf ball.
/// </summary>
internal sealed class FastAdversarialTraining(double epsilon, double step) : IBatchPerturbation
{
    public Tensor Perturb(ImageClassifier model, Tensor input, Tensor target, Normalization normalization)
    {
        var mean = torch.tensor(normalization.Mean).view(1, ImageSet.Channels, 1, 1);
        var std = torch.tensor(normalization.Std).view(1, ImageSet.Channels, 1, 1);
        var pixels = input * std + mean;
        var delta = ((torch.rand_like(pixels) * 2 - 1) * epsilon).requires_grad_(true);
        var loss = nn.functional.cross_entropy(model.call(((pixels + delta).clamp(0, 1) - mean) / std), target);
        var gradient = torch.autograd.grad([loss], [delta])[0];
        var adversarial = (pixels + (delta.detach() + step * gradient.sign()).clamp(-epsilon, epsilon)).clamp(0, 1);
        return (adversarial - mean) / std;
    }
}
