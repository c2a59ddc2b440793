namespace Flare.Data;

/// <summary>
/// Reads the CIFAR-10 binary release: files of 3,073-byte records (a label byte, then 1,024 red,
/// 1,024 green and 1,024 blue bytes of a 32x32 image), class names from batches.meta.txt.
/// </summary>
public static class CifarBinaryReader
{
    private const int Side = 32;
    private const int RecordBytes = 1 + 3 * Side * Side;

    public static readonly string[] DefaultClassNames =
        ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

    /// <summary>
    /// True when the folder holds CIFAR binary batches rather than class folders. A folder with
    /// both is ambiguous, and an error: reading either half would silently ignore the other.
    /// </summary>
    public static bool IsBinaryFolder(string folder)
    {
        if (!Directory.Exists(folder)) return false;
        var batch = Directory.EnumerateFiles(folder, "*.bin").FirstOrDefault();
        if (batch is null) return false;
        var classFolder = Directory.EnumerateDirectories(folder).FirstOrDefault(d => !Path.GetFileName(d).StartsWith('.'));
        if (classFolder is not null)
            throw new FlareException($"{folder}: holds both CIFAR binary batches ({Path.GetFileName(batch)}) and class folders ({Path.GetFileName(classFolder)}/); keep one format per data folder");
        return true;
    }

    /// <summary>Reads every *.bin batch in the folder (sorted by name), or the single file given.</summary>
    public static ImageSet Read(string path)
    {
        var batches = File.Exists(path)
            ? [path]
            : Directory.GetFiles(path, "*.bin").Order(StringComparer.Ordinal).ToArray();
        if (batches.Length == 0) throw new FlareException($"{path}: no CIFAR binary batches (*.bin)");
        var folder = Path.GetDirectoryName(Path.GetFullPath(batches[0]))!;
        var classNames = ReadClassNames(folder);

        var records = new List<(byte[] Data, string Batch, int Count)>();
        foreach (var batch in batches)
        {
            var data = File.ReadAllBytes(batch);
            if (data.Length == 0 || data.Length % RecordBytes != 0)
                throw new FlareException($"{batch}: not a CIFAR-10 binary batch (size {data.Length} is not a multiple of {RecordBytes})");
            records.Add((data, Path.GetFileName(batch), data.Length / RecordBytes));
        }
        var total = records.Sum(r => r.Count);
        var pixels = new byte[(long)total * (RecordBytes - 1)];
        var labels = new int[total];
        var sources = new string[total];
        var index = 0;
        foreach (var (data, batch, count) in records)
        {
            for (var r = 0; r < count; r++, index++)
            {
                var label = data[r * RecordBytes];
                if (label >= classNames.Length)
                    throw new FlareException($"{batch}: record {r} has label {label}, but there are {classNames.Length} classes");
                labels[index] = label;
                data.AsSpan(r * RecordBytes + 1, RecordBytes - 1).CopyTo(pixels.AsSpan(index * (RecordBytes - 1)));
                sources[index] = $"{batch}#{r}";
            }
        }
        return new ImageSet(Side, Side, pixels, labels, classNames, sources, folder);
    }

    private static string[] ReadClassNames(string folder)
    {
        var meta = Path.Combine(folder, "batches.meta.txt");
        if (!File.Exists(meta)) return DefaultClassNames;
        var names = File.ReadAllLines(meta).Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
        return names.Length > 0 ? names : DefaultClassNames;
    }
}
