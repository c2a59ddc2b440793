namespace Flare.Data;

/// <summary>Loads a data set from an image folder, a folder of CIFAR-10 binary batches, or IDX files (<see cref="IdxReader.Find"/>).</summary>
public static class ImageSource
{
    public static ImageSet Load(string path, int? limit = null, IProgress<int>? imagesDecoded = null)
    {
        if (limit is <= 0) throw new FlareException($"--limit must be positive, got {limit}");
        if (IdxReader.Find(path) is { } idx) return ClassBalancedSubset.Apply(IdxReader.Read(idx), limit);
        var binary = CifarBinaryReader.IsBinaryFolder(path) || (File.Exists(path) && path.EndsWith(".bin", StringComparison.OrdinalIgnoreCase));
        return binary
            ? ClassBalancedSubset.Apply(CifarBinaryReader.Read(path), limit)
            : ImageFolderReader.Read(path, limit, imagesDecoded);
    }
}
