using Flare.IO;

namespace Flare.Data;

/// <summary>Writes images as an image folder of PNG files (lossless), one sub-folder per class.</summary>
public static class ImageFolderWriter
{
    /// <summary>
    /// Writes image i to root/&lt;class of labels[i]&gt;/&lt;fileNames[i]&gt;; returns the paths written, relative to root.
    /// Every class gets a folder, even an empty one, so the class list survives the round trip.
    /// </summary>
    public static string[] Write(ImageSet images, string root, IReadOnlyList<string> fileNames, IReadOnlyList<int>? labels = null, IProgress<int>? written = null)
    {
        labels ??= images.Labels;
        if (fileNames.Count != images.Count || labels.Count != images.Count)
            throw new ArgumentException("one file name and label per image is required");
        foreach (var name in images.ClassNames) OutputFiles.CreateFolder(Path.Combine(root, name));
        var relative = new string[images.Count];
        var done = 0;
        Parallel.For(0, images.Count, i =>
        {
            relative[i] = Path.Combine(images.ClassNames[labels[i]], fileNames[i]);
            OutputFiles.WriteAllBytes(Path.Combine(root, relative[i]), ImageCodec.EncodePng(images.Image(i), images.Height, images.Width));
            var count = Interlocked.Increment(ref done);
            if (count % 1000 == 0) written?.Report(count);
        });
        written?.Report(images.Count);
        return relative;
    }
}
