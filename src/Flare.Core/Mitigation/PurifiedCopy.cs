using System.Globalization;
using System.Text;
using Flare.Data;
using Flare.IO;
using Flare.Reporting;

namespace Flare.Mitigation;

/// <summary>
/// FLARE (P)'s input: the data set without the flagged samples. Kept images are copied byte for
/// byte into purified/&lt;class&gt;/ under their original file names; removed ones are listed.
/// </summary>
public static class PurifiedCopy
{
    public const string FolderName = "purified";
    public const string RemovedFile = "removed.csv";

    /// <summary>
    /// Fails before any training when <paramref name="dataPath"/> cannot give a purified copy: the
    /// copy is of image files, byte for byte, so CIFAR binary batches (or a single file) cannot be copied.
    /// </summary>
    public static void EnsureCopyable(string dataPath, string option = "--data")
    {
        if (File.Exists(dataPath) || CifarBinaryReader.IsBinaryFolder(dataPath))
            throw new FlareException($"{option}: {dataPath} is CIFAR binary data; a purified copy copies image files, so give an image folder (one sub-folder of images per class)");
    }

    /// <summary>Copies the kept images and writes removed.csv; returns the number kept.</summary>
    public static int Write(ImageSet images, IReadOnlyList<bool> flagged, IReadOnlyList<int> cluster, string outputFolder)
    {
        if (images.Root is null) throw new FlareException("a purified copy needs images read from a folder");
        var purified = Path.Combine(outputFolder, FolderName);
        foreach (var name in images.ClassNames) OutputFiles.CreateFolder(Path.Combine(purified, name));
        var removed = new StringBuilder("path,label,cluster\n");
        var kept = 0;
        for (var i = 0; i < images.Count; i++)
        {
            var relative = images.SourcePaths[i];
            var label = images.ClassNames[images.Labels[i]];
            if (flagged[i])
            {
                removed.Append(CultureInfo.InvariantCulture, $"{Csv.Field(relative)},{Csv.Field(label)},{cluster[i]}\n");
                continue;
            }
            OutputFiles.Copy(Path.Combine(images.Root, relative), Path.Combine(purified, label, Path.GetFileName(relative)));
            kept++;
        }
        OutputFiles.WriteAllText(Path.Combine(outputFolder, RemovedFile), removed.ToString());
        return kept;
    }
}
