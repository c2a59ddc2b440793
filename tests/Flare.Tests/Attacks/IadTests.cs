using Flare.Attacks;
using Flare.Native;
using Flare.Tests.Support;
using TorchSharp;

namespace Flare.Tests.Attacks;

/// <summary>
/// IAD's own promises on a tiny set (120 images of 16x16, a width-4 classifier trained one joint
/// epoch); the contract every learned attack keeps (artifacts round-trip, same seed same bytes) is
/// checked for IAD by <see cref="LearnedAttackTests"/>.
/// </summary>
[Collection(TorchCollection.Name)]
public class IadTests
{
    private const int Size = 16;
    private const int Plane = Size * Size;

    [Theory]
    [InlineData("a2o")]
    [InlineData("a2a")]
    [InlineData("ut")]
    public void LabelsFollowTheModeAndCrossSamplesKeepTheirLabelsAsCover(string mode)
    {
        var clean = SyntheticImages.Create(perClass: 40, classes: 3, height: Size, width: Size);
        var set = Poisoner.Poison(clean, Options(mode, seed: 2));
        Assert.IsType<Iad>(set.Attack);
        Assert.Equal(12, set.Plan.Poisoned.Length);
        Assert.Equal(set.Plan.Poisoned.Length * Iad.Defaults.CrossToPoisonRatio, set.Plan.Cover.Length);

        var poisoned = set.Plan.Poisoned.ToHashSet();
        var cover = set.Plan.Cover.ToHashSet();
        var coverChanged = 0;
        for (var i = 0; i < clean.Count; i++)
        {
            var y = clean.Labels[i];
            var label = set.Images.Labels[i];
            var changed = !clean.Image(i).SequenceEqual(set.Images.Image(i));
            if (poisoned.Contains(i))
            {
                Assert.NotEqual(y, label);
                if (mode == "a2o") Assert.Equal(0, label);
                if (mode == "a2a") Assert.Equal((y + 1) % 3, label);
            }
            else
            {
                Assert.Equal(y, label);
                if (cover.Contains(i)) coverChanged += changed ? 1 : 0;
                else Assert.False(changed, $"sample {i} is neither poisoned nor cover but changed");
            }
        }
        Assert.True(coverChanged > 0, "no cross sample carries a trigger");

        // The manifest counts cross samples as clean (cover), as it does WaNet's noise samples.
        var rows = set.Manifest().Entries;
        Assert.Equal(set.Plan.Cover.Length, rows.Count(r => r.Cover && !r.Poisoned && r.Label == r.OriginalLabel));
        Assert.Equal(set.Plan.Poisoned.Length, rows.Count(r => r.Poisoned));
    }

    [Fact]
    public void EachImageCarriesItsOwnTriggerBetweenTheImageAndItsPatternAndCrossSamplesAnotherImagesPatternAndMask()
    {
        var clean = SyntheticImages.Create(perClass: 40, classes: 3, height: Size, width: Size);
        var set = Poisoner.Poison(clean, Options("a2o", seed: 4));
        var iad = Assert.IsType<Iad>(set.Attack);

        foreach (var i in set.Plan.Poisoned)
        {
            // The training trigger is the test trigger of the image's own content.
            var own = clean.Image(i).ToArray();
            iad.TriggerTestImage(own);
            Assert.Equal(own, set.Images.Image(i).ToArray());

            // x' = x + m (g - x) with m in [0, 1]: every value moves toward the pattern, by at most
            // the distance to it (plus half a level of rounding).
            var x = clean.Image(i).ToArray().Select(v => v / 255f).ToArray();
            var (pattern, mask) = iad.Generate(x);
            Assert.All(mask, m => Assert.InRange(m, 0f, 1f));
            for (var v = 0; v < x.Length; v++)
            {
                var moved = set.Images.Image(i)[v] / 255f - x[v];
                var room = pattern[v] - x[v];
                Assert.True(moved * room >= -0.5f / 255 && MathF.Abs(moved) <= MathF.Abs(room) + 0.5f / 255,
                    $"sample {i} value {v}: moved {moved} toward a pattern {room} away");
                Assert.True(MathF.Abs(moved) <= mask[v % Plane] * MathF.Abs(room) + 0.5f / 255 + 1e-5f);
            }
        }

        // A cross sample is x + m(x2) (g(x2) - x) with x2 another training image, drawn from the sample's own stream.
        foreach (var i in set.Plan.Cover)
        {
            var partner = SeededRandom.ForStream(4, AttackStreams.Sample(i)).NextInt(clean.Count - 1);
            if (partner >= i) partner++;
            var (pattern, mask) = iad.Generate(clean.Image(partner).ToArray().Select(v => v / 255f).ToArray());
            var x = clean.Image(i);
            var expected = new byte[x.Length];
            for (var v = 0; v < x.Length; v++)
            {
                var value = x[v] / 255f;
                expected[v] = PixelAttack.ToByte(value + mask[v % Plane] * (pattern[v] - value));
            }
            Assert.Equal(expected, set.Images.Image(i).ToArray());
        }
    }

    [Fact]
    public void ALoadedIadTriggersTestImagesOnlyAndRecordsTheSchedule()
    {
        using var temp = new TempFolder();
        var clean = SyntheticImages.Create(perClass: 40, classes: 3, height: Size, width: Size);
        var outPath = PoisonedFolders.Write(clean, Options("a2a", seed: 8), temp.Combine("out"));
        var record = AttackRecord.Read(outPath);
        Assert.Equal(1, record.Parameters["joint_epochs"]!.GetValue<int>());
        Assert.Equal(Iad.Defaults.MaskEpochs, record.Parameters["mask_epochs"]!.GetValue<int>());
        Assert.InRange(record.Parameters["mean_mask_on_poisoned_samples"]!.GetValue<double>(), 0, 1);
        Assert.Contains("trigger-example.png", record.TriggerFiles.Keys);

        var loaded = AttackRecord.LoadTrigger(outPath, clean.ClassNames).Attack;
        Assert.Throws<InvalidOperationException>(() => loaded.CoverTrainingImage(clean.Image(0).ToArray(), 0, new SeededRandom(0)));
        Assert.Empty(loaded.TriggerImages);
    }

    [Theory]
    [InlineData(12, 20)]
    [InlineData(28, 28)]
    public void TheGeneratorsTakeSidesThatAreNotMultiplesOfEight(int height, int width)
    {
        TorchRuntime.EnsureLoaded();
        using var scope = torch.NewDisposeScope();
        using var generator = new IadGenerator(1);
        generator.eval();
        using var noGrad = torch.no_grad();
        var output = generator.call(torch.rand(2, 3, height, width));
        Assert.Equal([2L, 1, height, width], output.shape);
        Assert.InRange(output.min().item<float>(), 0f, 1f);
        Assert.InRange(output.max().item<float>(), 0f, 1f);
    }

    private static PoisonOptions Options(string mode, ulong seed) =>
        new() { Attack = "iad", Mode = mode, Rate = 0.1, Seed = seed, Surrogate = new SurrogateOptions { Epochs = 1, Width = 4 } };
}
