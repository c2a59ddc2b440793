using System.Text.Json;
using Flare.Attacks;
using Flare.Data;
using Flare.Tests.Support;
using static Flare.Tests.Support.TinyLearnedSets;

namespace Flare.Tests.Attacks;

/// <summary>
/// flare poison --trigger-from: a learned attack's trained trigger reused from an earlier output
/// folder, on the tiny sets of <see cref="LearnedAttackTests"/> (120 images of 16x16, a width-4
/// surrogate trained one epoch).
/// </summary>
[Collection(TorchCollection.Name)]
public class TriggerReuseTests
{
    private const int Size = TinyLearnedSets.Size;

    [Theory]
    [InlineData("siba", "a2o")]
    [InlineData("issba", "a2a")]
    [InlineData("iad", "a2o")]
    public void ReusingTheTriggerWithTheSameSeedRateAndModeWritesTheSourceSetByteForByte(string attack, string mode)
    {
        using var temp = new TempFolder();
        var clean = Clean();
        var test = SyntheticImages.Create(perClass: 2, classes: 3, height: Size, width: Size, seed: 7);
        var source = PoisonedFolders.Write(clean, Options(attack, mode, seed: 5), temp.Combine("source"));
        var reusedSet = Poisoner.Poison(clean, Options(attack, mode, seed: 5) with { Surrogate = null, TriggerFrom = TriggerSource.Read(source) });
        var reused = PoisonedFolders.Write(reusedSet, temp.Combine("reused"));

        // Every file but attack.json: the training images, manifest, trigger pictures and the artifacts (written again).
        var sourceFiles = PoisonedFolders.HashTree(source);
        var reusedFiles = PoisonedFolders.HashTree(reused);
        Assert.True(sourceFiles.Remove(AttackRecord.FileName) && reusedFiles.Remove(AttackRecord.FileName));
        Assert.Equal(sourceFiles, reusedFiles);
        Assert.Contains(sourceFiles.Keys, name => name.StartsWith("train", StringComparison.Ordinal));

        var sourceRecord = AttackRecord.Read(source);
        var record = AttackRecord.Read(reused);
        Assert.Null(sourceRecord.TriggerFrom);
        Assert.Equal(Path.Combine(Path.GetFullPath(source), AttackRecord.FileName), record.TriggerFrom!.Path);
        Assert.Equal(ArtifactRecord.HashOf(Path.Combine(source, AttackRecord.FileName)), record.TriggerFrom.Sha256);
        Assert.Equal(sourceRecord.Parameters.ToJsonString(), record.Parameters.ToJsonString());
        Assert.Equal(JsonSerializer.Serialize(sourceRecord.Artifacts), JsonSerializer.Serialize(record.Artifacts));

        // The new folder is self-contained: its trigger loads without the source.
        var expected = Enumerable.Range(0, test.Count).Select(i => Triggered(reusedSet.Attack, test.Image(i))).ToArray();
        Directory.Delete(source, recursive: true);
        var loaded = AttackRecord.LoadTrigger(reused, clean.ClassNames).Attack;
        for (var i = 0; i < test.Count; i++) Assert.Equal(expected[i], Triggered(loaded, test.Image(i)));
    }

    [Fact]
    public void AnotherSeedAndRateChooseOtherSamplesWithTheSameTrigger()
    {
        using var temp = new TempFolder();
        var clean = Clean();
        var source = PoisonedFolders.Write(clean, Options("siba", "a2o", seed: 5), temp.Combine("source"));
        var built = Assert.IsType<Siba>(AttackRecord.LoadTrigger(source, clean.ClassNames).Attack);
        var options = Options("siba", "a2o", seed: 9) with { Rate = 0.2, Surrogate = null, TriggerFrom = TriggerSource.Read(source) };
        var set = Poisoner.Poison(clean, options);

        var mode = new LabelMode(LabelModeKind.AllToOne, 3);
        Assert.Equal(Poisoner.Plan(clean.Labels, mode, 0.2, 0, 9), set.Plan, new PlanComparer());
        Assert.Equal(built.Perturbation.ToArray(), Assert.IsType<Siba>(set.Attack).Perturbation.ToArray());
        Assert.All(set.Plan.Poisoned, i => Assert.Equal(Triggered(built, clean.Image(i)), set.Images.Image(i).ToArray()));
    }

    [Fact]
    public void IssbaReusedInAnotherModeGivesTheSameTestTrigger()
    {
        using var temp = new TempFolder();
        var clean = Clean();
        var test = SyntheticImages.Create(perClass: 2, classes: 3, height: Size, width: Size, seed: 7);
        var source = PoisonedFolders.Write(clean, Options("issba", "a2o", seed: 3), temp.Combine("source"));
        var set = Poisoner.Poison(clean, Options("issba", "a2a", seed: 3) with { TriggerFrom = TriggerSource.Read(source) });

        Assert.Equal("a2a", set.Mode.Name);
        Assert.All(set.Plan.Poisoned, i => Assert.Equal((clean.Labels[i] + 1) % 3, set.Images.Labels[i]));
        var original = AttackRecord.LoadTrigger(source, clean.ClassNames).Attack;
        for (var i = 0; i < test.Count; i++) Assert.Equal(Triggered(original, test.Image(i)), Triggered(set.Attack, test.Image(i)));
    }

    [Fact]
    public void RefusalsAreOneLineNamingTheOptionAndLeaveNoOutput()
    {
        using var temp = new TempFolder();
        var clean = Clean();
        var data = SyntheticImages.WriteFolder(clean, temp.Combine("data"));
        var small = SyntheticImages.WriteFolder(SyntheticImages.Create(perClass: 40, classes: 3, height: 8, width: 8), temp.Combine("small"));
        var siba = PoisonedFolders.Write(clean, Options("siba", "a2o", seed: 1), temp.Combine("siba"));
        var lc = PoisonedFolders.Write(clean, Options("lc", "a2o", seed: 1), temp.Combine("lc"));
        var badnets = PoisonedFolders.Write(clean, Options("badnets", "a2o", seed: 1), temp.Combine("badnets"));
        var output = temp.Combine("out");
        CliResult Poison(params string[] extra) => CliProcess.RunInProcess(["poison", "--data", data, "--out", output, "--rate", "0.1", .. extra]);

        CliProcess.AssertOneLineError(Poison("--trigger-from", lc, "--mode", "a2o"), "--trigger-from: a lc trigger cannot be reused: its poisoned images are per-sample PGD results");
        CliProcess.AssertOneLineError(Poison("--trigger-from", siba, "--mode", "a2a"), "--trigger-from: the siba trigger was optimised for --mode a2o --target 0 (class0), this run asks for --mode a2a");
        CliProcess.AssertOneLineError(Poison("--trigger-from", siba, "--mode", "a2o", "--target", "class2"),
            "--trigger-from: the siba trigger was optimised for --mode a2o --target 0 (class0), this run asks for --mode a2o --target 2 (class2)");
        CliProcess.AssertOneLineError(CliProcess.RunInProcess("poison", "--data", small, "--out", output, "--trigger-from", siba, "--mode", "a2o"),
            "--trigger-from: the siba trigger was trained for 16x16 images, the data's are 8x8");
        CliProcess.AssertOneLineError(Poison("--trigger-from", siba, "--mode", "a2o", "--surrogate-epochs", "1"), "--surrogate-epochs: nothing is trained with --trigger-from");
        CliProcess.AssertOneLineError(Poison("--trigger-from", badnets, "--mode", "a2o"), "--trigger-from: badnets is a pattern attack, nothing was trained to reuse");
        CliProcess.AssertOneLineError(Poison("--trigger-from", data, "--mode", "a2o"), "--trigger-from");
        CliProcess.AssertOneLineError(Poison("--trigger-from", data, "--mode", "a2o"), "no attack.json");
        CliProcess.AssertOneLineError(Poison("--trigger-from", siba, "--attack", "issba", "--mode", "a2o"), "--attack issba: --trigger-from holds a siba trigger");
        CliProcess.AssertOneLineError(Poison("--mode", "a2o"), "--attack is required (or --trigger-from");
        CliProcess.AssertOneLineError(Poison("--attack", "badnets"), "--mode is required: a2o, a2a or ut");
        Assert.False(Directory.Exists(output));

        // The recorded attack, given or not, and the recorded mode: written, with where the trigger came from.
        var reused = CliProcess.RunInProcess("poison", "--data", data, "--out", output, "--trigger-from", Path.Combine(siba, AttackRecord.FileName),
            "--attack", "siba", "--mode", "a2o", "--rate", "0.2", "--seed", "4", "--json");
        Assert.True(reused.ExitCode == 0, reused.Error);
        using var summary = JsonDocument.Parse(reused.Output);
        Assert.Equal(24, summary.RootElement.GetProperty("poisoned_samples").GetInt32());
        Assert.Equal(Path.Combine(siba, AttackRecord.FileName), summary.RootElement.GetProperty("trigger_from").GetProperty("path").GetString());
        Assert.DoesNotContain("training the surrogate", reused.Error);

        // Without --mode: the recorded mode and target (a2o, target 2 here), not the default target 0.
        var targeted = PoisonedFolders.Write(clean, Options("siba", "a2o", seed: 1) with { Target = "2" }, temp.Combine("siba-target2"));
        var second = temp.Combine("out2");
        var defaulted = CliProcess.RunInProcess("poison", "--data", data, "--out", second, "--trigger-from", targeted, "--json");
        Assert.True(defaulted.ExitCode == 0, defaulted.Error);
        var defaultedRecord = AttackRecord.Read(second);
        Assert.Equal("a2o", defaultedRecord.Mode);
        Assert.Equal(2, defaultedRecord.Target);
    }

    [Fact]
    public void AFolderWithOtherClassNamesIsRefusedForAModeBoundTrigger()
    {
        using var temp = new TempFolder();
        var clean = Clean();
        var source = PoisonedFolders.Write(clean, Options("siba", "a2o", seed: 1), temp.Combine("source"));
        var renamed = new ImageSet(clean.Height, clean.Width, clean.Pixels, clean.Labels, ["cat", "dog", "frog"], clean.SourcePaths, null);
        var error = Assert.Throws<FlareException>(() => Poisoner.Poison(renamed, Options("siba", "a2o", seed: 1) with { Surrogate = null, TriggerFrom = TriggerSource.Read(source) }));
        Assert.Contains("--trigger-from: the siba trigger was optimised for the classes [class0, class1, class2], the data's are [cat, dog, frog]", error.Message);
    }

    private sealed class PlanComparer : IEqualityComparer<PoisonPlan>
    {
        public bool Equals(PoisonPlan? a, PoisonPlan? b) =>
            a!.Poisoned.SequenceEqual(b!.Poisoned) && a.Cover.SequenceEqual(b.Cover) && a.Labels.SequenceEqual(b.Labels) && a.FileNumbers.SequenceEqual(b.FileNumbers);

        public int GetHashCode(PoisonPlan plan) => plan.Poisoned.Length;
    }
}
