namespace Flare.Progress;

/// <summary>
/// Reports on the calling thread, one report at a time (Progress&lt;T&gt; would post to the thread
/// pool and report late and out of order). Counts from parallel workers can still arrive out of
/// order, so callers advance only past the largest count seen.
/// </summary>
public sealed class SynchronousProgress(Action<int> report) : IProgress<int>
{
    private readonly Lock gate = new();

    public void Report(int value)
    {
        lock (gate) report(value);
    }
}
