using Flare.Attacks;
using Flare.Data;
using Flare.Tests.Support;

namespace Flare.Tests.Attacks;

/// <summary>
/// ISSBA's own promises on a tiny set (48 images of 16x16, a few encoder steps); the round trip of
/// its artifacts and same seed, same bytes are in <see cref="LearnedAttackTests"/>, which runs
/// every learned attack.
/// </summary>
[Collection(TorchCollection.Name)]
public class IssbaTests
{
    private const int Size = 16;

    [Theory]
    [InlineData("a2o")]
    [InlineData("a2a")]
    [InlineData("ut")]
    public void LabelsFollowTheModeAndEveryTriggerKeepsThePsnrFloor(string mode)
    {
        var clean = Clean();
        var set = Poisoner.Poison(clean, Options(mode, seed: 2));
        Assert.IsType<Issba>(set.Attack);

        // The float residual's RMS is at most 255 x 10^(-27/20) levels; 8-bit rounding adds at most half a level.
        var largestRms = 255 * Math.Pow(10, -Issba.Defaults.MinimumPsnr / 20) + 0.5;
        var poisoned = set.Plan.Poisoned.ToHashSet();
        Assert.NotEmpty(poisoned);
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
            Assert.NotEqual(before, after);
            var rms = Math.Sqrt(before.Zip(after).Average(pair => (double)(pair.First - pair.Second) * (pair.First - pair.Second)));
            Assert.InRange(rms, 0, largestRms);
            var label = set.Images.Labels[i];
            Assert.NotEqual(y, label);
            if (mode == "a2o") Assert.Equal(0, label);
            if (mode == "a2a") Assert.Equal((y + 1) % 3, label);
        }
    }

    [Fact]
    public void AttackJsonRecordsTheSecretAndTheHeldOutBitAccuracyAndPsnr()
    {
        var set = Poisoner.Poison(Clean(), Options("a2o", seed: 1));
        var issba = Assert.IsType<Issba>(set.Attack);
        var parameters = AttackRecord.ParametersOf(issba);

        Assert.Equal(Issba.Defaults.SecretBits, issba.Secret.Length);
        Assert.Equal(string.Concat(issba.Secret.ToArray().Select(b => b == 1f ? '1' : '0')), (string)parameters["secret"]!);
        Assert.Equal(Clean().Count / 10, (int)parameters["held_out_images"]!);
        Assert.InRange((double)parameters["held_out_bit_accuracy"]!, 0, 1);
        // Over a set of images the PSNR cannot fall below the floor of the worst image.
        var floor = 20 * Math.Log10(255 / (255 * Math.Pow(10, -Issba.Defaults.MinimumPsnr / 20) + 0.5));
        Assert.True((double)parameters["held_out_minimum_psnr_db"]! >= floor);
        Assert.True((double)parameters["held_out_psnr_db"]! >= (double)parameters["held_out_minimum_psnr_db"]!);
    }

    [Fact]
    public void IssbaRefusesASurrogateRecipe() =>
        Assert.Contains("--surrogate-epochs: issba trains no surrogate",
            Assert.Throws<FlareException>(new PoisonOptions { Attack = "issba", Mode = "a2o", Surrogate = new() }.Validate).Message);

    private static ImageSet Clean() => SyntheticImages.Create(perClass: 16, classes: 3, height: Size, width: Size);

    private static PoisonOptions Options(string mode, ulong seed) => new() { Attack = "issba", Mode = mode, Rate = 0.1, Seed = seed };
}
