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
        AssertError(temp.Combine("sizes"), "is 12x12 but the other images are 8x8");
    }

    private static void AssertError(string folder, string expected)
    {
        var error = Assert.Throws<FlareException>(() => ImageFolderReader.Read(folder));
        Assert.Contains(expected, error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }
}
