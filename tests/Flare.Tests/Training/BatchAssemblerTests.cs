using Flare.Data;
using Flare.Tests.Support;
using Flare.Training;

namespace Flare.Tests.Training;

public class BatchAssemblerTests
{
    [Fact]
    public void WithoutAugmentationPixelsAreNormalizedPerChannel()
    {
        var images = SyntheticImages.Create(perClass: 1, classes: 2, height: 4, width: 4);
        var normalization = new Normalization([0.5f, 0.25f, 0f], [0.5f, 0.25f, 1f]);
        var batch = new float[2 * 48];
        var labels = new long[2];

        new BatchAssembler(images, normalization).Fill([1, 0], batch, labels, Augmentation.None, null);

        Assert.Equal([1L, 0L], labels);
        var source = images.Image(1);
        Assert.Equal((source[0] / 255f - 0.5f) / 0.5f, batch[0], 5);
        Assert.Equal((source[16] / 255f - 0.25f) / 0.25f, batch[16], 5);
        Assert.Equal(source[47] / 255f, batch[47], 5);
    }

    [Fact]
    public void FlipMirrorsRowsAndCropShiftsWithZeroPadding()
    {
        var images = SyntheticImages.Create(perClass: 1, classes: 1, height: 4, width: 4);
        var assembler = new BatchAssembler(images, Normalization.Identity);
        var source = images.Image(0).ToArray();
        var labels = new long[1];
        var seenFlip = false;
        var seenShift = false;
        for (ulong seed = 0; seed < 40; seed++)
        {
            var flipped = new float[48];
            assembler.Fill([0], flipped, labels, Augmentation.Flip, new SeededRandom(seed));
            var isFlip = Enumerable.Range(0, 48).All(p => flipped[p] * 255f is var v && Math.Abs(v - source[p / 4 * 4 + 3 - p % 4]) < 1e-3);
            var isSame = Enumerable.Range(0, 48).All(p => Math.Abs(flipped[p] * 255f - source[p]) < 1e-3);
            Assert.True(isFlip || isSame);
            seenFlip |= isFlip;

            var cropped = new float[48];
            assembler.Fill([0], cropped, labels, Augmentation.CropFlip, new SeededRandom(seed));
            seenShift |= cropped.Any(v => v == 0f);
        }
        Assert.True(seenFlip);
        Assert.True(seenShift);
    }

    [Fact]
    public void ChannelsLastHoldsTheSameValuesPixelByPixel()
    {
        var images = SyntheticImages.Create(perClass: 2, classes: 2, height: 4, width: 5);
        var assembler = new BatchAssembler(images, new Normalization([0.4f, 0.5f, 0.6f], [0.2f, 0.3f, 0.25f]));
        var planar = new float[4 * 60];
        var interleaved = new float[4 * 60];
        var labels = new long[4];

        assembler.Fill([3, 1, 0, 2], planar, labels, Augmentation.CropFlip, new SeededRandom(5));
        assembler.Fill([3, 1, 0, 2], interleaved, labels, Augmentation.CropFlip, new SeededRandom(5), BatchLayout.ChannelsLast);

        for (var b = 0; b < 4; b++)
            for (var c = 0; c < 3; c++)
                for (var pixel = 0; pixel < 20; pixel++)
                    Assert.Equal(planar[b * 60 + c * 20 + pixel], interleaved[b * 60 + pixel * 3 + c]);
    }
}
