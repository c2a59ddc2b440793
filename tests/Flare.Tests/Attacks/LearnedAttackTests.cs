using Flare.Attacks;
using Flare.Data;
using Flare.IO;
using Flare.Progress;
using Flare.Tests.Support;
using static Flare.Tests.Support.TinyLearnedSets;

namespace Flare.Tests.Attacks;

/// <summary>
/// The learned attacks on tiny sets (120 images of 16x16, a width-4 surrogate trained one epoch,
/// ISSBA's encoder 20 epochs of 3 steps):
/// the contract every learned attack keeps, then SIBA's and LC's own promises.
/// </summary>
[Collection(TorchCollection.Name)]
public class LearnedAttackTests
{
    private const int Size = TinyLearnedSets.Size;
    private const int Plane = Size * Size;

    /// <summary>Every learned attack in the registry, with the last label mode it supports.</summary>
    public static TheoryData<string, string> LearnedAttacks()
    {
        var data = new TheoryData<string, string>();
        foreach (var spec in AttackRegistry.All.Where(a => a.Learned is not null)) data.Add(spec.Name, LabelMode.NameOf(spec.Learned!.Modes[^1]));
        return data;
    }

    [Theory]
    [MemberData(nameof(LearnedAttacks))]
    public void TheTriggerLoadedFromTheOutputFolderIsTheOneBuilt(string attack, string mode)
    {
        using var temp = new TempFolder();
        var clean = Clean();
        var test = SyntheticImages.Create(perClass: 4, classes: 3, height: Size, width: Size, seed: 7);
        var set = Poisoner.Poison(clean, Options(attack, mode, seed: 3));
        Assert.IsAssignableFrom<ILearnedAttack>(set.Attack);
        var outPath = temp.Combine("out");
        using (var output = OutputFolder.Create(outPath))
            Poisoner.Write(output, set, test, SilentProgress.Instance);

        var record = AttackRecord.Read(outPath);
        var artifacts = ((ILearnedAttack)set.Attack).Artifacts;
        Assert.Equal(artifacts.Select(a => a.FileName).Order(), (record.Artifacts ?? []).Keys.Order());
        var loaded = AttackRecord.LoadTrigger(outPath, clean.ClassNames);
        Assert.Equal(AttackRecord.ParametersOf(set.Attack).ToJsonString(), AttackRecord.ParametersOf(loaded.Attack).ToJsonString());
        for (var i = 0; i < test.Count; i++)
        {
            var built = test.Image(i).ToArray();
            var again = test.Image(i).ToArray();
            set.Attack.TriggerTestImage(built);
            loaded.Attack.TriggerTestImage(again);
            Assert.Equal(built, again);
            Assert.NotEqual(test.Image(i).ToArray(), built);
        }
    }

    [Theory]
    [MemberData(nameof(LearnedAttacks))]
    public void TheSameSeedWritesTheSameBytesAndAnotherSeedDoesNot(string attack, string mode)
    {
        using var temp = new TempFolder();
        var clean = Clean();
        var first = PoisonedFolders.Write(clean, Options(attack, mode, seed: 5), temp.Combine("first"));
        var second = PoisonedFolders.Write(clean, Options(attack, mode, seed: 5), temp.Combine("second"));
        var other = PoisonedFolders.Write(clean, Options(attack, mode, seed: 6), temp.Combine("other"));
        Assert.Equal(PoisonedFolders.HashTree(first), PoisonedFolders.HashTree(second));
        Assert.NotEqual(PoisonedFolders.HashTree(first), PoisonedFolders.HashTree(other));
    }

    [Fact]
    public void LearnedAttacksAreNotPatternFactoriesAndRefuseUnsupportedOptions()
    {
        Assert.Contains("siba is a learned attack", Assert.Throws<FlareException>(() => AttackRegistry.Create("siba", new AttackSetup(Size, Size, 0))).Message);
        string Error(PoisonOptions options) => Assert.Throws<FlareException>(options.Validate).Message;
        Assert.Contains("--mode a2a: lc supports only a2o", Error(new PoisonOptions { Attack = "lc", Mode = "a2a" }));
        Assert.Contains("--mode ut: lc supports only a2o", Error(new PoisonOptions { Attack = "lc", Mode = "ut" }));
        Assert.Contains("--cover-rate: siba has no cover samples", Error(new PoisonOptions { Attack = "siba", Mode = "a2o", CoverRate = 0.1 }));
        Assert.Contains("--surrogate-epochs: badnets is a pattern attack", Error(new PoisonOptions { Attack = "badnets", Mode = "a2o", Surrogate = new() }));
        Assert.Contains("--surrogate-epochs must be positive", Error(new PoisonOptions { Attack = "siba", Mode = "a2o", Surrogate = new() { Epochs = 0 } }));
    }

    [Fact]
    public void AChangedOrMissingArtifactIsRefusedNamingTheFile()
    {
        using var temp = new TempFolder();
        var clean = Clean();
        var outPath = PoisonedFolders.Write(clean, Options("siba", "a2o", seed: 1), temp.Combine("out"));
        var artifact = Path.Combine(outPath, Siba.PerturbationFile);
        var bytes = File.ReadAllBytes(artifact);
        bytes[^1] ^= 0x40;
        File.WriteAllBytes(artifact, bytes);
        Assert.Contains($"{Siba.PerturbationFile}: artifact changed", Assert.Throws<FlareException>(() => AttackRecord.LoadTrigger(outPath, clean.ClassNames)).Message);
        File.Delete(artifact);
        Assert.Contains($"{Siba.PerturbationFile}: artifact missing", Assert.Throws<FlareException>(() => AttackRecord.LoadTrigger(outPath, clean.ClassNames)).Message);
    }

    [Theory]
    [InlineData("a2o")]
    [InlineData("a2a")]
    [InlineData("ut")]
    public void SibaChangesAtMostKPixelsByAtMostEpsilonAndLabelsFollowTheMode(string mode)
    {
        var clean = Clean();
        var set = Poisoner.Poison(clean, Options("siba", mode, seed: 2));
        var siba = Assert.IsType<Siba>(set.Attack);

        var epsilon = (float)Siba.Defaults.Epsilon;
        Assert.All(siba.Perturbation.ToArray(), d => Assert.InRange(d, -epsilon, epsilon));
        var perturbed = PixelsChanged(siba.Perturbation.ToArray().Select(d => d != 0 ? (byte)1 : (byte)0).ToArray(), new byte[3 * Plane]);
        Assert.InRange(perturbed.Count, 1, Siba.Defaults.Pixels);

        var poisoned = set.Plan.Poisoned.ToHashSet();
        for (var i = 0; i < clean.Count; i++)
        {
            var before = clean.Image(i).ToArray();
            var after = set.Images.Image(i).ToArray();
            var y = clean.Labels[i];
            if (!poisoned.Contains(i))
            {
                Assert.Equal(before, after);
                Assert.Equal(y, set.Images.Labels[i]);
                continue;
            }
            Assert.All(before.Zip(after), pair => Assert.InRange(pair.Second - pair.First, -Siba.Defaults.EpsilonLevels, Siba.Defaults.EpsilonLevels));
            Assert.Subset(perturbed, PixelsChanged(before, after));
            var label = set.Images.Labels[i];
            Assert.NotEqual(y, label);
            if (mode == "a2o") Assert.Equal(0, label);
            if (mode == "a2a") Assert.Equal((y + 1) % 3, label);
        }
    }

    [Fact]
    public void LcPoisonsOnlyTargetImagesKeepsEveryLabelAndStampsTheFourCorners()
    {
        var clean = Clean();
        var set = Poisoner.Poison(clean, Options("lc", "a2o", seed: 4) with { Target = "class1", Rate = 0.2 });
        Assert.Equal(24, set.Plan.Poisoned.Length);
        Assert.Equal(clean.Labels, set.Images.Labels);
        Assert.All(set.Plan.Poisoned, i => Assert.Equal(1, clean.Labels[i]));

        // Each corner holds a 3x3 checkerboard whose own corners are white.
        var corners = new Dictionary<int, byte>();
        foreach (var (top, left) in new[] { (0, 0), (0, Size - 3), (Size - 3, 0), (Size - 3, Size - 3) })
            for (var y = 0; y < 3; y++)
                for (var x = 0; x < 3; x++) corners[(top + y) * Size + left + x] = (y + x) % 2 == 0 ? (byte)255 : (byte)0;
        var poisoned = set.Plan.Poisoned.ToHashSet();
        var moved = 0;
        for (var i = 0; i < clean.Count; i++)
        {
            var before = clean.Image(i);
            var after = set.Images.Image(i);
            if (!poisoned.Contains(i))
            {
                Assert.True(before.SequenceEqual(after));
                continue;
            }
            for (var v = 0; v < before.Length; v++)
            {
                var p = v % Plane;
                if (corners.TryGetValue(p, out var stamped)) Assert.Equal(stamped, after[v]);
                else
                {
                    // PGD at 8/255, rounded to 8 bits: at most 8 levels from the clean value.
                    Assert.InRange(after[v] - before[v], -8, 8);
                    if (after[v] != before[v]) moved++;
                }
            }
        }
        Assert.True(moved > 0, "PGD changed no value outside the corners");

        // At a rate above the target class's share the clean-label plan runs out of images.
        Assert.Contains("the target class holds only 40", Assert.Throws<FlareException>(() => Poisoner.Poison(clean, Options("lc", "a2o", seed: 4) with { Rate = 0.4 })).Message);
    }

    [Fact]
    public void ALoadedLcTriggersTestImagesOnly()
    {
        using var temp = new TempFolder();
        var clean = Clean();
        var outPath = PoisonedFolders.Write(clean, Options("lc", "a2o", seed: 8), temp.Combine("out"));
        var loaded = AttackRecord.LoadTrigger(outPath, clean.ClassNames).Attack;
        Assert.Throws<InvalidOperationException>(() => loaded.PoisonTrainingImage(clean.Image(0).ToArray(), 0, new SeededRandom(0)));
    }

    /// <summary>The pixels (y x W + x) at which any channel differs.</summary>
    private static HashSet<int> PixelsChanged(byte[] before, byte[] after) =>
        Enumerable.Range(0, before.Length).Where(v => before[v] != after[v]).Select(v => v % Plane).ToHashSet();
}
