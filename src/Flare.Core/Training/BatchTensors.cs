using static TorchSharp.torch;

namespace Flare.Training;

/// <summary>Copies an assembled batch into fresh tensors without allocating managed arrays per batch.</summary>
internal static class BatchTensors
{
    /// <summary>
    /// An N x 3 x H x W tensor over an assembled batch. A channels-last batch becomes an N x H x W x 3
    /// tensor viewed as N x 3 x H x W, which is how libtorch recognises channels-last memory.
    /// </summary>
    public static Tensor Images(ReadOnlySpan<float> buffer, int count, int height, int width, BatchLayout layout = BatchLayout.ChannelsFirst)
    {
        var channels = Data.ImageSet.Channels;
        var tensor = layout == BatchLayout.ChannelsFirst ? empty([count, channels, height, width]) : empty([count, height, width, channels]);
        tensor.data<float>().CopyFrom(buffer[..(count * channels * height * width)], 0, 0);
        return layout == BatchLayout.ChannelsFirst ? tensor : tensor.permute(0, 3, 1, 2);
    }

    public static Tensor Labels(ReadOnlySpan<long> labels, int count)
    {
        var tensor = empty([count], ScalarType.Int64);
        tensor.data<long>().CopyFrom(labels[..count], 0, 0);
        return tensor;
    }
}
