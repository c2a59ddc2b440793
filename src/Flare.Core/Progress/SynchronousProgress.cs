namespace Flare.Progress;

/// <summary>
/// Turns the running counts of a parallel reader or writer into advances of a progress stage, on
/// the reporting thread, one report at a time (Progress&lt;T&gt; would post to the thread pool and
/// report late). Counts from parallel workers can arrive out of order, so the stage advances only
/// past the largest count seen and never beyond 100 %.
/// </summary>
public sealed class SynchronousProgress(IProgressStage stage) : IProgress<int>
{
    private readonly Lock gate = new();
    private int last;

    public void Report(int value)
    {
        lock (gate)
        {
            if (value <= last) return;
            stage.Advance(value - last);
            last = value;
        }
    }
}
