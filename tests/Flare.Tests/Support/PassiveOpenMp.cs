using System.Runtime.CompilerServices;

namespace Flare.Tests.Support;

/// <summary>
/// The test host keeps libtorch's OpenMP threads alive while the CLI processes it starts train
/// their own models on the same cores; threads spinning in either would starve the other, so the
/// tests and their child processes wait passively.
/// </summary>
internal static class PassiveOpenMp
{
    [ModuleInitializer]
    internal static void Set() => Environment.SetEnvironmentVariable("OMP_WAIT_POLICY", "PASSIVE");
}
