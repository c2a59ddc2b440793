namespace Flare.Native;

/// <summary>
/// Bounds the native heap over a loop of batches. TorchRuntime keeps freed activation buffers on the
/// malloc heap so that the next batch reuses them, but glibc does not always find room among them:
/// a 64x64 feature extraction whose batches need about a gigabyte grew the heap by hundreds of
/// megabytes a batch, to 10-13 GB resident, and a 50,000-image extraction at 32x32 grew by tens of
/// megabytes a batch. The bound is measured from what one batch needs, the growth of the first batch,
/// not from all the process holds (images, features, a trained model): four times that let a
/// 50,000-image extraction reach 2.4-2.6 GB before its first trim. Trimming after every batch makes
/// the next batches page-fault their activations anew; with <see cref="BatchesOfHeadroom"/> batches'
/// worth of room it trims seldom (docs/benchmarks.md, "Memory at 64x64" and "Memory of the
/// 50,000-image purify").
/// </summary>
public sealed class HeapGrowthGuard
{
    /// <summary>How many first batches' worth of growth the heap may add before it is trimmed.</summary>
    public const int BatchesOfHeadroom = 2;

    /// <summary>The least room, for loops whose first batch adds little (it reuses blocks freed before).</summary>
    public const long MinimumHeadroomBytes = 256L << 20;

    private readonly long beforeFirstBatch = ProcessMemory.ResidentBytes();
    private long trimAbove;

    /// <summary>Call once per batch, at the same point of every batch.</summary>
    public void AfterBatch()
    {
        var resident = ProcessMemory.ResidentBytes();
        if (resident <= 0 || beforeFirstBatch <= 0) return;
        if (trimAbove == 0)
        {
            trimAbove = resident + Math.Max(MinimumHeadroomBytes, BatchesOfHeadroom * (resident - beforeFirstBatch));
            return;
        }
        if (resident > trimAbove) ProcessMemory.TrimNativeHeap();
    }
}
