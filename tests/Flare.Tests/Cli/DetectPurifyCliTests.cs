using Flare.Data;
using Flare.Tests.Support;

namespace Flare.Tests.Cli;

[Collection(TorchCollection.Name)]
public class DetectPurifyCliTests
{
    [Fact]
    public void BadInputIsOneLineAndLeavesNoOutputFolder()
    {
        using var temp = new TempFolder();
        var data = SyntheticImages.WriteFolder(SyntheticImages.Create(perClass: 8, classes: 2, height: 32, width: 32), temp.Combine("data"));
        var model = temp.Combine("model.ckpt");
        Assert.Equal(0, CliProcess.Run("train", "--data", data, "--width", "2", "--epochs", "1", "--out", model).ExitCode);

        var otherClasses = SyntheticImages.WriteFolder(SyntheticImages.Create(perClass: 12, classes: 3, height: 32, width: 32), temp.Combine("three"));
        CliProcess.AssertOneLineError(CliProcess.Run("detect", "--data", otherClasses, "--model", model, "--out", temp.Combine("o1")), "differ from the model's");

        var otherSize = SyntheticImages.WriteFolder(SyntheticImages.Create(perClass: 12, classes: 2, height: 16, width: 16), temp.Combine("small"));
        CliProcess.AssertOneLineError(CliProcess.Run("detect", "--data", otherSize, "--model", model, "--out", temp.Combine("o2")), "trained on 32x32");

        CliProcess.AssertOneLineError(CliProcess.Run("detect", "--data", data, "--model", model, "--out", temp.Combine("o3")), "too few");
        CliProcess.AssertOneLineError(CliProcess.Run("purify", "--data", data, "--out", temp.Combine("o4"), "--width", "2", "--epochs", "1"), "too few");
        CliProcess.AssertOneLineError(CliProcess.Run("detect", "--data", data, "--model", model, "--out", temp.Combine("o5"), "--representation", "pixels"), "--representation");
        CliProcess.AssertOneLineError(CliProcess.Run("purify", "--data", data, "--out", temp.Combine("o6"), "--mitigate", "prune"), "unknown --mitigate 'prune'");

        Directory.CreateDirectory(temp.Combine("taken"));
        File.WriteAllText(temp.Combine("taken", "x.txt"), "earlier results");
        CliProcess.AssertOneLineError(CliProcess.Run("detect", "--data", data, "--model", model, "--out", temp.Combine("taken")), "not empty");

        foreach (var name in new[] { "o1", "o2", "o3", "o4", "o5", "o6" }) Assert.False(Directory.Exists(temp.Combine(name)), $"{name} was left behind");
        Assert.Empty(Directory.GetDirectories(temp.Path, ".*partial*"));
    }
}
