using System.Runtime;

namespace Flare.Native;

/// <summary>
/// Holds .NET garbage collection off across a batch of libtorch calls and lets it run between
/// batches. TorchSharp 0.107 hands libtorch the native handle of temporary Scalars (for example
/// the 1 in BatchNorm's num_batches_tracked.add_(1)) without keeping the managed object alive;
/// when a collection runs while libtorch still reads that handle, the finalizer frees it and the
/// call fails with "Unknown scalar type" (seen here, intermittently, a minute into training).
/// Collections that happen only at the start of a batch, on the calling thread, cannot overlap a
/// native call. If the batch allocates more than the budget, the runtime collects anyway.
/// </summary>
public sealed class CollectionPause : IDisposable
{
    private const long Budget = 64L << 20;
    private readonly bool started;

    private CollectionPause(bool started) => this.started = started;

    public static CollectionPause Begin()
    {
        if (GCSettings.LatencyMode == GCLatencyMode.NoGCRegion) return new CollectionPause(false);
        try
        {
            return new CollectionPause(GC.TryStartNoGCRegion(Budget));
        }
        catch (InvalidOperationException)
        {
            return new CollectionPause(false);
        }
    }

    public void Dispose()
    {
        if (started && GCSettings.LatencyMode == GCLatencyMode.NoGCRegion) GC.EndNoGCRegion();
    }
}
