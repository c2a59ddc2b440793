using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flare.Models;

/// <summary>
/// A bias-free 2-D convolution (padding kernel / 2) whose products can run in bfloat16 while the
/// model trains. On CPUs with bfloat16 dot-product instructions oneDNN convolves bfloat16 several
/// times faster than float32 in the wide early layers; the weights, BatchNorm, the loss and the
/// optimizer stay float32, and a convolution's output is float32 again before BatchNorm reads it.
/// Grouped (depthwise) convolutions stay float32: oneDNN has no faster bfloat16 kernel for them.
/// Measured speed and what it changes: docs/benchmarks.md, "bfloat16 convolutions".
/// </summary>
public sealed class MixedPrecisionConvolution : nn.Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly long[] stride, padding;

    public MixedPrecisionConvolution(long inputs, long outputs, long kernel, long stride = 1, long groups = 1) : base(nameof(MixedPrecisionConvolution))
    {
        // Initialised as nn.Conv2d initialises, from the same random stream: a model built of these
        // starts from the weights it started from before they existed.
        using (var initial = nn.Conv2d(inputs, outputs, kernel, stride: stride, padding: kernel / 2, groups: groups, bias: false))
            weight = new Parameter(initial.weight!.detach().clone());
        InputChannels = inputs;
        OutputChannels = outputs;
        Groups = groups;
        this.stride = [stride, stride];
        padding = [kernel / 2, kernel / 2];
        RegisterComponents();
    }

    public long InputChannels { get; }
    public long OutputChannels { get; }
    public long Groups { get; }

    /// <summary>Convolve in bfloat16 (ungrouped convolutions only); set by the trainer, off otherwise.</summary>
    public bool BFloat16 { get; set; }

    public override Tensor forward(Tensor input)
    {
        if (!BFloat16 || Groups != 1)
            return nn.functional.conv2d(input, weight, strides: stride, padding: padding, groups: Groups);
        using var scope = NewDisposeScope();
        return nn.functional.conv2d(input.to(ScalarType.BFloat16), weight.to(ScalarType.BFloat16), strides: stride, padding: padding)
            .to(ScalarType.Float32).MoveToOuterDisposeScope();
    }
}
