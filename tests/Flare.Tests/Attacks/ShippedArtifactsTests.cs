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
