using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flare.Models;

/// <summary>
/// A CIFAR-style image classifier: NCHW float input, logits out. Detection reads every BatchNorm
/// layer's input, so each model lists its BatchNorm layers in the order the forward pass runs them.
/// </summary>
public abstract class ImageClassifier : nn.Module<Tensor, Tensor>
{
    protected ImageClassifier(string name) : base(name) { }

    /// <summary>Every BatchNorm layer, in forward execution order.</summary>
    public abstract IReadOnlyList<BatchNorm2d> BatchNormLayers { get; }

    /// <summary>Whether the model's convolutions multiply in bfloat16 (see <see cref="MixedPrecisionConvolution"/>); off unless training turns it on.</summary>
    public bool BFloat16Convolutions
    {
        get => modules().OfType<MixedPrecisionConvolution>().Any(c => c.BFloat16);
        set
        {
            foreach (var convolution in modules().OfType<MixedPrecisionConvolution>()) convolution.BFloat16 = value;
        }
    }

    protected static IEnumerable<BatchNorm2d> BatchNormsOf(IEnumerable<IBatchNormCarrier> parts) =>
        parts.SelectMany(part => part.BatchNormLayers);
}

/// <summary>A building block that contains BatchNorm layers, listed in forward order.</summary>
public interface IBatchNormCarrier
{
    IEnumerable<BatchNorm2d> BatchNormLayers { get; }
}

internal static class Layers
{
    public static MixedPrecisionConvolution Conv(long inputs, long outputs, long kernel, long stride = 1, long groups = 1) =>
        new(inputs, outputs, kernel, stride, groups);

    /// <summary>Scales a standard channel count by width / standardWidth, never below one channel.</summary>
    public static int Scale(int channels, int width, int standardWidth) =>
        Math.Max(1, (int)Math.Round(channels * (double)width / standardWidth));
}
