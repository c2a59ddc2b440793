using System.Buffers.Binary;
using System.IO.Compression;

namespace Flare.Data;

/// <summary>
/// Reads the IDX files of MNIST-style data sets (Fashion-MNIST, MNIST): an image file
/// (PREFIX-images-idx3-ubyte, magic 0x803: count, rows, columns, then one byte per pixel, row by
/// row) and its label file (PREFIX-labels-idx1-ubyte, magic 0x801: count, then one byte per
/// label), each optionally gzipped (.gz). Grey images become three equal channels. Class names:
/// for a path containing "fashion", the Fashion-MNIST names; otherwise the label numbers. Both
/// carry the label number first (zero-padded), so an image folder written from the set sorts its
/// class folders into the same class indices.
/// </summary>
public static class IdxReader
{
    public const string ImagesSuffix = "-images-idx3-ubyte";
    public const string LabelsSuffix = "-labels-idx1-ubyte";
    private const int ImagesMagic = 0x803;
    private const int LabelsMagic = 0x801;

    /// <summary>The Fashion-MNIST classes in label order, as folder-safe names.</summary>
    public static readonly string[] FashionClassNames =
        ["0-t-shirt-top", "1-trouser", "2-pullover", "3-dress", "4-coat", "5-sandal", "6-shirt", "7-sneaker", "8-bag", "9-ankle-boot"];

    /// <summary>An image file and its label file.</summary>
    public sealed record FilePair(string Images, string Labels);

    /// <summary>
    /// The IDX files a path names, or null when it names none: a file PREFIX-images-idx3-ubyte(.gz);
    /// a prefix such as FOLDER/train (for FOLDER/train-images-idx3-ubyte(.gz)); or a folder that
    /// holds exactly one such set. A folder with several sets (train and t10k) is an error that
    /// asks for the prefix, and so is one that also holds class folders.
    /// </summary>
    public static FilePair? Find(string path)
    {
        if (File.Exists(path))
            return TryStripImages(Path.GetFileName(path), out var prefix) ? Pair(Path.GetDirectoryName(Path.GetFullPath(path))!, prefix) : null;
        if (Directory.Exists(path))
        {
            var prefixes = Directory.EnumerateFiles(path)
                .Select(Path.GetFileName)
                .Select(name => TryStripImages(name!, out var prefix) ? prefix : null)
                .OfType<string>()
                .Distinct()
                .Order(StringComparer.Ordinal)
                .ToArray();
            if (prefixes.Length == 0) return null;
            var classFolder = Directory.EnumerateDirectories(path).FirstOrDefault(d => !Path.GetFileName(d).StartsWith('.'));
            if (classFolder is not null)
                throw new FlareException($"{path}: holds both IDX files ({prefixes[0]}{ImagesSuffix}) and class folders ({Path.GetFileName(classFolder)}/); keep one format per data folder");
            if (prefixes.Length > 1)
                throw new FlareException($"{path}: holds several IDX sets ({string.Join(", ", prefixes)}); name one as {Path.Combine(path, prefixes[0])}");
            return Pair(path, prefixes[0]);
        }
        var folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        var name = Path.GetFileName(path);
        return name.Length > 0 && Directory.Exists(folder) && ImagesFile(folder, name) is not null ? Pair(folder, name) : null;
    }

    /// <summary>Reads an image file and its label file.</summary>
    public static ImageSet Read(FilePair files)
    {
        var images = Decompress(files.Images);
        var labelBytes = Decompress(files.Labels);
        var imageName = Path.GetFileName(files.Images);
        var (count, rows, columns) = ImageHeader(images, imageName);
        var labelCount = LabelHeader(labelBytes, Path.GetFileName(files.Labels));
        if (labelCount != count)
            throw new FlareException($"{files.Labels}: {labelCount} labels for the {count} images of {imageName}");

        var labels = new int[count];
        for (var i = 0; i < count; i++) labels[i] = labelBytes[8 + i];
        var classNames = ClassNames(Path.GetFullPath(files.Images), labels.Max() + 1);
        var plane = rows * columns;
        var pixels = new byte[(long)count * ImageSet.Channels * plane];
        for (var i = 0; i < count; i++)
        {
            var grey = images.AsSpan(16 + i * plane, plane);
            for (var c = 0; c < ImageSet.Channels; c++) grey.CopyTo(pixels.AsSpan((i * ImageSet.Channels + c) * plane, plane));
        }
        var sources = Enumerable.Range(0, count).Select(i => $"{imageName}#{i}").ToArray();
        return new ImageSet(rows, columns, pixels, labels, classNames, sources, Path.GetDirectoryName(Path.GetFullPath(files.Images)));
    }

    private static (int Count, int Rows, int Columns) ImageHeader(byte[] data, string name)
    {
        if (data.Length < 16 || BinaryPrimitives.ReadInt32BigEndian(data) != ImagesMagic)
            throw new FlareException($"{name}: not an IDX image file (expected magic 0x00000803 and three sizes)");
        var count = BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(4));
        var rows = BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(8));
        var columns = BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(12));
        if (count <= 0 || rows <= 0 || columns <= 0 || data.Length != 16 + (long)count * rows * columns)
            throw new FlareException($"{name}: an IDX image file of {count} images of {rows}x{columns} must hold {16 + (long)count * rows * columns} bytes, it holds {data.Length}");
        return (count, rows, columns);
    }

    private static int LabelHeader(byte[] data, string name)
    {
        if (data.Length < 8 || BinaryPrimitives.ReadInt32BigEndian(data) != LabelsMagic)
            throw new FlareException($"{name}: not an IDX label file (expected magic 0x00000801 and a count)");
        var count = BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(4));
        if (count < 0 || data.Length != 8L + count)
            throw new FlareException($"{name}: an IDX label file of {count} labels must hold {8L + count} bytes, it holds {data.Length}");
        return count;
    }

    private static string[] ClassNames(string imagesFile, int classes)
    {
        if (imagesFile.Contains("fashion", StringComparison.OrdinalIgnoreCase) && classes <= FashionClassNames.Length)
            return FashionClassNames;
        if (classes < 2) throw new FlareException($"{imagesFile}: the labels name {classes} class; a data set needs at least 2");
        var digits = (classes - 1).ToString(System.Globalization.CultureInfo.InvariantCulture).Length;
        return Enumerable.Range(0, classes).Select(c => c.ToString($"D{digits}", System.Globalization.CultureInfo.InvariantCulture)).ToArray();
    }

    /// <summary>The file's bytes, gunzipped when it starts with the gzip magic.</summary>
    private static byte[] Decompress(string file)
    {
        var raw = File.ReadAllBytes(file);
        if (raw.Length < 2 || raw[0] != 0x1F || raw[1] != 0x8B) return raw;
        try
        {
            using var gzip = new GZipStream(new MemoryStream(raw), CompressionMode.Decompress);
            using var plain = new MemoryStream();
            gzip.CopyTo(plain);
            return plain.ToArray();
        }
        catch (InvalidDataException e)
        {
            throw new FlareException($"{file}: not a readable gzip file ({e.Message})", e);
        }
    }

    private static bool TryStripImages(string name, out string prefix)
    {
        foreach (var suffix in new[] { ImagesSuffix, ImagesSuffix + ".gz" })
            if (name.EndsWith(suffix, StringComparison.Ordinal) && name.Length > suffix.Length)
            {
                prefix = name[..^suffix.Length];
                return true;
            }
        prefix = "";
        return false;
    }

    private static string? ImagesFile(string folder, string prefix) => Existing(folder, prefix + ImagesSuffix);

    private static FilePair Pair(string folder, string prefix)
    {
        var images = ImagesFile(folder, prefix)!;
        var labels = Existing(folder, prefix + LabelsSuffix)
            ?? throw new FlareException($"{images}: no label file {prefix}{LabelsSuffix}(.gz) beside it");
        return new FilePair(images, labels);
    }

    /// <summary>FOLDER/NAME, or FOLDER/NAME.gz, whichever exists (the plain file first).</summary>
    private static string? Existing(string folder, string name) =>
        new[] { name, name + ".gz" }.Select(n => Path.Combine(folder, n)).FirstOrDefault(File.Exists);
}
