using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flare.Models;

/// <summary>
/// VGG-19 with BatchNorm (the paper's ablation model): sixteen 3x3 conv-BN-ReLU layers in five
/// max-pooled stages (64, 128, 256, 512, 512 channels at width 64), global average pooling and a
/// linear head. The same network serves every input size: it has no separate stem, its five
/// poolings already reduce a 224x224 input to 7x7.
/// </summary>
public sealed class Vgg19 : ImageClassifier
{
    public const int StandardWidth = 64;
    private static readonly int[][] Stages = [[64, 64], [128, 128], [256, 256, 256, 256], [512, 512, 512, 512], [512, 512, 512, 512]];

    private readonly Sequential features;
    private readonly Linear head;

    public Vgg19(int width, int classes) : base(nameof(Vgg19))
    {
        var layers = new List<(string, nn.Module<Tensor, Tensor>)>();
        var norms = new List<BatchNorm2d>();
        var inputs = 3;
        for (var s = 0; s < Stages.Length; s++)
        {
            for (var c = 0; c < Stages[s].Length; c++)
            {
                var outputs = Layers.Scale(Stages[s][c], width, StandardWidth);
                var norm = nn.BatchNorm2d(outputs);
                norms.Add(norm);
                layers.Add(($"conv{s}_{c}", Layers.Conv(inputs, outputs, 3)));
                layers.Add(($"norm{s}_{c}", norm));
                layers.Add(($"relu{s}_{c}", nn.ReLU()));
                inputs = outputs;
            }
            layers.Add(($"pool{s}", nn.MaxPool2d(2, 2)));
        }
        features = nn.Sequential(layers.ToArray());
        head = nn.Linear(inputs, classes);
        RegisterComponents();
        BatchNormLayers = norms;
    }

    public override IReadOnlyList<BatchNorm2d> BatchNormLayers { get; }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = nn.functional.adaptive_avg_pool2d(features.call(input), 1).flatten(1);
        return head.call(x).MoveToOuterDisposeScope();
    }
}
