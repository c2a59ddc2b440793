using Flare.Data;
using Flare.Tests.Support;
using SkiaSharp;

namespace Flare.Tests.Data;

public class ImageFolderReaderTests
{
    [Fact]
    public void PngFolderRoundTripsPixelsLabelsAndSortedClasses()
    {
        using var temp = new TempFolder();
        var images = SyntheticImages.Create(perClass: 4, classes: 3);
        SyntheticImages.WriteFolder(images, temp.Path);

        var read = ImageFolderReader.Read(temp.Path);

        Assert.Equal(["class0", "class1", "class2"], read.ClassNames);
        Assert.Equal(images.Count, read.Count);
        // Files sort by name within a class; rebuild the expected order from the written names.
        var expected = Enumerable.Range(0, images.Count).OrderBy(i => images.Labels[i]).ThenBy(i => $"{i:D4}.png", StringComparer.Ordinal).ToArray();
        for (var i = 0; i < read.Count; i++)
        {
            Assert.Equal(images.Labels[expected[i]], read.Labels[i]);
            Assert.True(images.Image(expected[i]).SequenceEqual(read.Image(i)), $"image {i} differs after the PNG round trip");
        }
        Assert.Equal(Path.Combine("class0", "0000.png"), read.SourcePaths[0]);
    }

    [Fact]
    public void ClassesAreSortedOrdinallyAndRootFilesIgnored()
    {
        using var temp = new TempFolder();
        var images = SyntheticImages.Create(perClass: 1, classes: 2);
        foreach (var name in new[] { "b", "B", "a" })
        {
            Directory.CreateDirectory(temp.Combine(name));
            File.WriteAllBytes(temp.Combine(name, "x.png"), ImageCodec.EncodePng(images.Image(0), images.Height, images.Width));
        }
        File.WriteAllText(temp.Combine("manifest.csv"), "not an image, but outside the class folders");

        Assert.Equal(["B", "a", "b"], ImageFolderReader.Read(temp.Path).ClassNames);
    }

    [Fact]
    public void ReadsJpegAsRgb()
    {
        using var temp = new TempFolder();
        Directory.CreateDirectory(temp.Combine("red"));
        using (var bitmap = new SKBitmap(16, 16))
        {
            bitmap.Erase(new SKColor(250, 10, 10));
            using var data = bitmap.Encode(SKEncodedImageFormat.Jpeg, 95);
            File.WriteAllBytes(temp.Combine("red", "r.jpg"), data.ToArray());
        }
        Directory.CreateDirectory(temp.Combine("other"));
        File.Copy(temp.Combine("red", "r.jpg"), temp.Combine("other", "o.JPEG"));

        var read = ImageFolderReader.Read(temp.Path);

        Assert.Equal(16, read.Height);
        var image = read.Image(1);
        Assert.InRange(image[0], 240, 255);
        Assert.InRange(image[256], 0, 25);
        Assert.InRange(image[512], 0, 25);
    }

    [Fact]
    public void LimitChoosesADeterministicClassBalancedSubset()
    {
        using var temp = new TempFolder();
        SyntheticImages.WriteFolder(SyntheticImages.Create(perClass: 10, classes: 3), temp.Path);

        var first = ImageFolderReader.Read(temp.Path, limit: 7);
        var second = ImageFolderReader.Read(temp.Path, limit: 7);

        Assert.Equal(7, first.Count);
        Assert.Equal([3, 2, 2], first.CountPerClass());
        Assert.Equal(first.SourcePaths, second.SourcePaths);
        Assert.NotEqual(["class0/0000.png", "class0/0003.png", "class0/0006.png"], first.SourcePaths.Take(3));
    }

    [Fact]
    public void CifarBinaryBatchesAreRead()
    {
        using var temp = new TempFolder();
        var record = new byte[3073 * 2];
        record[0] = 3;
        record[1] = 200;
        record[3073] = 9;
        record[3073 + 1 + 1024] = 100;
        File.WriteAllBytes(temp.Combine("data_batch_1.bin"), record);

        var read = ImageSource.Load(temp.Path);

        Assert.Equal(2, read.Count);
        Assert.Equal([3, 9], read.Labels);
        Assert.Equal("airplane", read.ClassNames[0]);
        Assert.Equal(200, read.Image(0)[0]);
        Assert.Equal(100, read.Image(1)[1024]);
    }

    [Fact]
    public void BadFoldersGiveOneClearError()
    {
        using var temp = new TempFolder();
        var image = SyntheticImages.Create(perClass: 1, classes: 1);
        var png = ImageCodec.EncodePng(image.Image(0), image.Height, image.Width);

        AssertError(temp.Combine("missing"), "folder not found");

        Directory.CreateDirectory(temp.Combine("empty"));
        AssertError(temp.Combine("empty"), "no class folders");

        Directory.CreateDirectory(temp.Combine("emptyclass", "a"));
        Directory.CreateDirectory(temp.Combine("emptyclass", "b"));
        File.WriteAllBytes(temp.Combine("emptyclass", "a", "1.png"), png);
        AssertError(temp.Combine("emptyclass"), "class folder has no images");

        Directory.CreateDirectory(temp.Combine("text", "a"));
        File.WriteAllText(temp.Combine("text", "a", "notes.txt"), "hello");
        AssertError(temp.Combine("text"), "notes.txt: not an image");

        Directory.CreateDirectory(temp.Combine("corrupt", "a"));
        File.WriteAllBytes(temp.Combine("corrupt", "a", "1.png"), png);
        File.WriteAllBytes(temp.Combine("corrupt", "a", "2.png"), png[..(png.Length / 2)]);
        AssertError(temp.Combine("corrupt"), "2.png");

        Directory.CreateDirectory(temp.Combine("sizes", "a"));
        File.WriteAllBytes(temp.Combine("sizes", "a", "1.png"), png);
        var big = SyntheticImages.Create(perClass: 1, classes: 1, height: 12, width: 12);
        File.WriteAllBytes(temp.Combine("sizes", "a", "2.png"), ImageCodec.EncodePng(big.Image(0), 12, 12));
        AssertError(temp.Combine("sizes"), "is 12x12 but the other images are 8x8; the folder holds images of 2 different sizes");
    }

    private static void AssertError(string folder, string expected)
    {
        var error = Assert.Throws<FlareException>(() => ImageFolderReader.Read(folder));
        Assert.Contains(expected, error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }
}

public class ImageFormatAndSizeTests
{
    [Fact]
    public void ReadsEveryFormatAsThreeChannelsAndRecordsIt()
    {
        using var temp = new TempFolder();
        Directory.CreateDirectory(temp.Combine("a"));
        Directory.CreateDirectory(temp.Combine("b"));
        // The same 8x8 picture (left half red, right half blue) in four formats, plus grayscale and alpha.
        File.WriteAllBytes(temp.Combine("a", "1.png"), Encode(HalfAndHalf(), SKEncodedImageFormat.Png));
        File.WriteAllBytes(temp.Combine("a", "2.webp"), Encode(HalfAndHalf(), SKEncodedImageFormat.Webp));
        File.WriteAllBytes(temp.Combine("a", "3.bmp"), SyntheticImages.Bmp(HalfAndHalf()));
        File.WriteAllBytes(temp.Combine("b", "4.jpg"), Encode(HalfAndHalf(), SKEncodedImageFormat.Jpeg));
        using (var gray = new SKBitmap(new SKImageInfo(8, 8, SKColorType.Gray8, SKAlphaType.Opaque)))
        {
            gray.Erase(new SKColor(100, 100, 100));
            File.WriteAllBytes(temp.Combine("b", "5.png"), Encode(gray, SKEncodedImageFormat.Png));
        }
        using (var alpha = new SKBitmap(new SKImageInfo(8, 8, SKColorType.Rgba8888, SKAlphaType.Unpremul)))
        {
            alpha.Erase(new SKColor(10, 200, 30, 128));
            File.WriteAllBytes(temp.Combine("b", "6.png"), Encode(alpha, SKEncodedImageFormat.Png));
        }

        var read = ImageFolderReader.Read(temp.Path);

        Assert.Equal(["png", "webp", "bmp", "jpeg", "png", "png"], read.Formats!);
        Assert.Equal("png (3), bmp (1), jpeg (1), webp (1)", read.FormatSummary());
        Assert.Null(read.Resizing);
        for (var i = 0; i < 3; i++) // lossless formats are exact; WebP from SkiaSharp at quality 100 is lossy but close
            AssertHalfAndHalf(read.Image(i), tolerance: i == 1 ? 12 : 0);
        AssertHalfAndHalf(read.Image(3), tolerance: 40);
        Assert.All(read.Image(4).ToArray(), value => Assert.Equal(100, value));
        var plane = 64;
        Assert.Equal([10, 200, 30], new[] { read.Image(5)[0], read.Image(5)[plane], read.Image(5)[2 * plane] });
    }

    [Fact]
    public void MixedSizesAreAnErrorNamingAFileAndTheNumberOfSizesUnlessResized()
    {
        using var temp = new TempFolder();
        Directory.CreateDirectory(temp.Combine("a"));
        Directory.CreateDirectory(temp.Combine("b"));
        // 40x20: red, green, blue columns of 10, 20, 10 pixels; the centre crop is the green 20x20.
        using (var wide = new SKBitmap(new SKImageInfo(40, 20, SKColorType.Rgba8888, SKAlphaType.Unpremul)))
        {
            for (var y = 0; y < 20; y++)
                for (var x = 0; x < 40; x++)
                    wide.SetPixel(x, y, x < 10 ? SKColors.Red : x < 30 ? SKColors.Lime : SKColors.Blue);
            File.WriteAllBytes(temp.Combine("a", "wide.png"), Encode(wide, SKEncodedImageFormat.Png));
        }
        File.WriteAllBytes(temp.Combine("a", "small.png"), Encode(HalfAndHalf(), SKEncodedImageFormat.Png));
        File.WriteAllBytes(temp.Combine("b", "tall.jpg"), Encode(Checkerboard(30, 60), SKEncodedImageFormat.Jpeg));
        var original = File.ReadAllBytes(temp.Combine("a", "wide.png"));

        var error = Assert.Throws<FlareException>(() => ImageFolderReader.Read(temp.Path));
        Assert.Contains("3 different sizes", error.Message);
        Assert.Contains("--image-size", error.Message);
        Assert.Matches("(wide|small|tall)\\.(png|jpg): is ", error.Message);

        var read = ImageFolderReader.Read(temp.Path, imageSize: 12);
        Assert.Equal((12, 12), (read.Height, read.Width));
        Assert.Equal("scaled to 12x12 (shorter side to 12, centre crop) from 3 sizes", read.Resizing);
        var green = read.Image(Array.IndexOf(read.SourcePaths, Path.Combine("a", "wide.png")));
        Assert.All(green[..144].ToArray(), red => Assert.True(red <= 3, $"red {red}"));
        Assert.All(green[144..288].ToArray(), g => Assert.True(g >= 252, $"green {g}"));
        Assert.Equal(original, File.ReadAllBytes(temp.Combine("a", "wide.png")));
    }

    [Fact]
    public void DownscalingAveragesFineDetailInsteadOfAliasing()
    {
        using var temp = new TempFolder();
        Directory.CreateDirectory(temp.Combine("a"));
        Directory.CreateDirectory(temp.Combine("b"));
        // A one-pixel checkerboard scaled 256 -> 16: a point or nearest sampler returns pure black
        // or white, a filtered one the mean grey.
        File.WriteAllBytes(temp.Combine("a", "1.png"), Encode(Checkerboard(256, 256), SKEncodedImageFormat.Png));
        File.WriteAllBytes(temp.Combine("b", "2.png"), Encode(Checkerboard(256, 256), SKEncodedImageFormat.Png));

        var read = ImageFolderReader.Read(temp.Path, imageSize: 16);

        Assert.All(read.Image(0).ToArray(), value => Assert.InRange(value, 100, 155));
    }

    private static SKBitmap HalfAndHalf()
    {
        var bitmap = new SKBitmap(new SKImageInfo(8, 8, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        for (var y = 0; y < 8; y++)
            for (var x = 0; x < 8; x++) bitmap.SetPixel(x, y, x < 4 ? new SKColor(200, 0, 0) : new SKColor(0, 0, 200));
        return bitmap;
    }

    private static SKBitmap Checkerboard(int width, int height)
    {
        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++) bitmap.SetPixel(x, y, (x + y) % 2 == 0 ? SKColors.Black : SKColors.White);
        return bitmap;
    }

    private static void AssertHalfAndHalf(Span<byte> image, int tolerance)
    {
        const int plane = 64;
        for (var p = 0; p < plane; p++)
        {
            var left = p % 8 < 4;
            if (p % 8 is 3 or 4) continue; // lossy formats blur the edge
            Assert.InRange(image[p], left ? 200 - tolerance : 0, left ? 200 + tolerance : tolerance);
            Assert.InRange(image[2 * plane + p], left ? 0 : 200 - tolerance, left ? tolerance : 200 + tolerance);
        }
    }

    private static byte[] Encode(SKBitmap bitmap, SKEncodedImageFormat format)
    {
        using (bitmap)
        using (var data = bitmap.Encode(format, 100)) return data.ToArray();
    }
}
