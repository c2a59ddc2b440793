namespace Flare.Data;

/// <summary>
/// Reads an image folder: one sub-folder per class (classes in ordinal sorted order), image files
/// inside (JPEG, PNG, BMP, WebP; sorted by name). Hidden entries are skipped; files directly in the
/// root are ignored, so a manifest can sit beside the class folders. The images must share one size,
/// or be resized on reading to imageSize x imageSize.
/// </summary>
public static class ImageFolderReader
{
    /// <summary>
    /// Reads the folder, or with <paramref name="limit"/> a class-balanced subset of it (only those
    /// files are decoded); with <paramref name="imageSize"/> every image is scaled and centre-cropped
    /// to that square size.
    /// </summary>
    public static ImageSet Read(string root, int? limit = null, IProgress<int>? imagesDecoded = null, int? imageSize = null)
    {
        ImageSource.CheckImageSize(imageSize);
        var files = ListFiles(root, out var classNames);
        if (limit is { } n && n < files.Count)
        {
            var chosen = ClassBalancedSubset.Indices(files.Select(f => f.Label).ToArray(), classNames.Length, n);
            files = chosen.Select(i => files[i]).ToList();
        }
        var first = files[0].Path;
        var size = ImageCodec.ReadSize(first)
            ?? throw new FlareException($"{first}: not a readable image ({ImageCodec.ExtensionList})");
        var (height, width) = imageSize is { } side ? (side, side) : size;
        var formats = new string[files.Count];
        var imageBytes = ImageSet.Channels * height * width;
        var pixels = new byte[(long)files.Count * imageBytes];
        string? firstProblem = null;
        var decoded = 0;
        Parallel.For(0, files.Count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, (i, state) =>
        {
            var format = ImageCodec.TryDecode(files[i].Path, height, width, imageSize is not null, pixels.AsSpan(i * imageBytes, imageBytes), out var problem);
            if (format is null)
            {
                Interlocked.CompareExchange(ref firstProblem, $"{files[i].Path}: {problem}", null);
                state.Stop();
                return;
            }
            formats[i] = string.Intern(format);
            var done = Interlocked.Increment(ref decoded);
            if (done % 1000 == 0) imagesDecoded?.Report(done);
        });
        if (firstProblem is not null) throw new FlareException(firstProblem + SizeAdvice(firstProblem, files, imageSize));
        imagesDecoded?.Report(files.Count);
        return new ImageSet(height, width, pixels,
            files.Select(f => f.Label).ToArray(), classNames,
            files.Select(f => Path.GetRelativePath(root, f.Path)).ToArray(), Path.GetFullPath(root))
        {
            Formats = formats,
            Resizing = imageSize is { } target ? ImageCodec.Resizing(target, DistinctSizes(files)) : null,
        };
    }

    // A folder of mixed sizes is common (photos); say how many sizes there are and how to read them.
    private static string SizeAdvice(string problem, List<(string Path, int Label)> files, int? imageSize)
    {
        if (imageSize is not null || !problem.Contains(ImageCodec.SizeMismatch, StringComparison.Ordinal)) return "";
        var sizes = DistinctSizes(files);
        return sizes.Count > 1 ? $"; the folder holds images of {sizes.Count} different sizes: pass --image-size N to scale and centre-crop them all to N x N" : "";
    }

    private static HashSet<(int Height, int Width)> DistinctSizes(List<(string Path, int Label)> files)
    {
        var sizes = new HashSet<(int, int)>();
        foreach (var (path, _) in files)
            if (ImageCodec.ReadSize(path) is { } size) sizes.Add(size);
        return sizes;
    }

    /// <summary>The image files of an image folder with their class index, validated but not decoded.</summary>
    public static List<(string Path, int Label)> ListFiles(string root, out string[] classNames)
    {
        if (!Directory.Exists(root))
            throw new FlareException(File.Exists(root) ? $"{root}: is a file, expected a folder of class folders" : $"{root}: folder not found");
        classNames = Directory.GetDirectories(root)
            .Select(Path.GetFileName)
            .Where(name => !string.IsNullOrEmpty(name) && !name.StartsWith('.'))
            .Order(StringComparer.Ordinal)
            .ToArray()!;
        if (classNames.Length == 0)
            throw new FlareException($"{root}: no class folders (expected one sub-folder of images per class)");
        var files = new List<(string, int)>();
        for (var label = 0; label < classNames.Length; label++)
        {
            var folder = Path.Combine(root, classNames[label]);
            var entries = Directory.GetFiles(folder)
                .Where(path => !Path.GetFileName(path).StartsWith('.'))
                .Order(StringComparer.Ordinal)
                .ToList();
            var nonImage = entries.FirstOrDefault(path => !ImageCodec.HasImageExtension(path));
            if (nonImage is not null)
                throw new FlareException($"{nonImage}: not an image (expected {ImageCodec.ExtensionList})");
            if (entries.Count == 0)
                throw new FlareException($"{folder}: class folder has no images");
            files.AddRange(entries.Select(path => (path, label)));
        }
        return files;
    }
}
