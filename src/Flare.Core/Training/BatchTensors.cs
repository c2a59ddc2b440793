using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace Flare.Training;

/// <summary>
/// Copies an assembled batch into fresh tensors without allocating managed arrays per batch. The
/// copy is one block copy into the tensor's memory: TorchSharp's element accessor took 10 to 30 ms
/// per 128-image batch here, more than assembling it (docs/benchmarks.md).
/// </summary>
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
        CopyInto(tensor, buffer[..(count * channels * height * width)]);
        return layout == BatchLayout.ChannelsFirst ? tensor : tensor.permute(0, 3, 1, 2);
    }

    public static Tensor Labels(ReadOnlySpan<long> labels, int count)
    {
        var tensor = empty([count], ScalarType.Int64);
        CopyInto(tensor, labels[..count]);
        return tensor;
    }

    /// <summary>Copies a CPU tensor's elements (of type <typeparamref name="T"/>), in row-major order, into <paramref name="destination"/> as one block.</summary>
    public static unsafe void CopyOut<T>(Tensor tensor, Span<T> destination) where T : unmanaged
    {
        using var contiguous = tensor.contiguous();
        if (contiguous.ElementSize != sizeof(T)) throw new ArgumentException($"a {contiguous.dtype} tensor cannot be read as {typeof(T).Name}", nameof(tensor));
        new ReadOnlySpan<T>((void*)TensorData(contiguous.Handle), (int)contiguous.numel()).CopyTo(destination);
    }

    // The tensor is new, contiguous and on the CPU, so its elements are one block at its data pointer.
    private static unsafe void CopyInto<T>(Tensor tensor, ReadOnlySpan<T> values) where T : unmanaged =>
        values.CopyTo(new Span<T>((void*)TensorData(tensor.Handle), values.Length));

    // TorchSharp 0.107 does not expose the data pointer publicly; its glue library exports it.
    [DllImport("LibTorchSharp", EntryPoint = "THSTensor_data")]
    private static extern IntPtr TensorData(IntPtr tensor);
}
