namespace Flare.Data;

/// <summary>Loads a data set from an image folder or a folder of CIFAR-10 binary batches.</summary>
public static class ImageSource
{
    public static ImageSet Load(string path, int? limit = null, IProgress<int>? imagesDecoded = null)
    {
        if (limit is <= 0) throw new FlareException($"--limit must be positive, got {limit}");
        var binary = CifarBinaryReader.IsBinaryFolder(path) || (File.Exists(path) && path.EndsWith(".bin", StringComparison.OrdinalIgnoreCase));
        return binary
            ? ClassBalancedSubset.Apply(CifarBinaryReader.Read(path), limit)
            : ImageFolderReader.Read(path, limit, imagesDecoded);
    }
}
