using Flare.Data;

namespace Flare.Training;

/// <summary>How a batch's floats are ordered in memory.</summary>
public enum BatchLayout
{
    /// <summary>N x 3 x H x W, one plane per channel (PyTorch's default).</summary>
    ChannelsFirst,

    /// <summary>N x H x W x 3, the channels of a pixel side by side (PyTorch's channels-last).</summary>
    ChannelsLast,
}

/// <summary>
/// Turns images of an <see cref="ImageSet"/> into a normalized float batch (N x 3 x H x W, stored in
/// either <see cref="BatchLayout"/>), applying augmentation on the 8-bit pixels so that no
/// per-sample tensor work is needed.
/// </summary>
public sealed class BatchAssembler
{
    private const int CropPadding = 4;
    private readonly ImageSet images;
    private readonly float[] scale = new float[ImageSet.Channels];
    private readonly float[] offset = new float[ImageSet.Channels];

    public BatchAssembler(ImageSet images, Normalization normalization)
    {
        this.images = images;
        for (var c = 0; c < ImageSet.Channels; c++)
        {
            scale[c] = 1f / (255f * normalization.Std[c]);
            offset[c] = -normalization.Mean[c] / normalization.Std[c];
        }
    }

    public int ImageFloats => images.ImageBytes;

    /// <summary>
    /// Fills <paramref name="batch"/> with the listed images. With augmentation, the flip and crop of
    /// each image are drawn from <paramref name="random"/> in batch order, so a seed fixes them.
    /// </summary>
    public void Fill(ReadOnlySpan<int> indices, Span<float> batch, Span<long> labels, Augmentation augmentation, SeededRandom? random,
        BatchLayout layout = BatchLayout.ChannelsFirst)
    {
        var height = images.Height;
        var width = images.Width;
        var plane = height * width;
        for (var b = 0; b < indices.Length; b++)
        {
            var image = images.Image(indices[b]);
            var target = batch.Slice(b * ImageFloats, ImageFloats);
            labels[b] = images.Labels[indices[b]];
            var flip = augmentation != Augmentation.None && random!.NextInt(2) == 1;
            int shiftY = 0, shiftX = 0;
            if (augmentation == Augmentation.CropFlip)
            {
                shiftY = random!.NextInt(2 * CropPadding + 1) - CropPadding;
                shiftX = random.NextInt(2 * CropPadding + 1) - CropPadding;
            }
            // Element (c, y, x) of the image goes to c * channelStride + (y * width + x) * pixelStride.
            var (channelStride, pixelStride) = layout == BatchLayout.ChannelsFirst ? (plane, 1) : (1, ImageSet.Channels);
            for (var c = 0; c < ImageSet.Channels; c++)
            {
                var source = image.Slice(c * plane, plane);
                var output = target[(c * channelStride)..];
                var s = scale[c];
                var o = offset[c];
                for (var y = 0; y < height; y++)
                {
                    var sy = y + shiftY;
                    for (var x = 0; x < width; x++)
                    {
                        var sx = (flip ? width - 1 - x : x) + shiftX;
                        var value = (uint)sy < (uint)height && (uint)sx < (uint)width ? source[sy * width + sx] : 0;
                        output[(y * width + x) * pixelStride] = value * s + o;
                    }
                }
            }
        }
    }
}
