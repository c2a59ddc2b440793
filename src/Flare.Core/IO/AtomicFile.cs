namespace Flare.IO;

/// <summary>Writes files under temporary names and renames them into place, so a failed write leaves no partial file.</summary>
public static class AtomicFile
{
    /// <summary>
    /// Calls <paramref name="write"/> with a temporary path beside <paramref name="path"/>, then renames it to
    /// <paramref name="path"/>. Callers check the target first (<see cref="OutputPaths.CheckFile"/>).
    /// </summary>
    public static void Write(string path, Action<string> write, string option = "--out") => WriteAll([(path, write, option)]);

    /// <summary>Writes every file to its temporary path first and renames them only when all were written, so either all appear or none.</summary>
    public static void WriteAll(IReadOnlyList<(string Path, Action<string> Write, string Option)> files)
    {
        var temporaries = new List<string>();
        try
        {
            var targets = new List<(string Temporary, string Full, string Path)>();
            foreach (var (path, write, option) in files)
            {
                var full = Path.GetFullPath(path);
                var folder = Path.GetDirectoryName(full)!;
                if (!Directory.Exists(folder)) throw new FlareException($"{option}: folder {folder} does not exist");
                if (Directory.Exists(full)) throw new FlareException($"{option}: {path} is a folder, expected a file name");
                var temporary = Path.Combine(folder, $".{Path.GetFileName(full)}.{Environment.ProcessId}.tmp");
                OutputFiles.Track(temporary, path);
                temporaries.Add(temporary);
                OutputFiles.BeforeWrite(temporary);
                write(temporary);
                targets.Add((temporary, full, path));
            }
            foreach (var (temporary, full, path) in targets)
            {
                OutputFiles.BeforeCommit(path);
                File.Move(temporary, full, overwrite: true);
            }
        }
        finally
        {
            foreach (var temporary in temporaries)
            {
                File.Delete(temporary);
                OutputFiles.Untrack(temporary);
            }
        }
    }
}
