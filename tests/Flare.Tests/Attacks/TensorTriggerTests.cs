using Flare.Attacks;
using Flare.Native;
using Flare.Tests.Support;
using TorchSharp;

namespace Flare.Tests.Attacks;

[Collection(TorchCollection.Name)]
public class TensorTriggerTests
{
    [Theory]
    [InlineData("blend")]
    [InlineData("wanet")]
    [InlineData("adaptive-patch")]
    [InlineData("grating")]
    [InlineData("tint")]
    [InlineData("rotated-patch")]
    public void TensorBatchesGetTheSameTriggerAsFloatArrays(string name)
    {
        TorchRuntime.EnsureLoaded();
        var attack = AttackRegistry.Create(name, new AttackSetup(16, 16, Seed: 2));
        var random = new SeededRandom(3);
        var values = Enumerable.Range(0, 2 * 3 * 16 * 16).Select(_ => random.NextSingle()).ToArray();
        var expected = (float[])values.Clone();
        TestTriggers.Apply(attack, expected.AsSpan());

        using var batch = torch.tensor(values, [2, 3, 16, 16]);
        using var triggered = TestTriggers.Apply(attack, batch);
        Assert.Equal(new long[] { 2, 3, 16, 16 }, triggered.shape);
        Assert.Equal(expected, triggered.data<float>().ToArray());
        Assert.Equal(values, batch.data<float>().ToArray());
        using var wrongSize = torch.zeros(1, 3, 8, 8);
        Assert.Throws<ArgumentException>(() => TestTriggers.Apply(attack, wrongSize));
    }
}
