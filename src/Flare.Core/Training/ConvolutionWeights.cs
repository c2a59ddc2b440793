using static TorchSharp.torch;

namespace Flare.Training;

/// <summary>
/// Puts a model's convolution weights in the memory order of its batches. With channels-last
/// batches and channels-first weights, oneDNN reorders every weight on every call; with both
/// channels-last it convolves directly. The tensors stay the same parameters (the optimizer keeps
/// them), only their storage is rewritten; checkpoints and inference get channels-first back.
/// </summary>
internal static class ConvolutionWeights
{
    public static void Arrange(nn.Module model, BatchLayout layout)
    {
        // A gradient keeps the layout it was made in, and optimizers zero it in place: a later
        // training of the same model (unlearning after purify's training) would accumulate into
        // the old layout, which libtorch warns may impair performance. Dropped, it is made anew.
        model.zero_grad(set_to_none: true);
        using var noGrad = no_grad();
        foreach (var parameter in model.parameters())
        {
            if (parameter.dim() != 4 || (layout == BatchLayout.ChannelsFirst && parameter.is_contiguous())) continue;
            using var arranged = layout == BatchLayout.ChannelsLast
                ? parameter.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)
                : parameter.contiguous();
            parameter.set_(arranged);
        }
    }
}
