namespace Flare.Data;

/// <summary>Loads a data set from an image folder, a folder of CIFAR-10 binary batches, or IDX files (<see cref="IdxReader.Find"/>).</summary>
public static class ImageSource
{
    /// <summary>Loads the data set; with <paramref name="imageSize"/> every image is scaled and centre-cropped to that square size.</summary>
    public static ImageSet Load(string path, int? limit = null, IProgress<int>? imagesDecoded = null, int? imageSize = null)
    {
        if (limit is <= 0) throw new FlareException($"--limit must be positive, got {limit}");
        CheckImageSize(imageSize);
        if (IdxReader.Find(path) is { } idx) return Sized(ClassBalancedSubset.Apply(IdxReader.Read(idx), limit), imageSize);
        var binary = CifarBinaryReader.IsBinaryFolder(path) || (File.Exists(path) && path.EndsWith(".bin", StringComparison.OrdinalIgnoreCase));
        if (!binary) return ImageFolderReader.Read(path, limit, imagesDecoded, imageSize);
        return Sized(ClassBalancedSubset.Apply(CifarBinaryReader.Read(path), limit), imageSize);
    }

    /// <summary>Returns <paramref name="imageSize"/> when it is absent or positive, and refuses it otherwise.</summary>
    public static int? CheckImageSize(int? imageSize) =>
        imageSize is <= 0 ? throw new FlareException($"--image-size must be positive, got {imageSize}") : imageSize;

    private static ImageSet Sized(ImageSet images, int? imageSize) => imageSize is { } side ? ImageCodec.Resize(images, side) : images;
}
