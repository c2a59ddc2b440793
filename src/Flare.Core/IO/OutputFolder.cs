namespace Flare.IO;

/// <summary>
/// A new output folder that appears only when the run succeeds: files are written into a hidden
/// staging folder beside the target, which <see cref="Commit"/> renames into place. Disposing an
/// uncommitted folder deletes the staging folder, so a failed run leaves nothing half written.
/// </summary>
public sealed class OutputFolder : IDisposable
{
    private bool committed;

    private OutputFolder(string target, string staging)
    {
        Target = target;
        Path = staging;
    }

    /// <summary>Where the results will be once committed.</summary>
    public string Target { get; }

    /// <summary>The staging folder to write into.</summary>
    public string Path { get; }

    /// <summary>
    /// Starts an output folder. The target must not exist, or be an empty folder: Flare never writes
    /// over earlier results; nor may it be, or lie inside, one of the <paramref name="inputs"/>.
    /// <paramref name="option"/> names the option in error messages.
    /// </summary>
    public static OutputFolder Create(string target, string option = "--out", params IEnumerable<InputPath> inputs)
    {
        var full = OutputPaths.CheckNotInputs(target, option, inputs);
        if (System.IO.File.Exists(full)) throw new FlareException($"{option}: {target} is a file; give a new folder");
        if (Directory.Exists(full) && Directory.EnumerateFileSystemEntries(full).Any())
            throw new FlareException($"{option}: {target} already exists and is not empty; give a new folder");
        var parent = System.IO.Path.GetDirectoryName(full)!;
        if (!Directory.Exists(parent)) throw new FlareException($"{option}: parent folder {parent} does not exist");
        var staging = System.IO.Path.Combine(parent, $".{System.IO.Path.GetFileName(full)}.partial-{Environment.ProcessId}");
        OutputFiles.Track(staging, target);
        try
        {
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
            OutputFiles.CreateFolder(staging);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            OutputFiles.Untrack(staging);
            throw new FlareException($"{option}: cannot write in {parent} ({OutputFiles.InUserTerms(e.Message)})", e);
        }
        return new OutputFolder(full, staging);
    }

    public string File(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    public string Folder(params string[] parts)
    {
        var folder = System.IO.Path.Combine([Path, .. parts]);
        OutputFiles.CreateFolder(folder);
        return folder;
    }

    public void Commit()
    {
        OutputFiles.BeforeCommit(Target);
        if (Directory.Exists(Target)) Directory.Delete(Target);
        Directory.Move(Path, Target);
        committed = true;
        OutputFiles.Untrack(Path);
    }

    public void Dispose()
    {
        if (!committed && Directory.Exists(Path)) Directory.Delete(Path, recursive: true);
        OutputFiles.Untrack(Path);
    }
}
