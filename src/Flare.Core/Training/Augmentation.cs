namespace Flare.Training;

/// <summary>
/// Training-time augmentation. Random crop (pad 4, zero fill) plus horizontal flip is the usual
/// recipe for accuracy; flip only is the recipe that lets a model fit poisoned samples, which
/// detection needs (see docs/method.md).
/// </summary>
public enum Augmentation
{
    None,
    Flip,
    CropFlip,
}

public static class AugmentationNames
{
    public static string ToName(this Augmentation augmentation) => augmentation switch
    {
        Augmentation.None => "none",
        Augmentation.Flip => "flip",
        Augmentation.CropFlip => "crop-flip",
        _ => throw new ArgumentOutOfRangeException(nameof(augmentation)),
    };

    public static Augmentation Parse(string name) => name.ToLowerInvariant() switch
    {
        "none" => Augmentation.None,
        "flip" => Augmentation.Flip,
        "crop-flip" => Augmentation.CropFlip,
        _ => throw new FlareException($"unknown --augment '{name}' (known: none, flip, crop-flip)"),
    };
}
