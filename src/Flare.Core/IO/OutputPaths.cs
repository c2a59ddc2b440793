using System.Runtime.InteropServices;

namespace Flare.IO;

/// <summary>An input a command reads, with the option that named it (for messages).</summary>
public readonly record struct InputPath(string? Path, string Option);

/// <summary>
/// Where a command may write, checked once before any work: never onto or inside an input (a
/// training image must never become checkpoint bytes, a report folder never a fake class), never
/// over an existing file without an explicit flag, and only where writing is possible.
/// </summary>
public static partial class OutputPaths
{
    /// <summary>Checks an output file path; returns its full path. <paramref name="force"/> allows replacing an existing file, never an input.</summary>
    public static string CheckFile(string path, string option, IEnumerable<InputPath> inputs, bool force = false)
    {
        var full = CheckNotInputs(path, option, inputs);
        var folder = System.IO.Path.GetDirectoryName(full)!;
        if (!Directory.Exists(folder)) throw new FlareException($"{option}: folder {folder} does not exist");
        if (Directory.Exists(full)) throw new FlareException($"{option}: {path} is a folder, expected a file name");
        if (File.Exists(full) && !force) throw new FlareException($"{option}: {path} already exists; give a new file name (or --force to replace it)");
        EnsureWritable(folder, option);
        return full;
    }

    /// <summary>Checks that an output (file or folder) is neither an input nor inside an input folder; returns its full path.</summary>
    public static string CheckNotInputs(string path, string option, IEnumerable<InputPath> inputs)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new FlareException($"{option}: the path is empty");
        var full = Normalize(path);
        foreach (var input in inputs)
        {
            if (string.IsNullOrWhiteSpace(input.Path)) continue;
            var source = Normalize(input.Path);
            if (full == source)
                throw new FlareException($"{option}: {path} is the same path as {input.Option}; Flare never writes over what it reads or writes elsewhere");
            if (full.StartsWith(source + System.IO.Path.DirectorySeparatorChar, StringComparison.Ordinal))
                throw new FlareException($"{option}: {path} is inside {input.Option} {input.Path}; write outputs outside the input data");
        }
        return full;
    }

    /// <summary>Fails with one line naming the option when nothing can be created in <paramref name="folder"/>.</summary>
    public static void EnsureWritable(string folder, string option)
    {
        var probe = System.IO.Path.Combine(folder, $".flare-write-probe-{Environment.ProcessId}");
        try
        {
            using (File.Create(probe, 1, FileOptions.DeleteOnClose)) { }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new FlareException($"{option}: cannot write in {folder} ({e.Message})", e);
        }
    }

    /// <summary>
    /// The full path with symbolic links resolved in its longest existing part, so that an output
    /// reached through a link into an input is seen as inside it.
    /// </summary>
    private static string Normalize(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        full = full.Length > 1 ? full.TrimEnd(System.IO.Path.DirectorySeparatorChar) : full;
        var existing = full;
        var rest = new Stack<string>();
        while (!System.IO.Path.Exists(existing) && System.IO.Path.GetDirectoryName(existing) is { } parent)
        {
            rest.Push(System.IO.Path.GetFileName(existing));
            existing = parent;
        }
        var resolved = RealPath(existing) ?? existing;
        return System.IO.Path.Combine([resolved, .. rest]);
    }

    private static string? RealPath(string path)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return null;
        var buffer = NativeRealPath(path, IntPtr.Zero);
        if (buffer == IntPtr.Zero) return null;
        try
        {
            return Marshal.PtrToStringUTF8(buffer);
        }
        finally
        {
            Marshal.FreeHGlobal(buffer); // realpath's buffer comes from malloc, which FreeHGlobal frees on Unix
        }
    }

    [LibraryImport("libc", EntryPoint = "realpath", StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr NativeRealPath(string path, IntPtr resolved);
}
