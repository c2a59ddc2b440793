using System.Runtime.InteropServices;
using TorchSharp;

namespace Flare.Native;

/// <summary>
/// Makes TorchSharp's native library loadable before the first tensor is created.
/// TorchSharp 0.107's glue library (libLibTorchSharp.so) was linked by GCC 13 and requires the
/// symbol version GLIBCXX_3.4.32, which GCC 12's libstdc++ (Debian 12) lacks. The only symbol
/// carrying that version is an iostream start-up marker that is never relocated, so marking the
/// requirement weak in the copy the application loads is enough; newer systems are left alone.
/// </summary>
public static class TorchRuntime
{
    private const string Gcc13Version = "GLIBCXX_3.4.32";
    private const string GlueLibrary = "libLibTorchSharp.so";
    private static readonly Lock Gate = new();
    private static bool loaded;

    /// <summary>
    /// The OpenMP variables this process gave libgomp (wait policy, spin bound), so that a peer
    /// process timed against Flare can run under the same ones. Empty until libtorch is loaded.
    /// </summary>
    public static IReadOnlyDictionary<string, string> OpenMpEnvironment { get; private set; } = new Dictionary<string, string>();

    /// <summary>Loads libtorch, patching the glue library first where this system needs it.</summary>
    public static void EnsureLoaded()
    {
        lock (Gate)
        {
            if (loaded) return;
            if (OperatingSystem.IsLinux())
            {
                KeepLargeAllocationsOnHeap();
                if (!SystemLibStdCxxDefines(Gcc13Version)) PatchGlueLibraries();
            }
            if (OperatingSystem.IsLinux()) ChooseOpenMpWaitPolicy();
            try
            {
                torch.InitializeDeviceType(DeviceType.CPU);
                using var probe = torch.ones(1);
            }
            catch (Exception e) when (e is not FlareException)
            {
                throw new FlareException($"TorchSharp could not load libtorch: {FirstLine(e.Message)}", e);
            }
            loaded = true;
        }
    }

    private const int MallocTrimThreshold = -1;
    private const int MallocMmapThreshold = -3;

    [DllImport("libc", EntryPoint = "mallopt")]
    private static extern int SetMallocOption(int option, int value);

    // libtorch takes activation buffers (megabytes each) from malloc. glibc serves blocks that large
    // with mmap and unmaps them on free, so every batch page-faults its activations anew: measured
    // here, one 16-channel 32x32 convolution over 128 images took 18-47 ms that way and 3 ms with
    // the blocks kept on the heap. Raising both thresholds keeps freed blocks for reuse.
    private static void KeepLargeAllocationsOnHeap()
    {
        SetMallocOption(MallocMmapThreshold, 1 << 30);
        SetMallocOption(MallocTrimThreshold, 1 << 30);
    }

    [DllImport("libc", EntryPoint = "setenv")]
    private static extern int SetNativeEnvironment(string name, string value, int overwrite);

    // libtorch's OpenMP threads spin while they wait for work. When other processes share the
    // cores (tests, a second run), spinning threads steal the time the working ones need: measured
    // here with three processes on 2 cores, ResNet-18 width 16 trained at 27-38 images/s spinning
    // and 144-329 images/s with passive waits. On an idle machine spinning is the faster policy
    // (width 16: 605 against 551 training images/s), so waits are passive only when other
    // processes keep half the cores busy as this one starts (unreadable /proc: passive). The spin
    // is bounded (libgomp's ACTIVE default is 30 billion spins, minutes): after the last tensor
    // operation the idle threads would otherwise keep spinning through UMAP, which then ran 23 %
    // slower at 50,000 samples. 10^8 spins cover the gaps between operations and batches and cost
    // no training speed. libgomp reads these variables when libtorch loads it, from the native
    // environment (which .NET's Environment does not write), so they are set here, first. A policy
    // the user chose wins, also one set only in .NET's environment.
    private static void ChooseOpenMpWaitPolicy()
    {
        var policy = Environment.GetEnvironmentVariable("OMP_WAIT_POLICY");
        var chosen = new Dictionary<string, string>();
        if (policy is null)
        {
            policy = CoresBusy() ? "PASSIVE" : "ACTIVE";
            if (policy == "ACTIVE")
            {
                chosen["GOMP_SPINCOUNT"] = Environment.GetEnvironmentVariable("GOMP_SPINCOUNT") ?? "100000000";
                SetNativeEnvironment("GOMP_SPINCOUNT", chosen["GOMP_SPINCOUNT"], 0);
            }
        }
        chosen["OMP_WAIT_POLICY"] = policy;
        SetNativeEnvironment("OMP_WAIT_POLICY", policy, 0);
        OpenMpEnvironment = chosen;
    }

    private static bool CoresBusy() =>
        CpuActivity.OtherBusyCores(CpuActivity.DefaultWindow) is not { } busy || busy >= 0.5 * Environment.ProcessorCount;

    private static bool SystemLibStdCxxDefines(string version)
    {
        var path = LoadedLibStdCxxPath();
        return path is null || ElfVersionNeeds.DefinedVersions(path).Contains(version);
    }

    // The path the dynamic loader resolves for libstdc++.so.6, read back from this process's maps.
    private static string? LoadedLibStdCxxPath()
    {
        if (!NativeLibrary.TryLoad("libstdc++.so.6", out _)) return null;
        return File.ReadLines("/proc/self/maps")
            .Select(line => line.IndexOf('/') is var slash and >= 0 ? line[slash..] : "")
            .FirstOrDefault(path => Path.GetFileName(path).StartsWith("libstdc++.so", StringComparison.Ordinal));
    }

    private static void PatchGlueLibraries()
    {
        var copies = NativeSearchDirectories()
            .Select(directory => Path.Combine(directory, GlueLibrary))
            .Where(File.Exists)
            .Distinct()
            .ToList();
        if (copies.Count == 0)
            throw new FlareException($"TorchSharp's {GlueLibrary} was not found next to the application; was the TorchSharp-cpu package restored?");
        foreach (var copy in copies)
        {
            try
            {
                ElfVersionNeeds.MarkRequirementWeak(copy, Gcc13Version);
            }
            catch (UnauthorizedAccessException)
            {
                throw new FlareException($"{copy} needs a one-time patch for this system's libstdc++ (it lacks {Gcc13Version}) but is not writable; run Flare once as a user who can write it");
            }
        }
    }

    // The directories the .NET host probes for native libraries (from the application's deps.json),
    // plus the folder TorchSharp falls back to when it copies its natives next to its assembly.
    private static IEnumerable<string> NativeSearchDirectories()
    {
        var probed = (AppContext.GetData("NATIVE_DLL_SEARCH_DIRECTORIES") as string ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
        var torchDirectory = Path.GetDirectoryName(typeof(torch).Assembly.Location) ?? AppContext.BaseDirectory;
        return probed.Concat([
            torchDirectory,
            Path.Combine(torchDirectory, "runtimes", "linux-x64", "native"),
            Path.Combine(torchDirectory, "cpu"),
        ]);
    }

    private static string FirstLine(string text) => text.Split('\n', 2)[0].Trim();
}
