using System.Text.Json;
using Flare.Data;
using Flare.Tests.Support;

namespace Flare.Tests.Cli;

[Collection(TorchCollection.Name)]
public class TrainEvalCliTests
{
    [Fact]
    public void TrainThenEvalReportAccuracyAsJson()
    {
        using var temp = new TempFolder();
        var checkpoint = temp.Combine("model.ckpt");

        var train = CliProcess.Run("train", "--data", SharedData.Cifar10Train, "--limit", "300", "--width", "4", "--epochs", "1",
            "--augment", "flip", "--out", checkpoint, "--json");
        Assert.True(train.ExitCode == 0, train.Error);
        using (var summary = JsonDocument.Parse(train.Output))
        {
            Assert.Equal(300, summary.RootElement.GetProperty("train_samples").GetInt32());
            Assert.Equal("resnet18", summary.RootElement.GetProperty("architecture").GetString());
        }

        var eval = CliProcess.Run("eval", "--model", checkpoint, "--data", SharedData.Cifar10Test, "--limit", "200", "--json");
        Assert.True(eval.ExitCode == 0, eval.Error);
        using var result = JsonDocument.Parse(eval.Output);
        Assert.InRange(result.RootElement.GetProperty("accuracy").GetDouble(), 0.0, 1.0);
        Assert.Equal(200, result.RootElement.GetProperty("samples").GetInt32());
    }

    [Fact]
    public void BadInputGivesOneLineAndNonZeroExit()
    {
        using var temp = new TempFolder();
        var images = SyntheticImages.Create(perClass: 2, classes: 2, height: 32, width: 32);
        var folder = SyntheticImages.WriteFolder(images, temp.Combine("data"));

        CliProcess.AssertOneLineError(CliProcess.Run("train", "--data", temp.Combine("nope"), "--out", temp.Combine("m.ckpt")), "folder not found");
        CliProcess.AssertOneLineError(CliProcess.Run("train", "--data", folder, "--model", "alexnet", "--out", temp.Combine("m.ckpt")), "unknown model 'alexnet'");
        CliProcess.AssertOneLineError(CliProcess.Run("train", "--data", folder, "--augment", "rotate", "--out", temp.Combine("m.ckpt")), "--augment");
        CliProcess.AssertOneLineError(CliProcess.Run("train", "--data", folder), "--out");
        File.WriteAllText(temp.Combine("junk.ckpt"), "junk");
        CliProcess.AssertOneLineError(CliProcess.Run("eval", "--model", temp.Combine("junk.ckpt"), "--data", folder), "not a Flare checkpoint");

        // A test set whose classes differ from the model's.
        var checkpoint = temp.Combine("m.ckpt");
        Assert.Equal(0, CliProcess.Run("train", "--data", folder, "--width", "2", "--epochs", "1", "--out", checkpoint).ExitCode);
        var otherClasses = SyntheticImages.Create(perClass: 1, classes: 3, height: 32, width: 32);
        var other = SyntheticImages.WriteFolder(otherClasses, temp.Combine("other"));
        CliProcess.AssertOneLineError(CliProcess.Run("eval", "--model", checkpoint, "--data", other), "differ from the model's");
        CliProcess.AssertOneLineError(CliProcess.Run("train", "--data", folder, "--test", other, "--width", "2", "--epochs", "1", "--out", temp.Combine("m2.ckpt")), "differ from the training classes");
        // An existing checkpoint is replaced only with --force.
        CliProcess.AssertOneLineError(CliProcess.Run("train", "--data", folder, "--width", "2", "--epochs", "1", "--out", checkpoint), "already exists");
    }
}
