using static TorchSharp.torch;

namespace Flare.Training;

/// <summary>Copies an assembled batch into fresh tensors without allocating managed arrays per batch.</summary>
internal static class BatchTensors
{
    public static Tensor Images(ReadOnlySpan<float> buffer, int count, int height, int width)
    {
        var tensor = empty([count, Data.ImageSet.Channels, height, width]);
        tensor.data<float>().CopyFrom(buffer[..(count * Data.ImageSet.Channels * height * width)], 0, 0);
        return tensor;
    }

    public static Tensor Labels(ReadOnlySpan<long> labels, int count)
    {
        var tensor = empty([count], ScalarType.Int64);
        tensor.data<long>().CopyFrom(labels[..count], 0, 0);
        return tensor;
    }
}
