namespace Flare.Models;

/// <summary>
/// How a network's first layers treat its input. CIFAR-style stems keep full resolution (3x3
/// convolution, stride 1), which suits 32x32 and 64x64 images (Tiny-ImageNet is usually trained
/// that way); an ImageNet-style stem (7x7 convolution with stride 2, then 3x3 max-pooling with
/// stride 2) reduces larger inputs four-fold before the blocks, keeping cost and receptive field in
/// proportion. Chosen from the image size and recorded in the checkpoint.
/// </summary>
public enum InputStem
{
    Cifar,
    ImageNet,
}

public static class InputStems
{
    /// <summary>Largest image side trained with the full-resolution CIFAR stem.</summary>
    public const int LargestCifarSide = 64;

    public static InputStem For(int height, int width) =>
        Math.Max(height, width) <= LargestCifarSide ? InputStem.Cifar : InputStem.ImageNet;

    public static string ToName(this InputStem stem) => stem == InputStem.Cifar ? "cifar" : "imagenet";

    public static InputStem Parse(string name) => name switch
    {
        "cifar" => InputStem.Cifar,
        "imagenet" => InputStem.ImageNet,
        _ => throw new FlareException($"unknown input stem '{name}' (known: cifar, imagenet)"),
    };
}
