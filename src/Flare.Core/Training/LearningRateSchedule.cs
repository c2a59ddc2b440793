using TorchSharp;

namespace Flare.Training;

/// <summary>
/// How the learning rate moves over a run, stepped once per batch. Cosine, from the initial rate to 0,
/// is the recipe. One cycle (Smith and Topin's super-convergence, with PyTorch's defaults: up from a
/// 25th of the rate to the rate over the first 30 % of the steps, then down by a further 10^4, momentum
/// cycled between 0.95 and 0.85 the other way) is the usual schedule for fitting in fewer epochs;
/// measured for the detection model in docs/benchmarks.md, "One cycle in 12 epochs".
/// </summary>
public enum LearningRateSchedule
{
    Cosine,
    OneCycle,
}

public static class LearningRateSchedules
{
    public static string ToName(this LearningRateSchedule schedule) => schedule switch
    {
        LearningRateSchedule.Cosine => "cosine",
        LearningRateSchedule.OneCycle => "one-cycle",
        _ => throw new ArgumentOutOfRangeException(nameof(schedule)),
    };

    public static LearningRateSchedule Parse(string name) => name.ToLowerInvariant() switch
    {
        "cosine" => LearningRateSchedule.Cosine,
        "one-cycle" => LearningRateSchedule.OneCycle,
        _ => throw new FlareException($"unknown --schedule '{name}' (known: cosine, one-cycle)"),
    };

    /// <summary>The scheduler for <paramref name="totalSteps"/> batches; <paramref name="rate"/> is cosine's start and one cycle's peak.</summary>
    public static torch.optim.lr_scheduler.LRScheduler Create(this LearningRateSchedule schedule, torch.optim.Optimizer optimizer, double rate, int totalSteps) => schedule switch
    {
        LearningRateSchedule.Cosine => torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, totalSteps),
        LearningRateSchedule.OneCycle => torch.optim.lr_scheduler.OneCycleLR(optimizer, rate, totalSteps),
        _ => throw new ArgumentOutOfRangeException(nameof(schedule)),
    };
}
