namespace Flare.IO;

/// <summary>
/// The one door output bytes go through. Writers create, write and copy files here, and staging
/// folders and temporary files register here while they are in flight, which gives three
/// guarantees one place: a test can make a write fail as a full disk would
/// (<see cref="FailureVariable"/>), an interrupted run can remove everything it staged
/// (<see cref="Abandon"/>), and once abandoned no further write starts.
/// </summary>
public static class OutputFiles
{
    /// <summary>
    /// Test hook for a whole process (a CLI run): "N" makes the N-th write fail with "No space left
    /// on device", "commit" makes the first commit (the rename of a staged folder or file into
    /// place) fail. <see cref="InjectFailure"/> does the same for one flow of work in a test process.
    /// </summary>
    public const string FailureVariable = "FLARE_INJECT_WRITE_FAILURE";

    private static readonly Lock Gate = new();
    private static readonly HashSet<string> InFlight = [];
    private static readonly Dictionary<string, string> UserNames = [];
    private static readonly FailurePlan? ProcessFailure = FailurePlan.Parse(Environment.GetEnvironmentVariable(FailureVariable));
    private static readonly AsyncLocal<FailurePlan?> ScopedFailure = new();
    private static volatile bool abandoned;

    /// <summary>Makes writes fail as <see cref="FailureVariable"/> describes, for the calling flow of work (and the tasks it starts) until disposed.</summary>
    public static IDisposable InjectFailure(string which)
    {
        ScopedFailure.Value = FailurePlan.Parse(which) ?? throw new ArgumentException($"'{which}' is neither a write number nor 'commit'", nameof(which));
        return new Scope();
    }

    public static void WriteAllBytes(string path, byte[] bytes)
    {
        BeforeWrite(path);
        File.WriteAllBytes(path, bytes);
    }

    public static void WriteAllText(string path, string text)
    {
        BeforeWrite(path);
        File.WriteAllText(path, text);
    }

    public static void WriteAllText(string path, string text, System.Text.Encoding encoding)
    {
        BeforeWrite(path);
        File.WriteAllText(path, text, encoding);
    }

    public static FileStream Create(string path)
    {
        BeforeWrite(path);
        return File.Create(path);
    }

    public static void Copy(string source, string destination)
    {
        BeforeWrite(destination);
        File.Copy(source, destination);
    }

    public static void CreateFolder(string path)
    {
        ThrowIfAbandoned();
        Directory.CreateDirectory(path);
    }

    /// <summary>Called before each file write: refuses after <see cref="Abandon"/>, and fails where a test asked it to.</summary>
    public static void BeforeWrite(string path)
    {
        ThrowIfAbandoned();
        if ((ScopedFailure.Value ?? ProcessFailure)?.FailsWrite() == true) throw InjectedFailure(path);
    }

    /// <summary>Called before a staged output is renamed into place.</summary>
    internal static void BeforeCommit(string path)
    {
        ThrowIfAbandoned();
        if ((ScopedFailure.Value ?? ProcessFailure)?.FailsCommit() == true) throw InjectedFailure(path);
    }

    /// <summary>Registers a staging folder or temporary file, and the user's name for it (used in error messages).</summary>
    internal static void Track(string staging, string userName)
    {
        lock (Gate)
        {
            InFlight.Add(staging);
            UserNames[staging] = userName;
        }
    }

    internal static void Untrack(string staging)
    {
        lock (Gate) InFlight.Remove(staging);
    }

    /// <summary>Replaces hidden staging paths in a message by the output the user named.</summary>
    public static string InUserTerms(string message)
    {
        lock (Gate)
        {
            foreach (var (staging, user) in UserNames.OrderByDescending(pair => pair.Key.Length))
                message = message.Replace(staging, user, StringComparison.Ordinal);
        }
        return message;
    }

    /// <summary>Stops all further writes and deletes every staging folder and temporary file in flight (on SIGINT or SIGTERM).</summary>
    public static void Abandon()
    {
        abandoned = true;
        string[] paths;
        lock (Gate) paths = [.. InFlight];
        foreach (var path in paths)
        {
            // A write that began before the flag was set may still add a file: try a few times.
            for (var attempt = 0; attempt < 5; attempt++)
            {
                try
                {
                    if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
                    else File.Delete(path);
                    break;
                }
                catch (IOException)
                {
                    Thread.Sleep(20);
                }
            }
        }
    }

    private static void ThrowIfAbandoned()
    {
        if (abandoned) throw new OperationCanceledException("cancelled");
    }

    private static IOException InjectedFailure(string path) =>
        new($"No space left on device : '{path}' (injected by {FailureVariable})");

    /// <summary>Which write fails: the N-th file write, or the first commit.</summary>
    private sealed class FailurePlan(long writes, int commits)
    {
        private long writesUntilFailure = writes;
        private int commitFailures = commits;

        public static FailurePlan? Parse(string? which) =>
            which == "commit" ? new FailurePlan(-1, 1)
            : long.TryParse(which, out var n) && n > 0 ? new FailurePlan(n, 0)
            : null;

        public bool FailsWrite() => Interlocked.Decrement(ref writesUntilFailure) == 0;

        public bool FailsCommit() => Interlocked.Exchange(ref commitFailures, 0) == 1;
    }

    private sealed class Scope : IDisposable
    {
        public void Dispose() => ScopedFailure.Value = null;
    }
}
