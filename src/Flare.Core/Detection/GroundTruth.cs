using Flare.Attacks;
using Flare.Data;

namespace Flare.Detection;

/// <summary>
/// Finds the manifest flare poison wrote for a data folder (in the folder, or beside it when the
/// folder is OUT/train) and reads which of the images are poisoned.
/// </summary>
public static class GroundTruth
{
    public static string? FindManifest(string dataFolder)
    {
        var full = Path.GetFullPath(dataFolder);
        foreach (var candidate in new[] { Path.Combine(full, PoisonManifest.FileName), Path.Combine(Path.GetDirectoryName(full.TrimEnd('/')) ?? full, PoisonManifest.FileName) })
            if (File.Exists(candidate)) return candidate;
        return null;
    }

    /// <summary>
    /// Poisoned flags for each image, or null when there is no manifest. The manifest's paths are
    /// relative to the folder it describes; for OUT/manifest.csv that is OUT/train.
    /// </summary>
    public static bool[]? ForImages(ImageSet images, string dataFolder)
    {
        var manifestPath = FindManifest(dataFolder);
        if (manifestPath is null) return null;
        var manifest = PoisonManifest.Read(manifestPath);
        var poisoned = new bool[images.Count];
        for (var i = 0; i < images.Count; i++)
        {
            if (!manifest.TryGet(images.SourcePaths[i], out var entry))
                throw new FlareException($"{manifestPath}: no row for {images.SourcePaths[i]}; the manifest does not describe {dataFolder}");
            poisoned[i] = entry.Poisoned;
        }
        return poisoned;
    }
}
