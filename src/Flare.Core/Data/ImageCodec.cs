using SkiaSharp;

namespace Flare.Data;

/// <summary>
/// Decodes image files (JPEG, PNG, BMP, WebP: what SkiaSharp reads) to 8-bit RGB (C x H x W),
/// optionally resized to a square, and encodes images as lossless PNG. Grayscale becomes three
/// equal channels; alpha is dropped (the colour values are kept as stored, as PIL's convert("RGB")
/// does, so a model trained in PyTorch sees the same pixels).
/// </summary>
public static class ImageCodec
{
    public static readonly IReadOnlySet<string> ImageExtensions =
        new HashSet<string>(StringComparer.OrdinalIgnoreCase) { ".png", ".jpg", ".jpeg", ".bmp", ".webp" };

    /// <summary>The part of a decoding problem that says the image has another size than the rest.</summary>
    public const string SizeMismatch = " but the other images are ";

    /// <summary>The extensions as a message lists them.</summary>
    public static string ExtensionList => string.Join(", ", ImageExtensions);

    // Downscaling averages over mipmap levels (no aliasing from large photos); upscaling uses
    // Mitchell's cubic, which neither blurs like bilinear nor rings like Catmull-Rom.
    private static readonly SKSamplingOptions Downscaling = new(SKFilterMode.Linear, SKMipmapMode.Linear);
    private static readonly SKSamplingOptions Upscaling = new(SKCubicResampler.Mitchell);

    public static bool HasImageExtension(string path) => ImageExtensions.Contains(Path.GetExtension(path));

    /// <summary>Reads an image's size without decoding its pixels; null when the file is not a readable image.</summary>
    public static (int Height, int Width)? ReadSize(string path)
    {
        using var codec = OpenCodec(path);
        return codec is null ? null : (codec.Info.Height, codec.Info.Width);
    }

    /// <summary>
    /// Decodes into <paramref name="target"/> (3 x H x W). With <paramref name="resize"/> any size is
    /// scaled so its shorter side is H (= W) and centre-cropped; without, an image of another size is
    /// a problem. Returns the file's format (png, jpeg, bmp, webp), or null with the problem.
    /// </summary>
    public static string? TryDecode(string path, int height, int width, bool resize, Span<byte> target, out string? problem)
    {
        using var codec = OpenCodec(path);
        if (codec is null)
        {
            problem = $"not a readable image ({ExtensionList})";
            return null;
        }
        if (!resize && (codec.Info.Height != height || codec.Info.Width != width))
        {
            problem = $"is {codec.Info.Width}x{codec.Info.Height}{SizeMismatch}{width}x{height}";
            return null;
        }
        using var decoded = new SKBitmap(new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        var result = codec.GetPixels(decoded.Info, decoded.GetPixels());
        if (result != SKCodecResult.Success)
        {
            problem = $"corrupt image ({result})";
            return null;
        }
        if (!resize)
        {
            CopyRgb(decoded, target);
        }
        else
        {
            using var square = CenterSquare(decoded, height);
            CopyRgb(square, target);
        }
        problem = null;
        return codec.EncodedFormat.ToString().ToLowerInvariant();
    }

    /// <summary>An image set with every image scaled and centre-cropped to side x side (for sources read without files, such as CIFAR batches).</summary>
    public static ImageSet Resize(ImageSet images, int side)
    {
        if (images.Height == side && images.Width == side) return images;
        var bytes = ImageSet.Channels * side * side;
        var pixels = new byte[(long)images.Count * bytes];
        Parallel.For(0, images.Count, i =>
        {
            using var bitmap = ToBitmap(images.Image(i), images.Height, images.Width);
            using var square = CenterSquare(bitmap, side);
            CopyRgb(square, pixels.AsSpan(i * bytes, bytes));
        });
        return new ImageSet(side, side, pixels, images.Labels, images.ClassNames, images.SourcePaths, images.Root)
        {
            Formats = images.Formats,
            Resizing = Resizing(side, [(images.Height, images.Width)]),
        };
    }

    /// <summary>How a resize is described in reports.</summary>
    public static string Resizing(int side, IReadOnlyCollection<(int Height, int Width)> sizes) =>
        $"scaled to {side}x{side} (shorter side to {side}, centre crop) from {(sizes.Count == 1 ? $"{sizes.First().Width}x{sizes.First().Height}" : $"{sizes.Count} sizes")}";

    // Scales the shorter side to `side` and crops the centre: no distortion, the image's middle kept.
    private static SKBitmap CenterSquare(SKBitmap source, int side)
    {
        var shorter = Math.Min(source.Width, source.Height);
        var crop = SKRectI.Create((source.Width - shorter) / 2, (source.Height - shorter) / 2, shorter, shorter);
        using var cropped = new SKBitmap();
        if (!source.ExtractSubset(cropped, crop)) throw new InvalidOperationException("centre crop failed");
        if (shorter == side) return cropped.Copy();
        var info = new SKImageInfo(side, side, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        return cropped.Resize(info, shorter > side ? Downscaling : Upscaling) ?? throw new InvalidOperationException("resize failed");
    }

    private static void CopyRgb(SKBitmap bitmap, Span<byte> target)
    {
        var plane = bitmap.Width * bitmap.Height;
        var rgba = bitmap.GetPixelSpan();
        var rowBytes = bitmap.RowBytes;
        for (var y = 0; y < bitmap.Height; y++)
        {
            var row = rgba.Slice(y * rowBytes, 4 * bitmap.Width);
            for (var x = 0; x < bitmap.Width; x++)
            {
                var p = y * bitmap.Width + x;
                target[p] = row[4 * x];
                target[plane + p] = row[4 * x + 1];
                target[2 * plane + p] = row[4 * x + 2];
            }
        }
    }

    /// <summary>Encodes a 3 x H x W image as PNG (lossless).</summary>
    public static byte[] EncodePng(ReadOnlySpan<byte> image, int height, int width)
    {
        using var bitmap = ToBitmap(image, height, width);
        return Encode(bitmap);
    }

    /// <summary>A PNG no larger than <paramref name="maxSide"/> on either side (downscaled keeping the aspect when the image is larger).</summary>
    public static byte[] EncodeThumbnail(ReadOnlySpan<byte> image, int height, int width, int maxSide)
    {
        using var bitmap = ToBitmap(image, height, width);
        if (Math.Max(height, width) <= maxSide) return Encode(bitmap);
        var scale = (double)maxSide / Math.Max(height, width);
        var info = new SKImageInfo(Math.Max(1, (int)Math.Round(width * scale)), Math.Max(1, (int)Math.Round(height * scale)), SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var small = bitmap.Resize(info, Downscaling) ?? throw new InvalidOperationException("thumbnail resize failed");
        return Encode(small);
    }

    private static SKBitmap ToBitmap(ReadOnlySpan<byte> image, int height, int width)
    {
        var plane = height * width;
        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        var rgba = bitmap.GetPixelSpan();
        for (var p = 0; p < plane; p++)
        {
            rgba[4 * p] = image[p];
            rgba[4 * p + 1] = image[plane + p];
            rgba[4 * p + 2] = image[2 * plane + p];
            rgba[4 * p + 3] = 255;
        }
        return bitmap;
    }

    private static byte[] Encode(SKBitmap bitmap)
    {
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100)
            ?? throw new InvalidOperationException("PNG encoding failed");
        return data.ToArray();
    }

    private static SKCodec? OpenCodec(string path)
    {
        try
        {
            var stream = new SKFileStream(path);
            if (!stream.IsValid)
            {
                stream.Dispose();
                return null;
            }
            var codec = SKCodec.Create(stream);
            if (codec is null) stream.Dispose();
            return codec;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
