using Flare.Tests.Support;
using SkiaSharp;

namespace Flare.Tests.Cli;

[Collection(TorchCollection.Name)]
public class ImageSizeCliTests
{
    [Fact]
    public void PurifyReadsMixedSizesAndFormatsWithImageSizeAndCopiesTheOriginalFiles()
    {
        using var temp = new TempFolder();
        var data = temp.Combine("photos");
        var random = new SeededRandom(4);
        var sizes = new[] { (20, 20), (24, 16), (40, 30) };
        for (var c = 0; c < 3; c++)
        {
            Directory.CreateDirectory(Path.Combine(data, $"class{c}"));
            for (var i = 0; i < 20; i++)
            {
                var (width, height) = sizes[i % sizes.Length];
                using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
                for (var y = 0; y < height; y++)
                    for (var x = 0; x < width; x++)
                        bitmap.SetPixel(x, y, new SKColor((byte)(60 * c + random.NextInt(60)), (byte)random.NextInt(256), (byte)(200 - 60 * c)));
                var jpeg = i % 2 == 1;
                using var encoded = bitmap.Encode(jpeg ? SKEncodedImageFormat.Jpeg : SKEncodedImageFormat.Png, 90);
                File.WriteAllBytes(Path.Combine(data, $"class{c}", $"{i:D2}.{(jpeg ? "jpg" : "png")}"), encoded.ToArray());
            }
        }

        CliProcess.AssertOneLineError(CliProcess.Run("purify", "--data", data, "--out", temp.Combine("refused"), "--width", "2", "--epochs", "1"), "3 different sizes");

        var output = temp.Combine("out");
        var purify = CliProcess.Run("purify", "--data", data, "--out", output, "--width", "2", "--epochs", "1", "--image-size", "16", "--min-cluster-size", "5");

        Assert.True(purify.ExitCode == 0, purify.Error);
        var kept = Directory.GetFiles(Path.Combine(output, "purified"), "*", SearchOption.AllDirectories);
        var removed = File.ReadAllLines(Path.Combine(output, "removed.csv")).Length - 1;
        Assert.Equal(60, kept.Length + removed);
        foreach (var copy in kept)
        {
            var relative = Path.GetRelativePath(Path.Combine(output, "purified"), copy);
            Assert.Equal(File.ReadAllBytes(Path.Combine(data, relative)), File.ReadAllBytes(copy));
        }
        var report = File.ReadAllText(Path.Combine(output, "report.html"));
        Assert.Contains("file formats: jpeg (30), png (30)", report);
        Assert.Contains("scaled to 16x16 (shorter side to 16, centre crop) from 3 sizes", report);
    }
}
