using Flare.Data;
using SkiaSharp;

namespace Flare.Tests.Support;

/// <summary>Small generated image sets and folders for reader, writer and attack tests.</summary>
public static class SyntheticImages
{
    /// <summary>Random images: class c gets a mean brightness that grows with c, so classes differ.</summary>
    public static ImageSet Create(int perClass, int classes = 3, int height = 8, int width = 8, ulong seed = 1)
    {
        var random = new SeededRandom(seed);
        var count = perClass * classes;
        var bytes = ImageSet.Channels * height * width;
        var pixels = new byte[count * bytes];
        var labels = new int[count];
        var paths = new string[count];
        for (var i = 0; i < count; i++)
        {
            labels[i] = i % classes;
            for (var p = 0; p < bytes; p++)
                pixels[i * bytes + p] = (byte)Math.Clamp(40 + 60 * labels[i] + random.NextInt(60), 0, 255);
            paths[i] = $"image{i:D4}";
        }
        var names = Enumerable.Range(0, classes).Select(c => $"class{c}").ToArray();
        return new ImageSet(height, width, pixels, labels, names, paths, null);
    }

    /// <summary>Writes a set as an image folder of PNGs and returns the folder.</summary>
    public static string WriteFolder(ImageSet images, string root)
    {
        ImageFolderWriter.Write(images, root, Enumerable.Range(0, images.Count).Select(i => $"{i:D4}.png").ToArray());
        return root;
    }

    /// <summary>A 24-bit bottom-up BMP (SkiaSharp decodes BMP but does not encode it).</summary>
    public static byte[] Bmp(SKBitmap bitmap)
    {
        using (bitmap)
        {
            var rowBytes = (3 * bitmap.Width + 3) / 4 * 4;
            var size = 54 + rowBytes * bitmap.Height;
            using var stream = new MemoryStream();
            using var writer = new BinaryWriter(stream);
            writer.Write("BM"u8);
            writer.Write(size);
            writer.Write(0);
            writer.Write(54);
            writer.Write(40);
            writer.Write(bitmap.Width);
            writer.Write(bitmap.Height);
            writer.Write((short)1);
            writer.Write((short)24);
            writer.Write(0);
            writer.Write(rowBytes * bitmap.Height);
            writer.Write(2835);
            writer.Write(2835);
            writer.Write(0);
            writer.Write(0);
            for (var y = bitmap.Height - 1; y >= 0; y--)
            {
                for (var x = 0; x < bitmap.Width; x++)
                {
                    var colour = bitmap.GetPixel(x, y);
                    writer.Write([colour.Blue, colour.Green, colour.Red]);
                }
                for (var pad = 3 * bitmap.Width; pad < rowBytes; pad++) writer.Write((byte)0);
            }
            writer.Flush();
            return stream.ToArray();
        }
    }
}
