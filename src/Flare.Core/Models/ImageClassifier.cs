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
    public static Conv2d Conv(long inputs, long outputs, long kernel, long stride = 1, long groups = 1) =>
        nn.Conv2d(inputs, outputs, kernel, stride: stride, padding: kernel / 2, groups: groups, bias: false);

    /// <summary>Scales a standard channel count by width / standardWidth, never below one channel.</summary>
    public static int Scale(int channels, int width, int standardWidth) =>
        Math.Max(1, (int)Math.Round(channels * (double)width / standardWidth));
}
