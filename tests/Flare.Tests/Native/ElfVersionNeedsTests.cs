using Flare.Native;
using Flare.Tests.Support;

namespace Flare.Tests.Native;

public class ElfVersionNeedsTests
{
    private static string GlueLibrary => Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");

    [Fact]
    public void MarkingARequirementWeakSetsOnlyThatFlagAndIsIdempotent()
    {
        using var temp = new TempFolder();
        var copy = temp.Combine("glue.so");
        File.Copy(GlueLibrary, copy);
        var before = File.ReadAllBytes(copy);

        ElfVersionNeeds.MarkRequirementWeak(copy, "GLIBCXX_3.4.32");
        var after = File.ReadAllBytes(copy);

        Assert.Equal(before.Length, after.Length);
        var changed = Enumerable.Range(0, before.Length).Where(i => before[i] != after[i]).ToArray();
        // Either the copy was already patched (TorchRuntime patches the loaded copy) or exactly one
        // 16-bit flags field gained the weak bit.
        Assert.True(changed.Length <= 1);
        if (changed.Length == 1) Assert.Equal(before[changed[0]] | 0x2, after[changed[0]]);
        Assert.False(ElfVersionNeeds.MarkRequirementWeak(copy, "GLIBCXX_3.4.32"));
    }

    [Fact]
    public void ReadsTheVersionsLibStdCxxDefines()
    {
        var libstdcxx = new[] { "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6" }.First(File.Exists);
        var versions = ElfVersionNeeds.DefinedVersions(libstdcxx);
        Assert.Contains("GLIBCXX_3.4", versions);
        Assert.Contains("CXXABI_1.3", versions);
    }
}
