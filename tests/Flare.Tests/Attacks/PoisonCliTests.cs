using System.Text.Json;
using Flare.Attacks;
using Flare.Data;
using Flare.Tests.Support;
using Flare.Training;

namespace Flare.Tests.Attacks;

public class PoisonCliTests
{
    [Fact]
    public void BadInputGivesOneLineNamingTheOptionAndLeavesNoOutput()
    {
        using var temp = new TempFolder();
        var data = SyntheticImages.WriteFolder(SyntheticImages.Create(perClass: 4, classes: 3, height: 16, width: 16), temp.Combine("data"));
        var output = temp.Combine("out");
        CliResult Poison(params string[] extra) =>
            CliProcess.Run(["poison", "--data", data, "--out", output, .. extra]);

        CliProcess.AssertOneLineError(Poison("--attack", "badnets", "--mode", "a2o", "--rate", "0"), "--rate must be in (0, 1)");
        CliProcess.AssertOneLineError(Poison("--attack", "badnets", "--mode", "a2o", "--rate", "1.5"), "--rate must be in (0, 1)");
        CliProcess.AssertOneLineError(Poison("--attack", "wanet", "--mode", "a2o", "--rate", "0.5", "--cover-rate", "0.6"), "exceeds 1");
        CliProcess.AssertOneLineError(Poison("--attack", "badnets", "--mode", "a2o", "--cover-rate", "0.2"), "--cover-rate: badnets has no cover samples");
        CliProcess.AssertOneLineError(Poison("--attack", "badnets", "--mode", "a2o", "--target", "horse"), "--target 'horse' is not a class");
        CliProcess.AssertOneLineError(Poison("--attack", "badnets", "--mode", "a2o", "--target", "3"), "--target '3' is not a class");
        CliProcess.AssertOneLineError(Poison("--attack", "refool", "--mode", "a2o"), "--attack: unknown attack 'refool'");
        CliProcess.AssertOneLineError(Poison("--attack", "badnets", "--mode", "o2a"), "--mode: unknown mode 'o2a'");
        CliProcess.AssertOneLineError(Poison("--mode", "a2o"), "--attack");

        // A test set with other classes is found after the output folder was started: still nothing is left.
        var other = SyntheticImages.WriteFolder(SyntheticImages.Create(perClass: 2, classes: 2, height: 16, width: 16), temp.Combine("other"));
        CliProcess.AssertOneLineError(Poison("--attack", "badnets", "--mode", "a2o", "--test", other), "--test: classes");
        Assert.Equal(["data", "other"], Directory.GetFileSystemEntries(temp.Path).Select(Path.GetFileName).Order());

        // Earlier results are never overwritten.
        Directory.CreateDirectory(output);
        File.WriteAllText(Path.Combine(output, "keep.txt"), "earlier results");
        CliProcess.AssertOneLineError(Poison("--attack", "badnets", "--mode", "a2o"), "already exists and is not empty");
        Assert.Equal("earlier results", File.ReadAllText(Path.Combine(output, "keep.txt")));
    }
}

[Collection(TorchCollection.Name)]
public class AttackSuccessCliTests
{
    [Fact]
    public void PoisonTrainEvalReportsTheUntargetedAttackSuccessRateOnTheTriggeredTestSet()
    {
        using var temp = new TempFolder();
        var train = SyntheticImages.WriteFolder(SyntheticImages.Create(perClass: 40, classes: 3, height: 32, width: 32), temp.Combine("train"));
        var test = SyntheticImages.WriteFolder(SyntheticImages.Create(perClass: 10, classes: 3, height: 32, width: 32, seed: 5), temp.Combine("test"));
        var attackFolder = temp.Combine("poisoned");
        var checkpoint = temp.Combine("m.ckpt");

        var poison = CliProcess.Run("poison", "--data", train, "--attack", "badnets", "--mode", "ut", "--rate", "0.2", "--seed", "3",
            "--test", test, "--out", attackFolder, "--json");
        Assert.True(poison.ExitCode == 0, poison.Error);
        using (var summary = JsonDocument.Parse(poison.Output))
        {
            Assert.Equal(24, summary.RootElement.GetProperty("poisoned_samples").GetInt32());
            Assert.Equal(30, summary.RootElement.GetProperty("test_poisoned_samples").GetInt32());
        }
        var trained = CliProcess.Run("train", "--data", Path.Combine(attackFolder, "train"), "--width", "4", "--epochs", "1", "--augment", "flip", "--out", checkpoint);
        Assert.True(trained.ExitCode == 0, trained.Error);

        var eval = CliProcess.Run("eval", "--model", checkpoint, "--data", test, "--attack", attackFolder, "--json");
        Assert.True(eval.ExitCode == 0, eval.Error);
        using var result = JsonDocument.Parse(eval.Output);
        var asr = result.RootElement.GetProperty("attack_success_rate").GetDouble();
        Assert.Equal(30, result.RootElement.GetProperty("triggered_samples").GetInt32());
        Assert.Equal("ut", result.RootElement.GetProperty("attack").GetProperty("mode").GetString());

        // Recompute independently from the files poison wrote: under UT, test-poisoned files keep their
        // true label, and success is a prediction that differs from it.
        var (model, metadata) = Checkpoint.Load(checkpoint);
        using (model)
        {
            var triggered = ImageFolderReader.Read(Path.Combine(attackFolder, "test-poisoned"));
            var predictions = Evaluator.Predict(model, triggered, metadata.Normalization);
            var expected = predictions.Zip(triggered.Labels).Count(p => p.First != p.Second) / (double)triggered.Count;
            Assert.Equal(expected, asr, 12);
            Assert.Equal(new LabelMode(LabelModeKind.Untargeted, 3).SuccessRate(predictions, triggered.Labels), asr, 12);
        }

        var text = CliProcess.Run("eval", "--model", checkpoint, "--data", test, "--attack", attackFolder);
        Assert.Contains("attack success rate", text.Output);
        Assert.Contains("prediction differs from the true label", text.Output);
        CliProcess.AssertOneLineError(CliProcess.Run("eval", "--model", checkpoint, "--data", test, "--attack", temp.Combine("train")), "no attack.json");
    }
}

[Collection(TorchCollection.Name)]
public class LearnedAttackCliTests
{
    [Fact]
    public void PoisonSibaThenEvalAppliesTheSavedTriggerAndBadLearnedOptionsGiveOneLine()
    {
        using var temp = new TempFolder();
        var train = SyntheticImages.WriteFolder(SyntheticImages.Create(perClass: 20, classes: 3, height: 32, width: 32), temp.Combine("train"));
        var test = SyntheticImages.WriteFolder(SyntheticImages.Create(perClass: 5, classes: 3, height: 32, width: 32, seed: 5), temp.Combine("test"));
        var attackFolder = temp.Combine("siba");
        var checkpoint = temp.Combine("m.ckpt");

        var poison = CliProcess.Run("poison", "--data", train, "--attack", "siba", "--mode", "a2o", "--rate", "0.1", "--surrogate-epochs", "1",
            "--test", test, "--out", attackFolder, "--json");
        Assert.True(poison.ExitCode == 0, poison.Error);
        using (var summary = JsonDocument.Parse(poison.Output))
        {
            Assert.Equal(6, summary.RootElement.GetProperty("poisoned_samples").GetInt32());
            Assert.Equal(10, summary.RootElement.GetProperty("test_poisoned_samples").GetInt32());
            Assert.Equal(Siba.PerturbationFile, summary.RootElement.GetProperty("artifacts")[0].GetString());
        }
        Assert.Contains("siba: training the surrogate", poison.Error);
        var trained = CliProcess.Run("train", "--data", Path.Combine(attackFolder, "train"), "--width", "4", "--epochs", "1", "--augment", "flip", "--out", checkpoint);
        Assert.True(trained.ExitCode == 0, trained.Error);

        var eval = CliProcess.Run("eval", "--model", checkpoint, "--data", test, "--attack", attackFolder, "--json");
        Assert.True(eval.ExitCode == 0, eval.Error);
        using (var result = JsonDocument.Parse(eval.Output))
        {
            Assert.Equal(10, result.RootElement.GetProperty("triggered_samples").GetInt32());
            Assert.Equal("siba", result.RootElement.GetProperty("attack").GetProperty("name").GetString());
            Assert.InRange(result.RootElement.GetProperty("attack_success_rate").GetDouble(), 0, 1);
        }

        File.Delete(Path.Combine(attackFolder, Siba.PerturbationFile));
        CliProcess.AssertOneLineError(CliProcess.Run("eval", "--model", checkpoint, "--data", test, "--attack", attackFolder), "artifact missing");
        var output = temp.Combine("out");
        CliProcess.AssertOneLineError(CliProcess.Run("poison", "--data", train, "--attack", "lc", "--mode", "ut", "--out", output), "--mode ut: lc supports only a2o");
        CliProcess.AssertOneLineError(CliProcess.Run("poison", "--data", train, "--attack", "badnets", "--mode", "a2o", "--surrogate-epochs", "2", "--out", output),
            "--surrogate-epochs: badnets is a pattern attack");
        Assert.False(Directory.Exists(output));
    }
}
