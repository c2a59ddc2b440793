using System.Security.Cryptography;
using Flare.Attacks;
using Flare.Data;
using Flare.IO;
using Flare.Progress;

namespace Flare.Tests.Support;

/// <summary>Writes poisoned sets to folders and fingerprints folders, for same-seed-same-bytes checks.</summary>
public static class PoisonedFolders
{
    public static string Write(ImageSet clean, PoisonOptions options, string outPath) => Write(Poisoner.Poison(clean, options), outPath);

    public static string Write(PoisonedSet set, string outPath)
    {
        using var output = OutputFolder.Create(outPath);
        Poisoner.Write(output, set, null, SilentProgress.Instance);
        return outPath;
    }

    /// <summary>SHA-256 of every file under a folder, by relative path.</summary>
    public static SortedDictionary<string, string> HashTree(string root) =>
        new(Directory.GetFiles(root, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(root, f), f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f)))),
            StringComparer.Ordinal);
}
