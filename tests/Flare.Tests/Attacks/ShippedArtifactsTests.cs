using Flare.Attacks;
using Flare.Data;
using Flare.Tests.Support;

namespace Flare.Tests.Attacks;

/// <summary>
/// The trained triggers shipped under artifacts/ still load with this Flare (their SHA-256 and
/// weight format) and poison a new set without training.
/// </summary>
[Collection(TorchCollection.Name)]
public class ShippedArtifactsTests
{
    private static string IssbaFolder => Path.Combine(SharedData.RepositoryRoot, "artifacts", "issba-cifar10-seed0");
    private static string SibaFolder => Path.Combine(SharedData.RepositoryRoot, "artifacts", "siba-cifar10-a2o-seed0");
    private static string IadFolder => Path.Combine(SharedData.RepositoryRoot, "artifacts", "iad-cifar10-a2o-seed0");

    /// <summary>Synthetic 32x32 images under the class names the trigger was trained for (a reused trigger refuses others).</summary>
    private static ImageSet SyntheticSetFor(TriggerSource source, int perClass)
    {
        var synthetic = SyntheticImages.Create(perClass, classes: source.Record.ClassNames.Length, height: 32, width: 32);
        return new ImageSet(32, 32, synthetic.Pixels, synthetic.Labels, source.Record.ClassNames, synthetic.SourcePaths, null);
    }

    [Fact]
    public void ShippedIadGeneratorsPoisonA2oWithCrossSamplesAsCoverTheSameForTheSameSeed()
    {
        var source = TriggerSource.Read(IadFolder);
        var clean = SyntheticSetFor(source, perClass: 4);
        PoisonedSet Poison() => Poisoner.Poison(clean, new PoisonOptions { Attack = "iad", Rate = 0.2, Seed = 4, TriggerFrom = source, Mode = "a2o" });
        var set = Poison();

        Assert.NotEmpty(set.Plan.Poisoned);
        Assert.Equal(set.Plan.Poisoned.Length, set.Plan.Cover.Length);
        var touched = set.Plan.Poisoned.Concat(set.Plan.Cover).ToHashSet();
        for (var i = 0; i < clean.Count; i++)
        {
            var changed = !clean.Image(i).SequenceEqual(set.Images.Image(i));
            Assert.Equal(touched.Contains(i), changed);
            Assert.Equal(set.Plan.Poisoned.Contains(i) ? 0 : clean.Labels[i], set.Images.Labels[i]);
        }
        Assert.Equal(set.Images.Pixels, Poison().Images.Pixels);
    }

    [Fact]
    public void ShippedSibaTriggerPoisonsA2oToItsTargetWithinItsNormAndSparsity()
    {
        var source = TriggerSource.Read(SibaFolder);
        var clean = SyntheticSetFor(source, perClass: 3);
        var set = Poisoner.Poison(clean, new PoisonOptions { Attack = "siba", Mode = "a2o", Rate = 0.2, Seed = 2, TriggerFrom = source });

        Assert.NotEmpty(set.Plan.Poisoned);
        foreach (var i in set.Plan.Poisoned)
        {
            Assert.Equal(0, set.Images.Labels[i]);
            var before = clean.Image(i).ToArray();
            var after = set.Images.Image(i).ToArray();
            var changedPixels = Enumerable.Range(0, 32 * 32).Count(p => Enumerable.Range(0, 3).Any(c => before[c * 32 * 32 + p] != after[c * 32 * 32 + p]));
            Assert.InRange(changedPixels, 1, Siba.Defaults.Pixels);
            Assert.All(before.Zip(after), pair => Assert.InRange(Math.Abs(pair.First - pair.Second), 0, Siba.Defaults.EpsilonLevels));
        }
    }

    [Fact]
    public void ShippedIssbaTriggerPoisonsAnotherModeWithoutTrainingWithinItsPsnrFloor()
    {
        var clean = SyntheticImages.Create(perClass: 10, classes: 3, height: 32, width: 32);
        var source = TriggerSource.Read(IssbaFolder);
        var set = Poisoner.Poison(clean, new PoisonOptions { Attack = "issba", Mode = "a2a", Seed = 3, TriggerFrom = source });

        var issba = Assert.IsType<Issba>(set.Attack);
        Assert.Equal((string)AttackRecord.ParametersOf(issba)["secret"]!, source.Record.Parameters["secret"]!.GetValue<string>());
        var largestRms = 255 * Math.Pow(10, -Issba.Defaults.MinimumPsnr / 20) + 0.5;
        Assert.NotEmpty(set.Plan.Poisoned);
        foreach (var i in set.Plan.Poisoned)
        {
            var before = clean.Image(i).ToArray();
            var after = set.Images.Image(i).ToArray();
            Assert.NotEqual(before, after);
            var rms = Math.Sqrt(before.Zip(after).Average(pair => (double)(pair.First - pair.Second) * (pair.First - pair.Second)));
            Assert.InRange(rms, 0, largestRms);
            Assert.Equal((clean.Labels[i] + 1) % 3, set.Images.Labels[i]);
        }
    }
}
