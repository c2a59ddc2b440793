using Flare.Data;

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
}
