namespace Flare.Native;

/// <summary>
/// Bounds the native heap over a loop of batches. TorchRuntime keeps freed activation buffers on the
/// malloc heap so that the next batch reuses them, but glibc does not always find room among them:
/// a 64x64 feature extraction whose batches need about a gigabyte grew the heap by hundreds of
/// megabytes a batch, to 10-13 GB resident. Trimming whenever the process holds twice what it held
/// after the first batch made that extraction much slower (the next batches page-fault their
/// activations anew); at <see cref="GrowthFactor"/> times it trims seldom and still bounds the heap
/// (docs/benchmarks.md, "Memory at 64x64").
/// </summary>
public sealed class HeapGrowthGuard
{
    public const double GrowthFactor = 4;

    private long baseline;

    /// <summary>Call once per batch, at the same point of every batch.</summary>
    public void AfterBatch()
    {
        var resident = ProcessMemory.ResidentBytes();
        if (resident <= 0) return;
        if (baseline == 0)
        {
            baseline = resident;
            return;
        }
        if (resident > GrowthFactor * baseline) ProcessMemory.TrimNativeHeap();
    }
}
