using System.Diagnostics;

namespace Flare.Training;

/// <summary>The parts of one training step that <see cref="TrainingProfile"/> times separately.</summary>
public enum StepPart
{
    /// <summary>Waiting for the next batch's pixels (augmentation and normalisation on the CPU).</summary>
    Assembly,

    /// <summary>Copying the assembled batch into tensors.</summary>
    Copy,

    /// <summary>The model's forward pass and the loss.</summary>
    Forward,

    /// <summary>Clearing gradients and the backward pass.</summary>
    Backward,

    /// <summary>The SGD step and the learning-rate schedule.</summary>
    Optimizer,

    /// <summary>Accumulating loss and accuracy (and, where the loop reads them per step, the reads).</summary>
    Metrics,

    /// <summary>Freeing the step's tensors and the pause around garbage collection.</summary>
    Release,
}

/// <summary>
/// Wall time per part of the training step, summed over a run (opt-in: <see cref="Trainer.Train"/>
/// takes one when asked to profile). libtorch runs CPU operations synchronously, so the time between
/// two laps is the time those operations took. Figures: docs/benchmarks.md.
/// </summary>
public sealed class TrainingProfile
{
    private readonly long[] ticks = new long[Enum.GetValues<StepPart>().Length];
    private long last;

    public int Steps { get; private set; }
    public long Images { get; private set; }

    /// <summary>Starts a step: later laps measure from here.</summary>
    public void BeginStep() => last = Stopwatch.GetTimestamp();

    /// <summary>Charges the time since the previous lap (or the step's start) to <paramref name="part"/>.</summary>
    public void Lap(StepPart part)
    {
        var now = Stopwatch.GetTimestamp();
        ticks[(int)part] += now - last;
        last = now;
    }

    public void EndStep(int images)
    {
        Steps++;
        Images += images;
    }

    public double Seconds(StepPart part) => ticks[(int)part] / (double)Stopwatch.Frequency;

    public double TotalSeconds => ticks.Sum() / (double)Stopwatch.Frequency;

    /// <summary>Milliseconds per step for each part, in step order.</summary>
    public IReadOnlyList<(StepPart Part, double MillisecondsPerStep, double Share)> Breakdown() =>
        Enum.GetValues<StepPart>()
            .Select(part => (part, 1000 * Seconds(part) / Math.Max(Steps, 1), Seconds(part) / Math.Max(TotalSeconds, 1e-12)))
            .ToList();
}
