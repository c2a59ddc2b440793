using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flare.Models;

/// <summary>
/// The CIFAR ResNet-18 of the paper: a 3x3 stem without max-pool, four stages of two basic blocks
/// (widths w, 2w, 4w, 8w; w = 64 in the paper), global average pooling and a linear head.
/// 20 BatchNorm layers: the stem's, two per block and one in each of the three projection shortcuts.
/// With the ImageNet stem (inputs above 64x64) the stem is the original ResNet's 7x7 stride-2
/// convolution and 3x3 stride-2 max-pool.
/// </summary>
public sealed class ResNet18 : ImageClassifier
{
    private readonly MixedPrecisionConvolution stem;
    private readonly BatchNorm2d stemNorm;
    private readonly MaxPool2d? stemPool;
    private readonly Sequential blocks;
    private readonly Linear head;
    private readonly List<BasicBlock> blockList = [];

    public ResNet18(int width, int classes, InputStem inputStem = InputStem.Cifar) : base(nameof(ResNet18))
    {
        stem = inputStem == InputStem.Cifar ? Layers.Conv(3, width, 3) : Layers.Conv(3, width, 7, stride: 2);
        stemNorm = nn.BatchNorm2d(width);
        if (inputStem == InputStem.ImageNet) stemPool = nn.MaxPool2d(3, 2, 1);
        var inputs = width;
        var stageWidths = new[] { width, 2 * width, 4 * width, 8 * width };
        for (var stage = 0; stage < 4; stage++)
        {
            for (var b = 0; b < 2; b++)
            {
                var stride = stage > 0 && b == 0 ? 2 : 1;
                blockList.Add(new BasicBlock(inputs, stageWidths[stage], stride));
                inputs = stageWidths[stage];
            }
        }
        blocks = nn.Sequential(blockList.Select((block, i) => ($"block{i}", (nn.Module<Tensor, Tensor>)block)).ToArray());
        head = nn.Linear(inputs, classes);
        RegisterComponents();
        BatchNormLayers = [stemNorm, .. BatchNormsOf(blockList)];
    }

    public override IReadOnlyList<BatchNorm2d> BatchNormLayers { get; }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = stemNorm.call(stem.call(input)).relu_();
        if (stemPool is not null) x = stemPool.call(x);
        x = blocks.call(x);
        x = nn.functional.adaptive_avg_pool2d(x, 1).flatten(1);
        return head.call(x).MoveToOuterDisposeScope();
    }

    private sealed class BasicBlock : nn.Module<Tensor, Tensor>, IBatchNormCarrier
    {
        private readonly MixedPrecisionConvolution conv1, conv2;
        private readonly BatchNorm2d norm1, norm2;
        private readonly MixedPrecisionConvolution? projection;
        private readonly BatchNorm2d? projectionNorm;

        public BasicBlock(int inputs, int outputs, int stride) : base(nameof(BasicBlock))
        {
            conv1 = Layers.Conv(inputs, outputs, 3, stride);
            norm1 = nn.BatchNorm2d(outputs);
            conv2 = Layers.Conv(outputs, outputs, 3);
            norm2 = nn.BatchNorm2d(outputs);
            if (stride != 1 || inputs != outputs)
            {
                projection = Layers.Conv(inputs, outputs, 1, stride);
                projectionNorm = nn.BatchNorm2d(outputs);
            }
            RegisterComponents();
        }

        // Forward order: main path first, then the shortcut.
        public IEnumerable<BatchNorm2d> BatchNormLayers =>
            projectionNorm is null ? [norm1, norm2] : [norm1, norm2, projectionNorm];

        public override Tensor forward(Tensor input)
        {
            // In place: BatchNorm's backward reads its input, not its output, and ReLU's can read its
            // own output, so the gradients are the same and two activation-sized buffers a block are saved.
            var x = norm1.call(conv1.call(input)).relu_();
            x = norm2.call(conv2.call(x));
            var shortcut = projection is null ? input : projectionNorm!.call(projection.call(input));
            return x.add_(shortcut).relu_();
        }
    }
}
