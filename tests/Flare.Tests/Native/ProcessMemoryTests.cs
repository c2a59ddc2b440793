using System.Runtime.InteropServices;
using Flare.Native;

namespace Flare.Tests.Native;

public class ProcessMemoryTests
{
    [Fact]
    public void ResidentBytesGrowsWhenNativeMemoryIsTouched()
    {
        if (!OperatingSystem.IsLinux()) return;
        const int size = 64 << 20;
        var before = ProcessMemory.ResidentBytes();
        Assert.True(before > 0);
        var block = Marshal.AllocHGlobal(size);
        try
        {
            for (var offset = 0; offset < size; offset += 4096) Marshal.WriteByte(block, offset, 1);
            // Other threads may free memory meanwhile; most of the 64 MB must show.
            Assert.True(ProcessMemory.ResidentBytes() - before > size / 2, "touching 64 MB did not raise the resident size");
        }
        finally
        {
            Marshal.FreeHGlobal(block);
        }
    }
}
