using Flare.Models;
using Flare.Native;
using Flare.Tests.Support;
using Flare.Training;
using TorchSharp;

namespace Flare.Tests.Training;

[Collection(TorchCollection.Name)]
public class CheckpointTests
{
    public CheckpointTests() => TorchRuntime.EnsureLoaded();

    [Fact]
    public void RoundTripKeepsWeightsBatchNormStatisticsAndMetadata()
    {
        using var temp = new TempFolder();
        torch.manual_seed(3);
        using var model = new ResNet18(4, 3);
        // Move BatchNorm running statistics off their defaults so the round trip has to carry them.
        model.train();
        using (torch.no_grad()) model.call(torch.randn(8, 3, 32, 32) * 3 + 1).Dispose();
        model.eval();
        var metadata = Metadata(["a", "b", "c"]);
        var path = temp.Combine("model.ckpt");

        Checkpoint.Save(path, model, metadata);
        var (loaded, readBack) = Checkpoint.Load(path);

        using (loaded)
        {
            using var input = torch.randn(5, 3, 32, 32);
            using var noGrad = torch.no_grad();
            Assert.True(torch.equal(model.call(input), loaded.call(input)).all().item<bool>());
        }
        Assert.Equal(metadata.ClassNames, readBack.ClassNames);
        Assert.Equal(metadata.Mean, readBack.Mean);
        Assert.Equal(metadata.TrainingDataHash, readBack.TrainingDataHash);
        Assert.Equal("resnet18", readBack.Architecture);
        Assert.Equal(4, readBack.Width);
        Assert.Empty(Directory.GetFiles(temp.Path, "*.tmp", SearchOption.AllDirectories));
    }

    [Fact]
    public void RecordsTheStemAndLoadsCheckpointsWrittenBeforeItWasRecorded()
    {
        using var temp = new TempFolder();
        using var wide = new ResNet18(4, 3, InputStem.ImageNet);
        wide.eval();
        var imageNetPath = temp.Combine("imagenet.ckpt");
        Checkpoint.Save(imageNetPath, wide, Metadata(["a", "b", "c"]) with { Stem = "imagenet", ImageHeight = 96, ImageWidth = 96 });
        var (loadedWide, wideMetadata) = Checkpoint.Load(imageNetPath);
        using (loadedWide)
        {
            Assert.Equal("imagenet", wideMetadata.Stem);
            using var input = torch.randn(2, 3, 96, 96);
            using var noGrad = torch.no_grad();
            Assert.True(torch.equal(wide.call(input), loadedWide.call(input)).all().item<bool>());
        }

        // A checkpoint from before the stem was recorded: the metadata JSON has no "stem" field.
        using var old = new ResNet18(4, 3);
        old.eval();
        var oldPath = temp.Combine("old.ckpt");
        Checkpoint.Save(oldPath, old, Metadata(["a", "b", "c"]));
        var bytes = File.ReadAllBytes(oldPath);
        var length = BitConverter.ToInt32(bytes, 8);
        var json = System.Text.Encoding.UTF8.GetString(bytes, 12, length);
        var withoutStem = System.Text.RegularExpressions.Regex.Replace(json, "\\s*\"stem\": \"cifar\",", "");
        Assert.NotEqual(json, withoutStem);
        var stripped = System.Text.Encoding.UTF8.GetBytes(withoutStem);
        File.WriteAllBytes(oldPath, [.. bytes[..8], .. BitConverter.GetBytes(stripped.Length), .. stripped, .. bytes[(12 + length)..]]);
        var (loadedOld, oldMetadata) = Checkpoint.Load(oldPath);
        using (loadedOld)
        {
            Assert.Equal("cifar", oldMetadata.Stem);
            using var input = torch.randn(2, 3, 32, 32);
            using var noGrad = torch.no_grad();
            Assert.True(torch.equal(old.call(input), loadedOld.call(input)).all().item<bool>());
        }
    }

    [Fact]
    public void UnreadableCheckpointsGiveClearErrors()
    {
        using var temp = new TempFolder();
        var text = temp.Combine("text.ckpt");
        File.WriteAllText(text, "hello, world");
        Assert.Contains("not a Flare checkpoint", Assert.Throws<FlareException>(() => Checkpoint.Load(text)).Message);

        var truncated = temp.Combine("truncated.ckpt");
        using (var model = new ResNet18(4, 3)) Checkpoint.Save(truncated, model, Metadata(["a", "b", "c"]));
        var bytes = File.ReadAllBytes(truncated);
        File.WriteAllBytes(truncated, bytes[..(bytes.Length - 100)]);
        Assert.Contains("unreadable checkpoint", Assert.Throws<FlareException>(() => Checkpoint.Load(truncated)).Message);

        Assert.Contains("checkpoint not found", Assert.Throws<FlareException>(() => Checkpoint.Load(temp.Combine("none.ckpt"))).Message);
    }

    internal static ModelMetadata Metadata(string[] classes) => new()
    {
        Architecture = "resnet18",
        Width = 4,
        ClassNames = classes,
        ImageHeight = 32,
        ImageWidth = 32,
        Mean = [0.5f, 0.4f, 0.3f],
        Std = [0.2f, 0.2f, 0.2f],
        Epochs = 1,
        BatchSize = 8,
        LearningRate = 0.1,
        Augmentation = "flip",
        Seed = 1,
        TrainingDataHash = "abc",
        TrainingSamples = 8,
    };
}
