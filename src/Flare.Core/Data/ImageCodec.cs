using SkiaSharp;

namespace Flare.Data;

/// <summary>Decodes JPEG/PNG files to 8-bit RGB (C x H x W) and encodes images as lossless PNG.</summary>
public static class ImageCodec
{
    public static readonly IReadOnlySet<string> ImageExtensions =
        new HashSet<string>(StringComparer.OrdinalIgnoreCase) { ".png", ".jpg", ".jpeg" };

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

    /// <summary>Decodes into <paramref name="target"/> (3 x H x W); false when the file is corrupt or of another size.</summary>
    public static bool TryDecode(string path, int height, int width, Span<byte> target, out string? problem)
    {
        using var codec = OpenCodec(path);
        if (codec is null)
        {
            problem = "not a readable JPEG or PNG image";
            return false;
        }
        if (codec.Info.Height != height || codec.Info.Width != width)
        {
            problem = $"is {codec.Info.Width}x{codec.Info.Height} but the other images are {width}x{height}";
            return false;
        }
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var rgba = new byte[info.BytesSize];
        unsafe
        {
            fixed (byte* buffer = rgba)
            {
                var result = codec.GetPixels(info, (IntPtr)buffer);
                if (result != SKCodecResult.Success)
                {
                    problem = $"corrupt image ({result})";
                    return false;
                }
            }
        }
        var plane = height * width;
        for (var p = 0; p < plane; p++)
        {
            target[p] = rgba[4 * p];
            target[plane + p] = rgba[4 * p + 1];
            target[2 * plane + p] = rgba[4 * p + 2];
        }
        problem = null;
        return true;
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
