using Flare.Native;
using Flare.Progress;
using Flare.Tests.Support;
using Flare.Training;
using TorchSharp;

namespace Flare.Tests.Training;

[Collection(TorchCollection.Name)]
public class LearningRateScheduleTests
{
    private const int Steps = 100;

    [Fact]
    public void CosineFallsFromTheRateToZero()
    {
        var rates = Trajectory(LearningRateSchedule.Cosine, 0.1);

        Assert.Equal(0.1, rates[0], 9);
        Assert.Equal(0.05, rates[Steps / 2], 9);
        Assert.True(rates.Zip(rates.Skip(1)).All(p => p.Second <= p.First), "cosine must never rise");
        Assert.Equal(0.05 * (1 + Math.Cos(Math.PI * (Steps - 1) / Steps)), rates[^1], 9); // the last batch trains one step short of 0
    }

    [Fact]
    public void OneCycleRisesToTheRateThenFallsFarBelowItsStart()
    {
        var rates = Trajectory(LearningRateSchedule.OneCycle, 0.1);

        Assert.Equal(0.1 / 25, rates[0], 9);
        var peak = Array.IndexOf(rates, rates.Max());
        Assert.InRange(peak, 28, 30); // the first 30 % of the steps
        Assert.Equal(0.1, rates.Max(), 6);
        Assert.True(rates[^1] < 0.1 / 25 / 1000, $"one cycle ends at {rates[^1]}");
    }

    [Theory]
    [InlineData("cosine", LearningRateSchedule.Cosine)]
    [InlineData("One-Cycle", LearningRateSchedule.OneCycle)]
    public void NamesRoundTrip(string name, LearningRateSchedule schedule)
    {
        Assert.Equal(schedule, LearningRateSchedules.Parse(name));
        Assert.Equal(name.ToLowerInvariant(), schedule.ToName());
    }

    [Fact]
    public void AnUnknownNameIsAClearError()
    {
        var error = Assert.Throws<FlareException>(() => LearningRateSchedules.Parse("step"));
        Assert.Contains("--schedule 'step'", error.Message);
    }

    [Fact]
    public void TheTrainerFollowsTheScheduleAndRecordsIt()
    {
        var images = SyntheticImages.Create(perClass: 16, classes: 2, height: 16, width: 16);
        var options = new TrainingOptions { Width = 4, Epochs = 2, BatchSize = 8, Augmentation = Augmentation.Flip, Seed = 5 };

        var cosine = Trainer.Train(images, options, SilentProgress.Instance);
        var oneCycle = Trainer.Train(images, options with { Schedule = LearningRateSchedule.OneCycle }, SilentProgress.Instance);
        var again = Trainer.Train(images, options with { Schedule = LearningRateSchedule.OneCycle }, SilentProgress.Instance);

        Assert.Equal("cosine", cosine.Metadata.Schedule);
        Assert.Equal("one-cycle", oneCycle.Metadata.Schedule);
        Assert.Equal(WeightDigest.Of(oneCycle.Model), WeightDigest.Of(again.Model));
        Assert.NotEqual(WeightDigest.Of(cosine.Model), WeightDigest.Of(oneCycle.Model));
    }

    // The rate each of Steps batches trains with, as the trainer steps the scheduler after each batch.
    private static double[] Trajectory(LearningRateSchedule schedule, double rate)
    {
        TorchRuntime.EnsureLoaded();
        using var weight = torch.zeros(1).requires_grad_();
        using var optimizer = torch.optim.SGD([new TorchSharp.Modules.Parameter(weight)], rate, 0.9);
        var scheduler = schedule.Create(optimizer, rate, Steps);
        var rates = new double[Steps];
        for (var step = 0; step < Steps; step++)
        {
            rates[step] = optimizer.ParamGroups.First().LearningRate;
            optimizer.step();
            scheduler.step();
        }
        return rates;
    }
}
