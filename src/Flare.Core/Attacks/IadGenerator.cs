using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flare.Attacks;

/// <summary>
/// IAD's generator (Nguyen and Tran, NeurIPS 2020; the authors' CIFAR-10 network): a convolutional
/// encoder-decoder without skip connections. Three levels of two 3x3 convolutions (32, 64, 128
/// channels; each convolution followed by BatchNorm with momentum 0.05 and ReLU) and a 2x2
/// max-pool, a middle convolution, then three levels of nearest-neighbour upsampling and two
/// convolutions back to <c>outputs</c> channels (the last without ReLU), squashed into [0, 1] by
/// tanh / 2 + 1/2. The pattern generator has 3 outputs, the mask generator 1.
/// Input: N x 3 x H x W pixels in [0, 1]. The network halves the image three times, so sides that
/// are not multiples of 8 are padded by repeating the edge pixels and the output is cropped back.
/// The last convolution computes 16 channels and the first <c>outputs</c> are kept: the same
/// network (BatchNorm is per channel, the others get no gradient), but every convolution fills
/// oneDNN's 16-channel blocks, so it runs on oneDNN, which Flare keeps from partial blocks
/// (<see cref="Native.ConvolutionBackend"/>), and computes correctly on either backend.
/// </summary>
public sealed class IadGenerator : nn.Module<Tensor, Tensor>
{
    private const int FirstChannels = 32;
    private const int Levels = 3;
    private const int SizeMultiple = 1 << Levels;
    private const double BatchNormMomentum = 0.05;
    private const int LastChannels = 16;

    /// <summary>The authors' epsilon in tanh / (2 + epsilon): keeps the output strictly inside [0, 1].</summary>
    private const double Epsilon = 1e-7;

    private readonly Sequential layers;
    private readonly int outputs;

    public IadGenerator(int outputs) : base(nameof(IadGenerator))
    {
        if (outputs is <= 0 or > LastChannels) throw new ArgumentOutOfRangeException(nameof(outputs));
        this.outputs = outputs;
        var blocks = new List<(string, nn.Module<Tensor, Tensor>)>();
        var inputs = (int)Data.ImageSet.Channels;
        var channels = FirstChannels;
        for (var level = 0; level < Levels; level++)
        {
            blocks.Add(($"down{level}a", Block(inputs, channels, relu: true)));
            blocks.Add(($"down{level}b", Block(channels, channels, relu: true)));
            blocks.Add(($"pool{level}", nn.MaxPool2d(2, 2)));
            inputs = channels;
            if (level < Levels - 1) channels *= 2;
        }
        blocks.Add(("middle", Block(channels, channels, relu: true)));
        for (var level = 0; level < Levels; level++)
        {
            var last = level == Levels - 1;
            var next = last ? LastChannels : channels / 2;
            blocks.Add(($"up{level}", nn.Upsample(scale_factor: [2.0, 2.0], mode: UpsampleMode.Nearest)));
            blocks.Add(($"up{level}a", Block(channels, channels, relu: true)));
            blocks.Add(($"up{level}b", Block(channels, next, relu: !last)));
            channels = next;
        }
        layers = nn.Sequential(blocks.ToArray());
        RegisterComponents();
    }

    public override Tensor forward(Tensor pixels)
    {
        using var scope = NewDisposeScope();
        var height = pixels.shape[2];
        var width = pixels.shape[3];
        var padBottom = (SizeMultiple - height % SizeMultiple) % SizeMultiple;
        var padRight = (SizeMultiple - width % SizeMultiple) % SizeMultiple;
        var input = padBottom == 0 && padRight == 0
            ? pixels
            : nn.functional.pad(pixels, [0, padRight, 0, padBottom], PaddingModes.Replicate);
        var output = layers.call(input).narrow(1, 0, outputs);
        if (padBottom != 0 || padRight != 0) output = output.narrow(2, 0, height).narrow(3, 0, width);
        return Squash(output).MoveToOuterDisposeScope();
    }

    /// <summary>tanh / (2 + epsilon) + 1/2: the generators' output, and (scaled first) the mask threshold.</summary>
    internal static Tensor Squash(Tensor values) => values.tanh().div(OutputScalars.Scale).add(OutputScalars.Shift);

    /// <summary>
    /// Sets every BatchNorm layer's running statistics to those of <paramref name="pixels"/> and
    /// leaves the network in eval mode. With momentum 0.05 the running averages need about a hundred
    /// steps to forget their initial values; a short schedule on a small set has fewer, and the
    /// frozen generator would then make other triggers than the ones it was trained with.
    /// </summary>
    public void Calibrate(Tensor pixels)
    {
        var norms = modules().OfType<BatchNorm2d>().ToArray();
        train();
        foreach (var norm in norms)
        {
            norm.reset_running_stats();
            norm.momentum = 1;
        }
        using (torch.no_grad())
        using (NewDisposeScope())
            call(pixels);
        foreach (var norm in norms) norm.momentum = BatchNormMomentum;
        eval();
    }

    private static Sequential Block(int inputs, int outputs, bool relu)
    {
        var convolution = nn.Conv2d(inputs, outputs, 3, padding: 1);
        var norm = nn.BatchNorm2d(outputs, momentum: BatchNormMomentum);
        return relu ? nn.Sequential(convolution, norm, nn.ReLU()) : nn.Sequential(convolution, norm);
    }

    // Held for the process's lifetime: a temporary Scalar can be finalized while libtorch reads it
    // (Native/CollectionPause.cs), and the per-image trigger path runs without a collection pause.
    // A nested class, so that they are made on first use, after libtorch is loaded.
    private static class OutputScalars
    {
        internal static readonly Scalar Scale = (2 + Epsilon).ToScalar();
        internal static readonly Scalar Shift = 0.5.ToScalar();
    }
}
