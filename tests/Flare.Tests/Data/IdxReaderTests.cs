using System.Buffers.Binary;
using System.IO.Compression;
using System.Text.Json;
using Flare.Data;
using Flare.Tests.Support;

namespace Flare.Tests.Data;

public class IdxReaderTests
{
    internal const int Side = 28;

    [Fact]
    public void ReadsGreyImagesAsThreeEqualChannelsWithNumberedClasses()
    {
        using var temp = new TempFolder();
        var (pixels, labels) = Fixture(count: 5, classes: 3, seed: 1);
        WriteSet(temp.Path, "set", pixels, labels, gzip: false);

        var read = ImageSource.Load(temp.Path);

        Assert.Equal((Side, Side), (read.Height, read.Width));
        Assert.Equal(labels.Select(l => (int)l), read.Labels);
        Assert.Equal(["0", "1", "2"], read.ClassNames);
        const int plane = Side * Side;
        for (var i = 0; i < labels.Length; i++)
            for (var c = 0; c < ImageSet.Channels; c++)
                Assert.True(read.Image(i).Slice(c * plane, plane).SequenceEqual(pixels.AsSpan(i * plane, plane)), $"image {i} channel {c}");
        Assert.Equal("set-images-idx3-ubyte#4", read.SourcePaths[4]);
    }

    [Fact]
    public void AFolderWithTrainAndTestSetsIsNamedByPrefixOrImageFile()
    {
        using var temp = new TempFolder();
        var folder = temp.Combine("fashion-mnist");
        Directory.CreateDirectory(folder);
        var (trainPixels, trainLabels) = Fixture(count: 40, classes: 10, seed: 2);
        var (testPixels, testLabels) = Fixture(count: 10, classes: 10, seed: 3);
        WriteSet(folder, "train", trainPixels, trainLabels, gzip: true);
        WriteSet(folder, "t10k", testPixels, testLabels, gzip: true);

        var error = Assert.Throws<FlareException>(() => ImageSource.Load(folder));
        Assert.Contains("several IDX sets (t10k, train)", error.Message);

        var train = ImageSource.Load(Path.Combine(folder, "train"));
        var test = ImageSource.Load(Path.Combine(folder, "t10k-images-idx3-ubyte.gz"));
        Assert.Equal(40, train.Count);
        Assert.Equal(10, test.Count);
        Assert.Equal(testLabels.Select(l => (int)l), test.Labels);
        Assert.Equal(IdxReader.FashionClassNames, train.ClassNames);
        Assert.Equal("1-trouser", train.ClassNames[1]);
        // Folder names sort into label order, so a poisoned copy written as an image folder keeps the class indices.
        Assert.Equal(train.ClassNames, train.ClassNames.Order(StringComparer.Ordinal));

        var subset = ImageSource.Load(Path.Combine(folder, "train"), limit: 20);
        Assert.Equal(20, subset.Count);
        Assert.All(subset.CountPerClass(), n => Assert.Equal(2, n));
    }

    [Fact]
    public void BadIdxFilesGiveOneLineNamingTheFile()
    {
        using var temp = new TempFolder();
        var (pixels, labels) = Fixture(count: 4, classes: 2, seed: 4);

        string Folder(string name, byte[] labelsToWrite, bool gzip = false)
        {
            var folder = temp.Combine(name);
            Directory.CreateDirectory(folder);
            WriteSet(folder, "a", pixels, labelsToWrite, gzip);
            return folder;
        }

        var missingLabels = Folder("nolabels", labels);
        File.Delete(Path.Combine(missingLabels, "a-labels-idx1-ubyte"));
        AssertError(missingLabels, "no label file a-labels-idx1-ubyte");

        AssertError(Folder("fewer", labels[..3]), "3 labels for the 4 images");

        var truncated = Folder("truncated", labels);
        var file = Path.Combine(truncated, "a-images-idx3-ubyte");
        File.WriteAllBytes(file, File.ReadAllBytes(file)[..100]);
        AssertError(truncated, "must hold 3152 bytes, it holds 100");

        var wrongMagic = Folder("magic", labels);
        File.Copy(Path.Combine(wrongMagic, "a-labels-idx1-ubyte"), Path.Combine(wrongMagic, "a-images-idx3-ubyte"), overwrite: true);
        AssertError(wrongMagic, "not an IDX image file");

        var mixed = Folder("mixed", labels);
        Directory.CreateDirectory(Path.Combine(mixed, "cats"));
        AssertError(mixed, "holds both IDX files (a-images-idx3-ubyte) and class folders (cats/)");

        var badGzip = Folder("gzip", labels, gzip: true);
        var gz = Path.Combine(badGzip, "a-images-idx3-ubyte.gz");
        File.WriteAllBytes(gz, File.ReadAllBytes(gz)[..30]);
        AssertError(badGzip, "a-images-idx3-ubyte.gz");
    }

    private static void AssertError(string path, string expected)
    {
        var error = Assert.Throws<FlareException>(() => ImageSource.Load(path));
        Assert.Contains(expected, error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    /// <summary>Random grey 28x28 images; labels cycle through the classes.</summary>
    internal static (byte[] Pixels, byte[] Labels) Fixture(int count, int classes, ulong seed)
    {
        var random = new SeededRandom(seed);
        var pixels = Enumerable.Range(0, count * Side * Side).Select(_ => (byte)random.NextInt(256)).ToArray();
        var labels = Enumerable.Range(0, count).Select(i => (byte)(i % classes)).ToArray();
        return (pixels, labels);
    }

    internal static void WriteSet(string folder, string prefix, byte[] pixels, byte[] labels, bool gzip)
    {
        var images = new byte[16 + pixels.Length];
        BinaryPrimitives.WriteInt32BigEndian(images, 0x803);
        BinaryPrimitives.WriteInt32BigEndian(images.AsSpan(4), pixels.Length / (Side * Side));
        BinaryPrimitives.WriteInt32BigEndian(images.AsSpan(8), Side);
        BinaryPrimitives.WriteInt32BigEndian(images.AsSpan(12), Side);
        pixels.CopyTo(images, 16);
        var labelFile = new byte[8 + labels.Length];
        BinaryPrimitives.WriteInt32BigEndian(labelFile, 0x801);
        BinaryPrimitives.WriteInt32BigEndian(labelFile.AsSpan(4), labels.Length);
        labels.CopyTo(labelFile, 8);
        Write(Path.Combine(folder, prefix + IdxReader.ImagesSuffix), images, gzip);
        Write(Path.Combine(folder, prefix + IdxReader.LabelsSuffix), labelFile, gzip);
    }

    private static void Write(string file, byte[] content, bool gzip)
    {
        if (!gzip)
        {
            File.WriteAllBytes(file, content);
            return;
        }
        using var stream = File.Create(file + ".gz");
        using var zip = new GZipStream(stream, CompressionLevel.Fastest);
        zip.Write(content);
    }
}

[Collection(TorchCollection.Name)]
public class IdxCliTests
{
    [Fact]
    public void PoisonAndTrainReadIdxFilesAndTheResNetTrainsOnTwentyEightPixelImages()
    {
        using var temp = new TempFolder();
        var folder = temp.Combine("fashion");
        Directory.CreateDirectory(folder);
        var (pixels, labels) = IdxReaderTests.Fixture(count: 60, classes: 10, seed: 5);
        IdxReaderTests.WriteSet(folder, "train", pixels, labels, gzip: true);
        var (testPixels, testLabels) = IdxReaderTests.Fixture(count: 20, classes: 10, seed: 6);
        IdxReaderTests.WriteSet(folder, "t10k", testPixels, testLabels, gzip: true);

        var poisoned = temp.Combine("poisoned");
        var poison = CliProcess.Run("poison", "--data", Path.Combine(folder, "train"), "--test", Path.Combine(folder, "t10k"),
            "--attack", "rotated-patch", "--mode", "a2a", "--rate", "0.1", "--out", poisoned, "--json");
        Assert.True(poison.ExitCode == 0, poison.Error);
        Assert.Equal(IdxReader.FashionClassNames, Directory.GetDirectories(Path.Combine(poisoned, "train")).Select(Path.GetFileName).Order(StringComparer.Ordinal));

        var checkpoint = temp.Combine("m.ckpt");
        var train = CliProcess.Run("train", "--data", Path.Combine(folder, "train"), "--limit", "30", "--width", "2", "--epochs", "1",
            "--test", Path.Combine(folder, "t10k"), "--out", checkpoint, "--json");
        Assert.True(train.ExitCode == 0, train.Error);
        using var summary = JsonDocument.Parse(train.Output);
        Assert.Equal(30, summary.RootElement.GetProperty("train_samples").GetInt32());

        var eval = CliProcess.Run("eval", "--model", checkpoint, "--data", Path.Combine(folder, "t10k"), "--attack", poisoned, "--json");
        Assert.True(eval.ExitCode == 0, eval.Error);
        using var result = JsonDocument.Parse(eval.Output);
        Assert.Equal(20, result.RootElement.GetProperty("triggered_samples").GetInt32());
    }
}
