namespace Flare.IO;

/// <summary>Writes a file under a temporary name and renames it into place, so a failed write leaves no partial file.</summary>
public static class AtomicFile
{
    /// <summary>
    /// Calls <paramref name="write"/> with a temporary path beside <paramref name="path"/>, then renames it to
    /// <paramref name="path"/>. Callers check the target first (<see cref="OutputPaths.CheckFile"/>).
    /// </summary>
    public static void Write(string path, Action<string> write, string option = "--out")
    {
        var full = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(folder)) throw new FlareException($"{option}: folder {folder} does not exist");
        if (Directory.Exists(full)) throw new FlareException($"{option}: {path} is a folder, expected a file name");
        var temporary = Path.Combine(folder, $".{Path.GetFileName(full)}.{Environment.ProcessId}.tmp");
        OutputFiles.Track(temporary, path);
        try
        {
            OutputFiles.BeforeWrite(temporary);
            write(temporary);
            OutputFiles.BeforeCommit(path);
            File.Move(temporary, full, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
            OutputFiles.Untrack(temporary);
        }
    }
}
