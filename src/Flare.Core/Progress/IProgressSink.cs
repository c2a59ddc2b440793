namespace Flare.Progress;

/// <summary>
/// Where long-running library work reports progress. The CLI draws progress bars from it; library
/// callers that want silence pass <see cref="SilentProgress.Instance"/>.
/// </summary>
public interface IProgressSink
{
    /// <summary>Starts a stage of <paramref name="total"/> units (images, epochs, ...).</summary>
    IProgressStage Begin(string name, long total);

    /// <summary>A one-line message for the user (a warning or a finding), shown beside the bars.</summary>
    void Message(string text);
}

public interface IProgressStage : IDisposable
{
    /// <summary>Moves the stage forward; <paramref name="status"/> replaces its status text (loss, speed, ...).</summary>
    void Advance(long amount, string? status = null);
}

public sealed class SilentProgress : IProgressSink, IProgressStage
{
    public static readonly SilentProgress Instance = new();

    public IProgressStage Begin(string name, long total) => this;

    public void Message(string text) { }

    public void Advance(long amount, string? status = null) { }

    public void Dispose() { }
}
