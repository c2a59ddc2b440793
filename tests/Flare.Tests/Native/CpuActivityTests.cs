using Flare.Native;

namespace Flare.Tests.Native;

public class CpuActivityTests
{
    private const string ProcStat =
        "cpu  1000 20 300 5000 80 0 10 40 7 0\n" +
        "cpu0 500 10 150 2500 40 0 5 20 7 0\n" +
        "intr 12345 0 0\n";

    [Fact]
    public void MachineTimeCountsIdleAndIowaitAsFreeAndStealAsBusy()
    {
        var time = CpuActivity.ParseMachine(ProcStat);
        // The first eight fields only: guest time is already part of user time.
        Assert.Equal(1000 + 20 + 300 + 5000 + 80 + 0 + 10 + 40, time.Total);
        Assert.Equal(1000 + 20 + 300 + 10 + 40, time.Busy);
    }

    [Fact]
    public void ProcessTimeIsUserPlusSystemEvenWhenTheCommandNameHasSpacesAndParentheses()
    {
        var stat = "4242 (dot net) host) S 1 4242 4242 0 -1 4194560 900 0 3 0 1234 567 0 0 20 0 9 0 100 0 0";
        Assert.Equal(1234 + 567, CpuActivity.ParseProcess(stat));
    }

    [Theory]
    [InlineData(60, 60, 0, 2, 2.0)]   // both cores busy with others over the window
    [InlineData(60, 60, 30, 2, 1.0)]  // half of that busy time was this process
    [InlineData(60, 15, 0, 2, 0.5)]
    [InlineData(60, 10, 25, 2, 0.0)]  // never negative
    [InlineData(0, 0, 0, 2, 0.0)]     // no time passed
    public void OtherBusyCoresSubtractsThisProcess(long totalTicks, long busyTicks, long ownTicks, int cores, double expected)
    {
        var before = new MachineCpuTime(Busy: 1_000, Total: 10_000);
        var after = new MachineCpuTime(before.Busy + busyTicks, before.Total + totalTicks);
        Assert.Equal(expected, CpuActivity.OtherBusyCores(before, after, ownTicks, cores), 6);
    }

    [Fact]
    public void MalformedInputIsAFormatError()
    {
        Assert.Throws<FormatException>(() => CpuActivity.ParseMachine("intr 1 2 3\n"));
        Assert.Throws<FormatException>(() => CpuActivity.ParseMachine("cpu  1 x 3 4\n"));
        Assert.Throws<FormatException>(() => CpuActivity.ParseProcess("4242 (flare S 1"));
    }

    [Fact]
    public void LiveReadingLiesBetweenNoCoreAndAllCores()
    {
        if (!OperatingSystem.IsLinux()) return;
        var busy = CpuActivity.OtherBusyCores(TimeSpan.FromMilliseconds(100));
        Assert.NotNull(busy);
        Assert.InRange(busy.Value, 0, Environment.ProcessorCount);
    }
}
