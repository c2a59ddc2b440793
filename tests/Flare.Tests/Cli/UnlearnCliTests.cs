using System.Text.Json;
using Flare.Tests.Support;

namespace Flare.Tests.Cli;

[Collection(TorchCollection.Name)]
public class UnlearnCliTests
{
    [Fact]
    public void UnlearnRefusesBadInputInOneLineAndCopiesTheModelWhenNothingIsFlagged()
    {
        using var temp = new TempFolder();
        var data = SyntheticImages.WriteFolder(SyntheticImages.Create(perClass: 8, classes: 2, height: 32, width: 32), temp.Combine("data"));
        var model = temp.Combine("model.ckpt");
        Assert.Equal(0, CliProcess.Run("train", "--data", data, "--width", "2", "--epochs", "1", "--out", model).ExitCode);
        var removed = temp.Combine("removed.csv");
        File.WriteAllText(removed, "path,label,cluster\nclass1/0001.png,class1,1\nclass1/0003.png,class1,1\n");

        var missing = temp.Combine("missing.csv");
        File.WriteAllText(missing, "path,label,cluster\nclass1/9999.png,class1,1\n");
        CliProcess.AssertOneLineError(Unlearn(model, data, missing, temp.Combine("a.ckpt")), "class1/9999.png is not among the 16 images");

        var otherClasses = SyntheticImages.WriteFolder(SyntheticImages.Create(perClass: 8, classes: 3, height: 32, width: 32), temp.Combine("three"));
        CliProcess.AssertOneLineError(Unlearn(model, otherClasses, removed, temp.Combine("b.ckpt")), "differ from the model's");

        File.WriteAllText(temp.Combine("taken.ckpt"), "earlier");
        CliProcess.AssertOneLineError(Unlearn(model, data, removed, temp.Combine("taken.ckpt")), "already exists");
        Assert.Equal("earlier", File.ReadAllText(temp.Combine("taken.ckpt")));

        CliProcess.AssertOneLineError(Unlearn(model, data, removed, temp.Combine("c.ckpt"), "--attack", temp.Path), "--attack needs --test");
        CliProcess.AssertOneLineError(Unlearn(model, data, removed, temp.Combine("d.ckpt"), "--guard", "soft"), "--guard");
        CliProcess.AssertOneLineError(Unlearn(model, data, removed, temp.Combine("e.ckpt"), "--lr", "0"), "--lr");
        CliProcess.AssertOneLineError(Unlearn(model, data, removed, temp.Combine("f.ckpt"), "--test", otherClasses), "test classes [class0, class1, class2] differ from the model's");
        CliProcess.AssertOneLineError(Unlearn(model, data, removed, temp.Combine("g.ckpt"), "--schedule", "step"), "unknown --schedule 'step'");
        foreach (var name in new[] { "a", "b", "c", "d", "e", "f", "g" }) Assert.False(File.Exists(temp.Combine($"{name}.ckpt")), $"{name}.ckpt was written");

        var empty = temp.Combine("empty.csv");
        File.WriteAllText(empty, "path,label,cluster\n");
        var copied = Unlearn(model, data, empty, temp.Combine("copy.ckpt"));
        Assert.True(copied.ExitCode == 0, copied.Error);
        Assert.Contains("nothing to unlearn", copied.Output);
        Assert.True(File.Exists(temp.Combine("copy.ckpt")));

        var run = Unlearn(model, data, removed, temp.Combine("clean.ckpt"), "--epochs", "2", "--test", data, "--json");
        Assert.True(run.ExitCode == 0, run.Error);
        using var summary = JsonDocument.Parse(run.Output);
        Assert.Equal("unlearn", summary.RootElement.GetProperty("method").GetString());
        Assert.Equal(2, summary.RootElement.GetProperty("flagged").GetInt32());
        Assert.Equal(2, summary.RootElement.GetProperty("unlearning").GetArrayLength());
        Assert.True(summary.RootElement.GetProperty("before").TryGetProperty("benign_accuracy", out _));
        Assert.True(File.Exists(temp.Combine("clean.ckpt")));
    }

    private static CliResult Unlearn(string model, string data, string removed, string output, params string[] extra) =>
        CliProcess.Run(["unlearn", "--model", model, "--data", data, "--removed", removed, "--out", output, .. extra]);
}
