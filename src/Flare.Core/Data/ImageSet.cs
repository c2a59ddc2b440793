using System.Security.Cryptography;
using System.Text;

namespace Flare.Data;

/// <summary>
/// A labelled image set held in memory as 8-bit RGB, one image after another in channel-major
/// order (C x H x W), which is the layout tensors take without reshuffling.
/// </summary>
public sealed class ImageSet
{
    public const int Channels = 3;

    public ImageSet(int height, int width, byte[] pixels, int[] labels, IReadOnlyList<string> classNames, string[] sourcePaths, string? root)
    {
        if (height <= 0 || width <= 0) throw new ArgumentException("image size must be positive");
        if (pixels.Length != (long)labels.Length * Channels * height * width)
            throw new ArgumentException("pixel buffer does not match the image count and size", nameof(pixels));
        if (sourcePaths.Length != labels.Length) throw new ArgumentException("one source path per image is required", nameof(sourcePaths));
        foreach (var label in labels)
            if ((uint)label >= (uint)classNames.Count) throw new ArgumentException($"label {label} is not a class index", nameof(labels));
        Height = height;
        Width = width;
        Pixels = pixels;
        Labels = labels;
        ClassNames = classNames;
        SourcePaths = sourcePaths;
        Root = root;
    }

    public int Count => Labels.Length;
    public int Height { get; }
    public int Width { get; }
    public int ImageBytes => Channels * Height * Width;

    /// <summary>All images, C x H x W each, concatenated.</summary>
    public byte[] Pixels { get; }

    public int[] Labels { get; }
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>Where each image came from: a path relative to <see cref="Root"/>, or a record name for binary sources.</summary>
    public string[] SourcePaths { get; }

    /// <summary>The folder the images were read from, if any.</summary>
    public string? Root { get; }

    /// <summary>Per image, the file format it was decoded from (png, jpeg, bmp, webp); null for sources without files.</summary>
    public string[]? Formats { get; init; }

    /// <summary>How the images were brought to one size, when they were resized on reading; null when they were read as they are.</summary>
    public string? Resizing { get; init; }

    public Span<byte> Image(int index) => Pixels.AsSpan(index * ImageBytes, ImageBytes);

    public ImageSet Select(IReadOnlyList<int> indices)
    {
        var pixels = new byte[(long)indices.Count * ImageBytes];
        var labels = new int[indices.Count];
        var paths = new string[indices.Count];
        var formats = Formats is null ? null : new string[indices.Count];
        for (var i = 0; i < indices.Count; i++)
        {
            Image(indices[i]).CopyTo(pixels.AsSpan(i * ImageBytes, ImageBytes));
            labels[i] = Labels[indices[i]];
            paths[i] = SourcePaths[indices[i]];
            if (formats is not null) formats[i] = Formats![indices[i]];
        }
        return new ImageSet(Height, Width, pixels, labels, ClassNames, paths, Root) { Formats = formats, Resizing = Resizing };
    }

    /// <summary>"png (900), jpeg (100)": how many images came in each file format; null when unknown.</summary>
    public string? FormatSummary() =>
        Formats is null ? null : string.Join(", ", Formats.CountBy(f => f).OrderByDescending(g => g.Value).ThenBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key} ({g.Value})"));

    public int[] CountPerClass()
    {
        var counts = new int[ClassNames.Count];
        foreach (var label in Labels) counts[label]++;
        return counts;
    }

    /// <summary>SHA-256 over class names, labels, image size and pixels: identifies the training data in checkpoints.</summary>
    public string ContentHash()
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Encoding.UTF8.GetBytes(string.Join('\n', ClassNames) + $"\n{Height}x{Width}\n"));
        hash.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(Labels.AsSpan()));
        hash.AppendData(Pixels);
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }
}
