using Flare.Data;
using Flare.Native;
using Flare.Progress;
using Flare.Tests.Support;
using Flare.Training;
using TorchSharp;

namespace Flare.Tests.Training;

[Collection(TorchCollection.Name)]
public class TrainerTests
{
    [Fact]
    public void TrainingOnARealCifarSliceClearlyBeatsChance()
    {
        var train = ImageSource.Load(SharedData.Cifar10Train, limit: 2000);
        var test = ImageSource.Load(SharedData.Cifar10Test, limit: 1000);
        var options = new TrainingOptions { Width = 16, Epochs = 3, Augmentation = Augmentation.Flip, Seed = 1 };

        var result = Trainer.Train(train, options, SilentProgress.Instance);

        using (result.Model)
        {
            var accuracy = Evaluator.Accuracy(Evaluator.Predict(result.Model, test, result.Metadata.Normalization), test.Labels);
            // Chance is 10 %; three epochs on 2,000 images reach about a third.
            Assert.True(accuracy > 0.25, $"test accuracy {accuracy:P1} does not clearly beat chance");
        }
        Assert.Equal(3, result.History.Count);
        Assert.True(result.History[^1].Loss < result.History[0].Loss);
        Assert.Equal(train.ContentHash(), result.Metadata.TrainingDataHash);
    }

    [Fact]
    public void SameSeedGivesTheSameModel()
    {
        var images = SyntheticImages.Create(perClass: 16, classes: 2, height: 32, width: 32);
        var options = new TrainingOptions { Width = 4, Epochs = 1, BatchSize = 8, Augmentation = Augmentation.CropFlip, Seed = 9 };

        var first = Trainer.Train(images, options, SilentProgress.Instance);
        var second = Trainer.Train(images, options, SilentProgress.Instance);
        var other = Trainer.Train(images, options with { Seed = 10 }, SilentProgress.Instance);

        using var input = torch.randn(4, 3, 32, 32);
        using var noGrad = torch.no_grad();
        Assert.True(torch.equal(first.Model.call(input), second.Model.call(input)).all().item<bool>());
        Assert.False(torch.equal(first.Model.call(input), other.Model.call(input)).all().item<bool>());
    }

    [Fact]
    public void ChannelsLastTrainingIsDeterministicAndLearnsWhatChannelsFirstLearns()
    {
        // Width 16: every channel count is a multiple of 16, so oneDNN (and with it channels-last) is used.
        var images = SyntheticImages.Create(perClass: 32, classes: 2, height: 16, width: 16);
        var options = new TrainingOptions { Width = 16, Epochs = 2, BatchSize = 16, Augmentation = Augmentation.Flip, Seed = 3, BFloat16Convolutions = false };

        var first = Trainer.Train(images, options, SilentProgress.Instance);
        var second = Trainer.Train(images, options, SilentProgress.Instance);
        var channelsFirst = Trainer.Train(images, options with { ChannelsLast = false }, SilentProgress.Instance);

        Assert.Equal(WeightDigest.Of(first.Model), WeightDigest.Of(second.Model));
        // Another summation order: equal to float rounding, compounded over 8 SGD steps.
        Assert.Equal(channelsFirst.History[^1].Loss, first.History[^1].Loss, 3);
        Assert.True(first.Model.parameters().All(p => p.is_contiguous()), "trained weights are handed back channels-first");
        // Gradients in the training layout would be accumulated into by a later training (unlearning).
        Assert.True(first.Model.parameters().All(p => p.grad is null), "training leaves no gradients behind");
        using var input = torch.randn(4, 3, 16, 16);
        using var noGrad = torch.no_grad();
        using var difference = (first.Model.call(input) - channelsFirst.Model.call(input)).abs().max();
        Assert.True(difference.item<float>() < 1e-2, $"channels-last and channels-first models differ by {difference.item<float>()}");
    }

    [Fact]
    public void BFloat16ConvolutionsAreDeterministicAndLearnWhatFloat32Learns()
    {
        var images = SyntheticImages.Create(perClass: 32, classes: 2, height: 16, width: 16);
        var options = new TrainingOptions { Width = 16, Epochs = 2, BatchSize = 16, Augmentation = Augmentation.Flip, Seed = 3 };

        var first = Trainer.Train(images, options, SilentProgress.Instance);
        var second = Trainer.Train(images, options, SilentProgress.Instance);
        var float32 = Trainer.Train(images, options with { BFloat16Convolutions = false }, SilentProgress.Instance);

        Assert.Equal(WeightDigest.Of(first.Model), WeightDigest.Of(second.Model));
        // bfloat16 only where this CPU multiplies it natively; the checkpoint says which.
        Assert.Equal(ConvolutionBackend.BFloat16ConvolutionsFast ? "bfloat16" : "float32", first.Metadata.ConvolutionPrecision);
        Assert.Equal("float32", float32.Metadata.ConvolutionPrecision);
        Assert.False(first.Model.BFloat16Convolutions, "the trained model is handed back convolving in float32");
        // Products rounded to 8 significant bits, compounded over 8 SGD steps: close, not equal.
        Assert.InRange(first.History[^1].Loss - float32.History[^1].Loss, -0.05, 0.05);
        // On the images they learned (random inputs are off the data, where two such short trainings may
        // disagree by more than rounding on some CPUs' kernels): the same predictions.
        var bfloat16Predictions = Evaluator.Predict(first.Model, images, first.Metadata.Normalization);
        var float32Predictions = Evaluator.Predict(float32.Model, images, float32.Metadata.Normalization);
        var agreement = bfloat16Predictions.Zip(float32Predictions).Count(p => p.First == p.Second) / (double)images.Count;
        Assert.True(agreement >= 0.9, $"bfloat16 and float32 models agree on {agreement:P0} of the training images");
        Assert.True(Evaluator.Accuracy(bfloat16Predictions, images.Labels) >= 0.9, "the bfloat16 model did not learn the images");
    }
}
