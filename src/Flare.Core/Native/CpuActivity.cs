using System.Globalization;

namespace Flare.Native;

/// <summary>CPU time of the whole machine from /proc/stat's first line, in clock ticks summed over all cores.</summary>
public readonly record struct MachineCpuTime(long Busy, long Total);

/// <summary>
/// How many cores other processes keep busy right now: two readings of /proc/stat a short window
/// apart, minus what this process used meanwhile. The load average cannot tell this: it decays
/// over minutes, so a job that has just ended still reads as busy.
/// </summary>
public static class CpuActivity
{
    public static readonly TimeSpan DefaultWindow = TimeSpan.FromMilliseconds(300);

    /// <summary>Cores busy with other processes over the window, in [0, cores]; null when /proc cannot be read.</summary>
    public static double? OtherBusyCores(TimeSpan window)
    {
        try
        {
            var machineBefore = ParseMachine(File.ReadAllText("/proc/stat"));
            var ownBefore = ParseProcess(File.ReadAllText("/proc/self/stat"));
            Thread.Sleep(window);
            var machineAfter = ParseMachine(File.ReadAllText("/proc/stat"));
            var ownAfter = ParseProcess(File.ReadAllText("/proc/self/stat"));
            return OtherBusyCores(machineBefore, machineAfter, ownAfter - ownBefore, Environment.ProcessorCount);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }

    /// <summary>Busy cores between two readings, not counting <paramref name="ownTicks"/> of this process.</summary>
    public static double OtherBusyCores(MachineCpuTime before, MachineCpuTime after, long ownTicks, int cores)
    {
        var total = after.Total - before.Total;
        if (total <= 0) return 0;
        var busy = Math.Max(0, after.Busy - before.Busy - ownTicks);
        return Math.Min(cores, busy * (double)cores / total);
    }

    /// <summary>
    /// The "cpu" line: user nice system idle iowait irq softirq steal [guest guest_nice]. Idle and
    /// iowait are free time; steal is time the hypervisor gave to others, so it counts as busy.
    /// Guest time is already inside user and nice.
    /// </summary>
    public static MachineCpuTime ParseMachine(string procStat)
    {
        var line = procStat.Split('\n').FirstOrDefault(l => l.StartsWith("cpu ", StringComparison.Ordinal))
            ?? throw new FormatException("/proc/stat has no cpu line");
        var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Take(8).Select(ParseTicks).ToArray();
        if (fields.Length < 4) throw new FormatException("/proc/stat's cpu line is too short");
        var idle = fields[3] + (fields.Length > 4 ? fields[4] : 0);
        var total = fields.Sum();
        return new MachineCpuTime(total - idle, total);
    }

    /// <summary>User plus system ticks of a process from its /proc/PID/stat (fields 14 and 15).</summary>
    public static long ParseProcess(string procPidStat)
    {
        // The command name (field 2) is in parentheses and may hold spaces; count fields after it.
        var close = procPidStat.LastIndexOf(')');
        if (close < 0) throw new FormatException("/proc/self/stat has no command name");
        var fields = procPidStat[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length < 13) throw new FormatException("/proc/self/stat is too short");
        return ParseTicks(fields[11]) + ParseTicks(fields[12]);
    }

    private static long ParseTicks(string field) => long.Parse(field, NumberStyles.None, CultureInfo.InvariantCulture);
}
