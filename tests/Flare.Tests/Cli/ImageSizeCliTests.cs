using Flare.Tests.Support;
using SkiaSharp;

namespace Flare.Tests.Cli;

[Collection(TorchCollection.Name)]
public class ImageSizeCliTests
{
    private static readonly (int Width, int Height)[] Sizes = [(20, 20), (24, 16), (16, 30), (40, 30)];
    private static readonly string[] Extensions = ["png", "jpg", "webp", "bmp"];

    [Fact]
    public void PurifyAndCompareReadMixedPhotosWithImageSizeAndPurifyCopiesTheOriginalFiles()
    {
        using var temp = new TempFolder();
        var data = WritePhotos(temp.Combine("photos"), perClass: 20, seed: 4);
        var test = WritePhotos(temp.Combine("test-photos"), perClass: 4, seed: 5);
        var originals = Directory.GetFiles(data, "*", SearchOption.AllDirectories).ToDictionary(f => f, File.ReadAllBytes);

        var refused = CliProcess.Run("purify", "--data", data, "--out", temp.Combine("refused"), "--width", "2", "--epochs", "1");
        CliProcess.AssertOneLineError(refused, "4 different sizes");
        Assert.Matches("[0-9]{2}\\.(png|jpg|webp|bmp): is [0-9]+x[0-9]+", refused.Error);
        Assert.False(Directory.Exists(temp.Combine("refused")));

        var output = temp.Combine("out");
        var purify = CliProcess.Run("purify", "--data", data, "--out", output, "--width", "2", "--epochs", "1", "--image-size", "16", "--min-cluster-size", "5",
            "--test", test);

        Assert.True(purify.ExitCode == 0, purify.Error);
        Assert.Contains("(12 test images)", purify.Output);
        var kept = Directory.GetFiles(Path.Combine(output, "purified"), "*", SearchOption.AllDirectories);
        var removed = File.ReadAllLines(Path.Combine(output, "removed.csv")).Length - 1;
        Assert.Equal(60, kept.Length + removed);
        foreach (var copy in kept)
        {
            var original = Path.Combine(data, Path.GetRelativePath(Path.Combine(output, "purified"), copy));
            Assert.Equal(originals[original], File.ReadAllBytes(copy));
        }
        Assert.All(originals, o => Assert.Equal(o.Value, File.ReadAllBytes(o.Key)));
        foreach (var report in new[] { "report.html", "report.md" })
        {
            var text = File.ReadAllText(Path.Combine(output, report));
            Assert.Contains("file formats: bmp (15), jpeg (15), png (15), webp (15)", text);
            Assert.Contains("scaled to 16x16 (shorter side to 16, centre crop) from 4 sizes", text);
        }

        // compare reads the same folder, and its clean reserve, at the model's size.
        var compare = CliProcess.Run("compare", "--data", data, "--model", Path.Combine(output, "model.ckpt"), "--image-size", "16",
            "--clean", test, "--detectors", "ss", "--out", temp.Combine("compare"));
        Assert.True(compare.ExitCode == 0, compare.Error);
        Assert.True(File.Exists(temp.Combine("compare", "comparison.md")));
    }

    /// <summary>
    /// Three classes of "photos": four sizes and aspect ratios, JPEG, PNG, WebP and BMP in turn,
    /// every sixth one grayscale and every sixth (offset) with a varying alpha channel.
    /// </summary>
    private static string WritePhotos(string root, int perClass, ulong seed)
    {
        var random = new SeededRandom(seed);
        for (var c = 0; c < 3; c++)
        {
            Directory.CreateDirectory(Path.Combine(root, $"class{c}"));
            for (var i = 0; i < perClass; i++)
            {
                var (width, height) = Sizes[i % Sizes.Length];
                var gray = i % 6 == 1;
                var bitmap = new SKBitmap(new SKImageInfo(width, height, gray ? SKColorType.Gray8 : SKColorType.Rgba8888, gray ? SKAlphaType.Opaque : SKAlphaType.Unpremul));
                for (var y = 0; y < height; y++)
                    for (var x = 0; x < width; x++)
                    {
                        var alpha = i % 6 == 2 ? (byte)(55 + 200 * x / width) : (byte)255;
                        bitmap.SetPixel(x, y, new SKColor((byte)(60 * c + random.NextInt(60)), (byte)random.NextInt(256), (byte)(200 - 60 * c), alpha));
                    }
                var extension = Extensions[i % Extensions.Length];
                var path = Path.Combine(root, $"class{c}", $"{i:D2}.{extension}");
                if (extension == "bmp")
                {
                    File.WriteAllBytes(path, SyntheticImages.Bmp(bitmap));
                    continue;
                }
                using (bitmap)
                using (var encoded = bitmap.Encode(extension == "jpg" ? SKEncodedImageFormat.Jpeg : extension == "png" ? SKEncodedImageFormat.Png : SKEncodedImageFormat.Webp, 90))
                    File.WriteAllBytes(path, encoded.ToArray());
            }
        }
        return root;
    }
}
