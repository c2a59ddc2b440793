using System.Text.Json;
using Flare.Tests.Support;

namespace Flare.Tests.Cli;

[Collection(TorchCollection.Name)]
public class CompareCliTests
{
    [Fact]
    public void WritesTheComparisonAndEachDetectorsFlags()
    {
        using var temp = new TempFolder();
        var data = SyntheticImages.WriteFolder(SyntheticImages.Create(perClass: 12, classes: 2, height: 32, width: 32), temp.Combine("data"));
        var clean = SyntheticImages.WriteFolder(SyntheticImages.Create(perClass: 6, classes: 2, height: 32, width: 32, seed: 9), temp.Combine("clean"));
        var model = temp.Combine("model.ckpt");
        Assert.Equal(0, CliProcess.Run("train", "--data", data, "--width", "2", "--epochs", "1", "--out", model).ExitCode);

        var output = temp.Combine("out");
        var run = CliProcess.Run("compare", "--data", data, "--model", model, "--clean", clean, "--detectors", "ac,ss,scale-up,ibd-psc,ct", "--ct-iterations", "4", "--ct-pretrain-epochs", "1", "--out", output, "--json");

        Assert.True(run.ExitCode == 0, run.Error);
        using var json = JsonDocument.Parse(run.Output);
        var detectors = json.RootElement.GetProperty("comparison").GetProperty("detectors").EnumerateArray().ToList();
        Assert.Equal(["ac", "ss", "scale-up", "ibd-psc", "ct"], detectors.Select(d => d.GetProperty("name").GetString()));
        Assert.Equal([false, false, false, true, true], detectors.Select(d => d.GetProperty("used_clean").GetBoolean()));
        Assert.Contains(detectors.Single(d => d.GetProperty("name").GetString() == "ct").GetProperty("notes").EnumerateArray(), n => n.GetString()!.Contains("4 confusion iterations"));
        foreach (var file in new[] { "comparison.md", "comparison.json", "comparison.png" }) Assert.True(File.Exists(Path.Combine(output, file)), file);
        foreach (var name in new[] { "ac", "ss", "scale-up", "ibd-psc", "ct" })
        {
            var rows = File.ReadAllLines(Path.Combine(output, name, "suspicious.csv"));
            Assert.Equal("index,path,label,score,flagged", rows[0]);
            Assert.Equal(25, rows.Length);
        }
        Assert.Contains("[5/5] ct", run.Error);
    }

    [Fact]
    public void BadInputIsOneLineAndLeavesNoOutputFolder()
    {
        using var temp = new TempFolder();
        var data = SyntheticImages.WriteFolder(SyntheticImages.Create(perClass: 8, classes: 2, height: 32, width: 32), temp.Combine("data"));
        var otherClasses = SyntheticImages.WriteFolder(SyntheticImages.Create(perClass: 4, classes: 3, height: 32, width: 32), temp.Combine("three"));
        var otherSize = SyntheticImages.WriteFolder(SyntheticImages.Create(perClass: 4, classes: 2, height: 16, width: 16), temp.Combine("small"));

        CliProcess.AssertOneLineError(CliProcess.Run("compare", "--data", data, "--detectors", "ac,strip", "--out", temp.Combine("o1")), "unknown detector 'strip'");
        CliProcess.AssertOneLineError(CliProcess.Run("compare", "--data", data, "--detectors", "ac,ibd-psc", "--out", temp.Combine("o2")), "ibd-psc need(s) clean reserve images");
        CliProcess.AssertOneLineError(CliProcess.Run("compare", "--data", data, "--clean", otherClasses, "--detectors", "ibd-psc", "--out", temp.Combine("o3")), "differ from the training set's");
        CliProcess.AssertOneLineError(CliProcess.Run("compare", "--data", data, "--clean", otherSize, "--detectors", "ibd-psc", "--out", temp.Combine("o4")), "16x16");
        CliProcess.AssertOneLineError(CliProcess.Run("compare", "--data", data, "--detectors", "ac,ct", "--out", temp.Combine("o5")), "ct need(s) clean reserve images");
        CliProcess.AssertOneLineError(CliProcess.Run("compare", "--data", data, "--out", temp.Combine("o6")), "ibd-psc, ct need(s) clean reserve images");
        CliProcess.AssertOneLineError(CliProcess.Run("compare", "--data", data, "--clean", otherSize, "--detectors", "ct", "--out", temp.Combine("o7")), "16x16");
        CliProcess.AssertOneLineError(CliProcess.Run("compare", "--data", data, "--clean", data, "--detectors", "ct", "--ct-iterations", "0", "--out", temp.Combine("o8")), "--ct-iterations must be at least 1");
        CliProcess.AssertOneLineError(CliProcess.Run("compare", "--data", data, "--detectors", "ac", "--out", Path.Combine(data, "report")), "inside --data");

        foreach (var name in new[] { "o1", "o2", "o3", "o4", "o5", "o6", "o7", "o8" }) Assert.False(Directory.Exists(temp.Combine(name)), $"{name} was left behind");
        Assert.False(Directory.Exists(Path.Combine(data, "report")), "an output folder was created inside --data");
        Assert.Empty(Directory.GetDirectories(temp.Path, ".*partial*"));
    }
}
