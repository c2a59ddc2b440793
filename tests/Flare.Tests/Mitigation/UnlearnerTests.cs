using Flare.Data;
using Flare.Mitigation;
using Flare.Progress;
using Flare.Tests.Support;
using Flare.Training;
using TorchSharp;

namespace Flare.Tests.Mitigation;

/// <summary>
/// A tiny backdoored model, trained once: three brightness classes, and 12 images of classes 1
/// and 2 with a white corner patch labelled 0. Each test unlearns a fresh copy of it.
/// </summary>
public sealed class BackdooredModelFixture : IDisposable
{
    private readonly TempFolder temp = new();

    public BackdooredModelFixture()
    {
        var clean = SyntheticImages.Create(perClass: 40, classes: 3, height: 32, width: 32, seed: 5);
        var labels = clean.Labels.ToArray();
        var flagged = new bool[clean.Count];
        var poisoned = 0;
        for (var i = 0; i < clean.Count && poisoned < 12; i++)
        {
            if (labels[i] == 0) continue;
            var image = clean.Image(i);
            for (var c = 0; c < ImageSet.Channels; c++)
                for (var y = 0; y < 6; y++)
                    for (var x = 0; x < 6; x++)
                        image[c * 32 * 32 + y * 32 + x] = 255;
            labels[i] = 0;
            flagged[i] = true;
            poisoned++;
        }
        Images = new ImageSet(32, 32, clean.Pixels, labels, clean.ClassNames, clean.SourcePaths, null);
        Flagged = flagged;
        var trained = Trainer.Train(Images, new TrainingOptions { Width = 4, Epochs = 12, BatchSize = 16, LearningRate = 0.05, Augmentation = Augmentation.Flip, Seed = 2 }, SilentProgress.Instance);
        using (trained.Model) Checkpoint.Save(ModelFile, trained.Model, trained.Metadata);
        Metadata = trained.Metadata;
    }

    public ImageSet Images { get; }
    public bool[] Flagged { get; }
    public ModelMetadata Metadata { get; }
    public string ModelFile => temp.Combine("backdoored.ckpt");

    public ImageSet FlaggedSet => Images.Select(Enumerable.Range(0, Images.Count).Where(i => Flagged[i]).ToArray());
    public ImageSet KeptSet => Images.Select(Enumerable.Range(0, Images.Count).Where(i => !Flagged[i]).ToArray());

    public double KeptAccuracy(Flare.Models.ImageClassifier model) =>
        Evaluator.Accuracy(Evaluator.Predict(model, KeptSet, Metadata.Normalization), KeptSet.Labels);

    public void Dispose() => temp.Dispose();
}

[Collection(TorchCollection.Name)]
public class UnlearnerTests(BackdooredModelFixture fixture) : IClassFixture<BackdooredModelFixture>
{
    private static readonly UnlearningOptions Quick = new() { Epochs = 3, BatchSize = 16, Seed = 4 };

    [Fact]
    public void UnlearningRaisesTheFlaggedLossAndKeepsTheKeptAccuracy()
    {
        var (model, _) = Checkpoint.Load(fixture.ModelFile);
        using (model)
        {
            var accuracyBefore = fixture.KeptAccuracy(model);
            Assert.True(accuracyBefore > 0.9, $"the fixture model fits only {accuracyBefore:P0} of the kept samples");

            var result = Unlearner.Run(model, fixture.Metadata.Normalization, fixture.FlaggedSet, fixture.KeptSet, Quick, SilentProgress.Instance);

            Assert.True(result.FlaggedLossAfter > result.FlaggedLossBefore + 1.0,
                $"flagged-set loss went from {result.FlaggedLossBefore:F3} to only {result.FlaggedLossAfter:F3}");
            Assert.True(result.KeptAccuracyAfter >= accuracyBefore - 0.05, $"kept-set accuracy fell from {accuracyBefore:P1} to {result.KeptAccuracyAfter:P1}");
            Assert.Equal(fixture.KeptAccuracy(model), result.KeptAccuracyAfter, 6);
            Assert.Equal(3, result.History.Count);
            Assert.All(result.History, e => Assert.True(e.AscentSteps > 0));
            Assert.StartsWith("clip:", result.GuardReport);
        }
    }

    [Fact]
    public void StopGuardEndsTheAscentOnceTheFlaggedLossPassesTheBoundAndSaysSo()
    {
        var (model, _) = Checkpoint.Load(fixture.ModelFile);
        using (model)
        {
            // Every batch's loss is above this bound, so the guard fires before the first ascent step.
            var result = Unlearner.Run(model, fixture.Metadata.Normalization, fixture.FlaggedSet, fixture.KeptSet,
                Quick with { Guard = CollapseGuard.Stop, LossBound = 1e-9 }, SilentProgress.Instance);

            Assert.All(result.History, e => Assert.Equal(0, e.AscentSteps));
            Assert.Null(result.History[1].FlaggedLoss);
            Assert.StartsWith("stop: ascent stopped in epoch 1", result.GuardReport);
        }
    }

    [Fact]
    public void ClipGuardGivesNoAscentGradientToSamplesAboveTheBound()
    {
        var (model, _) = Checkpoint.Load(fixture.ModelFile);
        using (model)
        {
            var result = Unlearner.Run(model, fixture.Metadata.Normalization, fixture.FlaggedSet, fixture.KeptSet,
                Quick with { LossBound = 1e-9 }, SilentProgress.Instance);

            Assert.All(result.History, e =>
            {
                Assert.Equal(0, e.AscentSteps);
                Assert.Equal(fixture.FlaggedSet.Count, e.ClippedSamples);
            });
            Assert.StartsWith("clip: flagged samples above loss", result.GuardReport);
        }
    }

    [Fact]
    public void CosineScheduleLowersTheLearningRateEachEpochFromTheGivenOne()
    {
        var (model, _) = Checkpoint.Load(fixture.ModelFile);
        using (model)
        {
            var options = Quick with { Epochs = 4, LearningRate = 0.02, Schedule = UnlearningSchedule.Cosine };
            var result = Unlearner.Run(model, fixture.Metadata.Normalization, fixture.FlaggedSet, fixture.KeptSet, options, SilentProgress.Instance);

            // 0.02 x (1 + cos(pi (epoch - 1) / 4)) / 2
            Assert.Equal([0.02, 0.017071, 0.01, 0.002929], result.History.Select(e => Math.Round(e.LearningRate, 6)));
            Assert.Contains("lr 0.02 (cosine)", options.Describe());
            var constant = Quick with { Schedule = UnlearningSchedule.Constant };
            Assert.All(Enumerable.Range(1, constant.Epochs), epoch => Assert.Equal(constant.LearningRate, constant.LearningRateInEpoch(epoch)));
        }
    }

    [Fact]
    public void SameSeedGivesTheSameModel()
    {
        var options = Quick with { Epochs = 1 };
        var outputs = new List<torch.Tensor>();
        using var input = torch.randn(4, 3, 32, 32);
        foreach (var seed in new ulong[] { 4, 4, 5 })
        {
            var (model, _) = Checkpoint.Load(fixture.ModelFile);
            using (model)
            {
                Unlearner.Run(model, fixture.Metadata.Normalization, fixture.FlaggedSet, fixture.KeptSet, options with { Seed = seed }, SilentProgress.Instance);
                using var noGrad = torch.no_grad();
                outputs.Add(model.call(input));
            }
        }
        Assert.True(torch.equal(outputs[0], outputs[1]).all().item<bool>());
        Assert.False(torch.equal(outputs[0], outputs[2]).all().item<bool>());
    }

    [Fact]
    public void NothingFlaggedLeavesTheModelUnchangedWithANote()
    {
        var (model, _) = Checkpoint.Load(fixture.ModelFile);
        using (model)
        {
            var result = Mitigator.Run(MitigationMethod.Unlearn, model, fixture.Metadata, fixture.Images, new bool[fixture.Images.Count],
                new MitigationOptions(), SilentProgress.Instance);

            Assert.Same(model, result.Model);
            Assert.Null(result.Unlearning);
            Assert.Contains("nothing to unlearn", result.Note);
        }
    }

    [Theory]
    [InlineData(MitigationMethod.Unlearn)]
    [InlineData(MitigationMethod.Retrain)]
    public void EverythingFlaggedIsRefusedBeforeAnyStep(MitigationMethod method)
    {
        var (model, _) = Checkpoint.Load(fixture.ModelFile);
        using (model)
        {
            var all = Enumerable.Repeat(true, fixture.Images.Count).ToArray();
            var error = Assert.Throws<FlareException>(() => Mitigator.Run(method, model, fixture.Metadata, fixture.Images, all, new MitigationOptions(), SilentProgress.Instance));

            Assert.Contains($"all {fixture.Images.Count} samples are flagged", error.Message);
        }
    }

    [Fact]
    public void RetrainingTrainsANewModelOnTheKeptSamplesOnly()
    {
        var (model, _) = Checkpoint.Load(fixture.ModelFile);
        using (model)
        {
            var options = new MitigationOptions { Retraining = new MitigationOptions().Retraining with { Epochs = 1, BatchSize = 32 } };
            var result = Mitigator.Run(MitigationMethod.Retrain, model, fixture.Metadata, fixture.Images, fixture.Flagged, options, SilentProgress.Instance);
            using var retrained = result.Model!;

            Assert.NotSame(model, retrained);
            Assert.Equal(fixture.KeptSet.Count, result.Metadata!.TrainingSamples);
            Assert.Equal(fixture.KeptSet.ContentHash(), result.Metadata.TrainingDataHash);
            Assert.Equal("crop-flip", result.Metadata.Augmentation);
            Assert.Equal(fixture.Metadata.Width, result.Metadata.Width);
            Assert.StartsWith("FLARE (P)", result.Metadata.Mitigation);
        }
    }
}
