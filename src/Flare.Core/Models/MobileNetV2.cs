using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flare.Models;

/// <summary>
/// MobileNetV2 (the paper's ablation model): a 3x3 stem, seventeen inverted-residual blocks
/// (expansion, channels, repeats, stride as in the original paper), a 1x1 conv to 1280 channels and
/// a linear head. With the CIFAR stem (inputs up to 64x64) the first two downsamplings are removed
/// (stride-1 stem and first 24-channel block); with the ImageNet stem they are kept.
/// Width 32 is the standard network (the stem's channel count); other widths scale every layer.
/// </summary>
public sealed class MobileNetV2 : ImageClassifier
{
    public const int StandardWidth = 32;
    private static readonly (int Expansion, int Channels, int Repeats, int Stride)[] Config =
        [(1, 16, 1, 1), (6, 24, 2, 1), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)];

    private readonly MixedPrecisionConvolution stem, expand;
    private readonly BatchNorm2d stemNorm, expandNorm;
    private readonly Sequential blocks;
    private readonly Linear head;

    public MobileNetV2(int width, int classes, InputStem inputStem = InputStem.Cifar) : base(nameof(MobileNetV2))
    {
        var inputs = Layers.Scale(32, width, StandardWidth);
        var imageNet = inputStem == InputStem.ImageNet;
        stem = Layers.Conv(3, inputs, 3, stride: imageNet ? 2 : 1);
        stemNorm = nn.BatchNorm2d(inputs);
        var blockList = new List<InvertedResidual>();
        foreach (var (expansion, channels, repeats, configStride) in Config)
        {
            var stride = imageNet && channels == 24 ? 2 : configStride;
            var outputs = Layers.Scale(channels, width, StandardWidth);
            for (var r = 0; r < repeats; r++)
            {
                blockList.Add(new InvertedResidual(inputs, outputs, expansion, r == 0 ? stride : 1));
                inputs = outputs;
            }
        }
        blocks = nn.Sequential(blockList.Select((block, i) => ($"block{i}", (nn.Module<Tensor, Tensor>)block)).ToArray());
        var last = Layers.Scale(1280, width, StandardWidth);
        expand = Layers.Conv(inputs, last, 1);
        expandNorm = nn.BatchNorm2d(last);
        head = nn.Linear(last, classes);
        RegisterComponents();
        BatchNormLayers = [stemNorm, .. BatchNormsOf(blockList), expandNorm];
    }

    public override IReadOnlyList<BatchNorm2d> BatchNormLayers { get; }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = nn.functional.relu(stemNorm.call(stem.call(input)));
        x = blocks.call(x);
        x = nn.functional.relu(expandNorm.call(expand.call(x)));
        x = nn.functional.adaptive_avg_pool2d(x, 1).flatten(1);
        return head.call(x).MoveToOuterDisposeScope();
    }

    private sealed class InvertedResidual : nn.Module<Tensor, Tensor>, IBatchNormCarrier
    {
        private readonly MixedPrecisionConvolution pointwise, depthwise, project;
        private readonly BatchNorm2d pointwiseNorm, depthwiseNorm, projectNorm;
        private readonly MixedPrecisionConvolution? shortcut;
        private readonly BatchNorm2d? shortcutNorm;
        private readonly bool residual;

        public InvertedResidual(int inputs, int outputs, int expansion, int stride) : base(nameof(InvertedResidual))
        {
            var hidden = inputs * expansion;
            pointwise = Layers.Conv(inputs, hidden, 1);
            pointwiseNorm = nn.BatchNorm2d(hidden);
            depthwise = Layers.Conv(hidden, hidden, 3, stride, groups: hidden);
            depthwiseNorm = nn.BatchNorm2d(hidden);
            project = Layers.Conv(hidden, outputs, 1);
            projectNorm = nn.BatchNorm2d(outputs);
            residual = stride == 1;
            if (residual && inputs != outputs)
            {
                shortcut = Layers.Conv(inputs, outputs, 1);
                shortcutNorm = nn.BatchNorm2d(outputs);
            }
            RegisterComponents();
        }

        public IEnumerable<BatchNorm2d> BatchNormLayers =>
            shortcutNorm is null ? [pointwiseNorm, depthwiseNorm, projectNorm] : [pointwiseNorm, depthwiseNorm, projectNorm, shortcutNorm];

        public override Tensor forward(Tensor input)
        {
            var x = nn.functional.relu(pointwiseNorm.call(pointwise.call(input)));
            x = nn.functional.relu(depthwiseNorm.call(depthwise.call(x)));
            x = projectNorm.call(project.call(x));
            if (!residual) return x;
            return x + (shortcut is null ? input : shortcutNorm!.call(shortcut.call(input)));
        }
    }
}
