namespace Flare.Models;

/// <summary>An architecture Flare can train: its CLI name, the width that reproduces the published network, and a factory.</summary>
public sealed record ModelSpec(string Name, string Description, int StandardWidth, int DefaultWidth, Func<int, int, InputStem, ImageClassifier> Factory)
{
    public ImageClassifier Create(int width, int classes, InputStem stem = InputStem.Cifar)
    {
        if (width <= 0) throw new FlareException($"--width must be positive, got {width}");
        if (classes < 2) throw new FlareException($"a classifier needs at least 2 classes, got {classes}");
        return Factory(width, classes, stem);
    }
}

/// <summary>The architectures by name. Adding one is a file and a line here.</summary>
public static class ModelRegistry
{
    // Default widths are a quarter of the published ones: on a 2-core CPU the published ResNet-18
    // trains at ~80 images/s, the quarter-width one at ~1,000.
    public static readonly IReadOnlyList<ModelSpec> All =
    [
        new("resnet18", "CIFAR ResNet-18 (the paper's model; width 64 = paper)", 64, 16, (w, k, s) => new ResNet18(w, k, s)),
        new("vgg19", "VGG-19 with BatchNorm (width 64 = standard)", Vgg19.StandardWidth, 16, (w, k, _) => new Vgg19(w, k)),
        new("mobilenetv2", "MobileNetV2 (width 32 = standard)", MobileNetV2.StandardWidth, 8, (w, k, s) => new MobileNetV2(w, k, s)),
    ];

    public const string DefaultName = "resnet18";

    public static ModelSpec Get(string name) =>
        All.FirstOrDefault(spec => spec.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
        ?? throw new FlareException($"unknown model '{name}' (known: {string.Join(", ", All.Select(s => s.Name))})");
}
