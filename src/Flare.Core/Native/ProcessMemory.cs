using System.Runtime.InteropServices;

namespace Flare.Native;

/// <summary>
/// Hands memory this process has freed, but still holds, back to the system between stages of
/// work. Flare keeps libtorch's freed activation buffers on the malloc heap so that batches reuse
/// them (TorchRuntime), and glibc then keeps every page the heap ever reached: a 50,000-image
/// training run grew from 1.2 to 3.1 GB over 20 epochs, and in a 10,000-image run malloc_trim gave
/// back 0.6 of 1.1 GB. .NET likewise keeps collected regions committed (2.0 GB committed for
/// 0.4 GB live after a detection).
/// </summary>
public static class ProcessMemory
{
    private static bool trimUnavailable;

    /// <summary>Returns the native heap's free pages to the system (glibc's malloc_trim): cheap enough once per epoch.</summary>
    public static void TrimNativeHeap()
    {
        if (!OperatingSystem.IsLinux() || trimUnavailable) return;
        try
        {
            MallocTrim(0);
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            trimUnavailable = true; // not glibc
        }
    }

    /// <summary>Resident memory of this process in bytes (Linux: /proc/self/statm); 0 where it cannot be read.</summary>
    public static long ResidentBytes()
    {
        if (!OperatingSystem.IsLinux()) return 0;
        try
        {
            var fields = File.ReadAllText("/proc/self/statm").Split(' ');
            return long.Parse(fields[1], System.Globalization.CultureInfo.InvariantCulture) * Environment.SystemPageSize;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return 0;
        }
    }

    /// <summary>Also compacts the managed heap and decommits what it no longer uses: at the end of a stage.</summary>
    public static void Release()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        TrimNativeHeap();
    }

    [DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);
}
