using Flare.Attacks;
using Flare.Data;
using Flare.IO;
using Flare.Progress;
using Flare.Tests.Support;

namespace Flare.Tests.Attacks;

public class PoisonerTests
{
    [Theory]
    [InlineData("badnets", "a2o", 0.1, 300)]
    [InlineData("blend", "a2a", 0.25, 120)]
    [InlineData("wanet", "ut", 0.05, 300)]
    [InlineData("adaptive-patch", "a2o", 0.07, 150)]
    [InlineData("grating", "a2a", 0.1, 150)]
    [InlineData("tint", "ut", 0.1, 150)]
    [InlineData("rotated-patch", "a2o", 0.1, 150)]
    public void PoisonsExactlyRoundedRateTimesNWithLabelsThatFollowTheMode(string attack, string mode, double rate, int count)
    {
        var clean = SyntheticImages.Create(perClass: count / 3, classes: 3, height: 16, width: 16);
        var set = Poisoner.Poison(clean, new PoisonOptions { Attack = attack, Mode = mode, Rate = rate, Seed = 4 });
        var plan = set.Plan;

        Assert.Equal((int)Math.Round(rate * clean.Count, MidpointRounding.AwayFromZero), plan.Poisoned.Length);
        Assert.Equal(plan.Poisoned.Length, plan.Poisoned.Distinct().Count());
        var spec = AttackRegistry.Get(attack);
        var expectedCover = spec.UsesCoverSamples ? (int)Math.Round(spec.DefaultCoverRate!(rate) * clean.Count, MidpointRounding.AwayFromZero) : 0;
        Assert.Equal(expectedCover, plan.Cover.Length);
        Assert.Empty(plan.Poisoned.Intersect(plan.Cover));

        var poisoned = plan.Poisoned.ToHashSet();
        for (var i = 0; i < clean.Count; i++)
        {
            var y = clean.Labels[i];
            var assigned = set.Images.Labels[i];
            Assert.Equal(y, set.OriginalLabels[i]);
            if (!poisoned.Contains(i))
            {
                Assert.Equal(y, assigned);
                continue;
            }
            Assert.NotEqual(y, assigned);
            switch (mode)
            {
                case "a2o": Assert.Equal(0, assigned); break;
                case "a2a": Assert.Equal((y + 1) % 3, assigned); break;
            }
        }
        // Poisoned and cover images carry a trigger, the others are untouched (the clean set included).
        var touched = Enumerable.Range(0, clean.Count).Where(i => !clean.Image(i).SequenceEqual(set.Images.Image(i))).ToHashSet();
        Assert.Subset(poisoned.Concat(plan.Cover).ToHashSet(), touched);
        Assert.Equal(poisoned.Count + plan.Cover.Length, touched.Count);
        Assert.NotSame(clean.Pixels, set.Images.Pixels);
    }

    [Fact]
    public void AllToOnePoisonsOnlySamplesOutsideTheTargetAndCoverIsDrawnFromTheRest()
    {
        var labels = Enumerable.Range(0, 100).Select(i => i % 4).ToArray();
        var mode = new LabelMode(LabelModeKind.AllToOne, classes: 4, target: 2);
        var plan = Poisoner.Plan(labels, mode, rate: 0.5, coverRate: 0.3, seed: 9);
        Assert.Equal(50, plan.Poisoned.Length);
        Assert.All(plan.Poisoned, i => Assert.NotEqual(2, labels[i]));
        Assert.Equal(30, plan.Cover.Length);
        Assert.Empty(plan.Poisoned.Intersect(plan.Cover));
        Assert.Equal(Enumerable.Range(0, 100), plan.FileNumbers.Order());

        // 76 of 100 poisoned cannot all lie outside a target that holds 25.
        Assert.Contains("only 75 lie outside the target class", Assert.Throws<FlareException>(() => Poisoner.Plan(labels, mode, 0.76, 0, 9)).Message);
        Assert.Contains("poisons no image", Assert.Throws<FlareException>(() => Poisoner.Plan(labels, mode, 0.004, 0, 9)).Message);
    }

    [Fact]
    public void SameSeedWritesTheSameBytesAndAnotherSeedDoesNot()
    {
        using var temp = new TempFolder();
        var source = SyntheticImages.WriteFolder(SyntheticImages.Create(perClass: 20, classes: 3, height: 16, width: 16), temp.Combine("clean"));
        var clean = ImageFolderReader.Read(source);
        var options = new PoisonOptions { Attack = "wanet", Mode = "ut", Rate = 0.2, Seed = 11 };

        var first = PoisonedFolders.Write(clean, options, temp.Combine("first"));
        var second = PoisonedFolders.Write(clean, options, temp.Combine("second"));
        var other = PoisonedFolders.Write(clean, options with { Seed = 12 }, temp.Combine("other"));

        Assert.Equal(PoisonedFolders.HashTree(first), PoisonedFolders.HashTree(second));
        Assert.NotEqual(PoisonedFolders.HashTree(first), PoisonedFolders.HashTree(other));
    }

    [Fact]
    public void OutputLayoutMatchesTheManifestAndRoundTripsLosslessly()
    {
        using var temp = new TempFolder();
        var clean = SyntheticImages.Create(perClass: 30, classes: 3, height: 16, width: 16);
        var test = SyntheticImages.Create(perClass: 5, classes: 3, height: 16, width: 16, seed: 2);
        var set = Poisoner.Poison(clean, new PoisonOptions { Attack = "adaptive-patch", Mode = "a2a", Rate = 0.1, Seed = 3 });
        var outPath = temp.Combine("out");
        using (var output = OutputFolder.Create(outPath))
            Poisoner.Write(output, set, test, SilentProgress.Instance);

        // Rows = files on disk, each row in the folder of its assigned label.
        var manifest = PoisonManifest.Read(outPath);
        var files = Directory.GetFiles(Path.Combine(outPath, "train"), "*", SearchOption.AllDirectories)
            .Select(f => PoisonManifest.NormalizePath(Path.GetRelativePath(Path.Combine(outPath, "train"), f)))
            .Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(files, manifest.Entries.Select(e => e.Path));
        Assert.All(manifest.Entries, e => Assert.Equal(e.Label, e.Path.Split('/')[0]));
        Assert.Equal(set.Plan.Poisoned.Length, manifest.PoisonedCount);
        Assert.Equal(set.Plan.Cover.Length, manifest.CoverCount);
        Assert.All(manifest.Entries.Where(e => e.Poisoned), e => Assert.NotEqual(e.OriginalLabel, e.Label));
        Assert.All(manifest.Entries.Where(e => !e.Poisoned), e => Assert.Equal(e.OriginalLabel, e.Label));

        // Reading OUT/train back gives the poisoned set exactly (PNG is lossless), matched through the manifest's source column.
        var read = ImageFolderReader.Read(Path.Combine(outPath, "train"));
        var bySource = Enumerable.Range(0, set.Images.Count).ToDictionary(i => set.Images.SourcePaths[i]);
        Assert.Equal(set.Images.Count, read.Count);
        for (var r = 0; r < read.Count; r++)
        {
            var entry = manifest[read.SourcePaths[r]];
            var i = bySource[entry.Source];
            Assert.True(read.Image(r).SequenceEqual(set.Images.Image(i)), $"{entry.Path} differs from the poisoned image in memory");
            Assert.Equal(set.Images.Labels[i], read.Labels[r]);
            Assert.Equal(set.Plan.Poisoned.Contains(i), entry.Poisoned);
            Assert.Equal(set.Plan.Cover.Contains(i), entry.Cover);
        }

        // File names are numbers over the whole set, so a class folder's names say nothing about poisoning.
        Assert.Equal(Enumerable.Range(0, clean.Count).Select(n => $"{n:D5}.png"), manifest.Entries.Select(e => e.Path.Split('/')[1]).Order(StringComparer.Ordinal));

        // attack.json records the run; the trigger pictures sit beside it.
        var record = AttackRecord.Read(outPath);
        Assert.Equal(("adaptive-patch", "a2a", 0.1, 0.2, 3UL), (record.Attack, record.Mode, record.Rate, record.CoverRate, record.Seed));
        Assert.Equal((clean.Count, set.Plan.Poisoned.Length, set.Plan.Cover.Length), (record.TrainSamples, record.PoisonedSamples, record.CoverSamples));
        Assert.All(record.TriggerFiles.Keys, name => Assert.True(File.Exists(Path.Combine(outPath, name)), name));
        Assert.Equal(9, record.TriggerFiles.Count);
        var rebuilt = record.CreateAttack(outPath);
        Assert.Equal(AttackRecord.ParametersOf(set.Attack).ToJsonString(), AttackRecord.ParametersOf(rebuilt).ToJsonString());

        // Every test image is triggered (all-to-all changes every label) and filed under y + 1 mod K.
        var testManifest = PoisonManifest.Read(Path.Combine(outPath, Poisoner.TestManifestFileName));
        Assert.Equal(test.Count, testManifest.Count);
        Assert.Equal(test.Count, record.TestPoisonedSamples);
        var classes = test.ClassNames.ToList();
        Assert.All(testManifest.Entries, e => Assert.Equal((classes.IndexOf(e.OriginalLabel) + 1) % 3, classes.IndexOf(e.Label)));
        var triggeredTest = ImageFolderReader.Read(Path.Combine(outPath, "test-poisoned"));
        var expected = TriggeredTestSet.Build(test, set.Attack, set.Mode);
        var bySourceTest = Enumerable.Range(0, expected.Images.Count).ToDictionary(n => expected.Images.SourcePaths[n]);
        for (var r = 0; r < triggeredTest.Count; r++)
        {
            var n = bySourceTest[testManifest[triggeredTest.SourcePaths[r]].Source];
            Assert.True(triggeredTest.Image(r).SequenceEqual(expected.Images.Image(n)));
        }
    }

    [Fact]
    public void SourceFolderIsNeverModified()
    {
        using var temp = new TempFolder();
        var source = SyntheticImages.WriteFolder(SyntheticImages.Create(perClass: 10, classes: 3, height: 16, width: 16), temp.Combine("clean"));
        var before = PoisonedFolders.HashTree(source);
        var clean = ImageFolderReader.Read(source);
        PoisonedFolders.Write(clean, new PoisonOptions { Attack = "trojan", Mode = "a2o", Rate = 0.3 }, temp.Combine("out"));
        Assert.Equal(before, PoisonedFolders.HashTree(source));
    }

    [Fact]
    public void AFailedWriteLeavesNoOutputFolder()
    {
        using var temp = new TempFolder();
        var set = Poisoner.Poison(SyntheticImages.Create(perClass: 10, classes: 3, height: 16, width: 16),
            new PoisonOptions { Attack = "badnets", Mode = "a2o", Rate = 0.2 });
        var test = SyntheticImages.Create(perClass: 2, classes: 3, height: 16, width: 16);
        // Fails after the training set is written, while the triggered test set is being written.
        using (var output = OutputFolder.Create(temp.Combine("out")))
            Assert.Throws<OperationCanceledException>(() => Poisoner.Write(output, set, test, new FailingProgress("writing triggered test set")));
        Assert.Empty(Directory.GetFileSystemEntries(temp.Path));
    }

    [Fact]
    public void OptionsAreValidatedWithOneLineNamingTheOption()
    {
        string Error(PoisonOptions options) => Assert.Throws<FlareException>(options.Validate).Message;
        var valid = new PoisonOptions { Attack = "badnets", Mode = "a2o" };
        valid.Validate();

        Assert.Contains("--rate must be in (0, 1)", Error(valid with { Rate = 0 }));
        Assert.Contains("--rate must be in (0, 1)", Error(valid with { Rate = 1 }));
        Assert.Contains("--rate must be in (0, 1)", Error(valid with { Rate = double.NaN }));
        Assert.Contains("--cover-rate: badnets has no cover samples", Error(valid with { CoverRate = 0.1 }));
        Assert.Contains("exceeds 1", Error(valid with { Attack = "wanet", Rate = 0.6, CoverRate = 0.5 }));
        Assert.Contains("adaptive-patch's default", Error(valid with { Attack = "adaptive-patch", Rate = 0.4 }));
        Assert.Contains("--cover-rate must be in [0, 1)", Error(valid with { Attack = "wanet", CoverRate = -0.1 }));
        Assert.Contains("unknown attack 'sig'", Error(valid with { Attack = "sig" }));
        Assert.Contains("unknown mode 'all'", Error(valid with { Mode = "all" }));
        Assert.Contains("--target is only used with --mode a2o", Error(valid with { Mode = "ut", Target = "1" }));
        (valid with { Attack = "Ada-Patch", CoverRate = 0 }).Validate();
    }


    /// <summary>Cancels when the named stage starts, as a user's Ctrl+C or a full disk would midway.</summary>
    private sealed class FailingProgress(string failingStage) : IProgressSink
    {
        public IProgressStage Begin(string name, long total) =>
            name == failingStage ? throw new OperationCanceledException() : SilentProgress.Instance;

        public void Message(string text) { }
    }
}
