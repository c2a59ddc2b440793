using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flare.Attacks;

/// <summary>
/// The StegaStamp networks of ISSBA (Tancik et al., CVPR 2020, in the CIFAR form of BackdoorBox's
/// ISSBA.py): an encoder that maps an image and a secret bit string to a residual, and a decoder
/// that reads the bits back. Images are N x 3 x H x W in [0, 1]; inside, they are replicate-padded
/// to multiples of 16 (the encoder halves the size four times) and the output cropped back.
/// Every convolution has a multiple of 16 output channels and 3 or a multiple of 16 inputs, so
/// that it runs on oneDNN, which Flare keeps from partial channel blocks
/// (<see cref="Native.ConvolutionBackend"/>): a convolution over a concatenation with a 3-channel
/// part is a sum of convolutions over the parts, and the final 1x1 convolution to 3 channels is a
/// linear map over each pixel's channels.
/// </summary>
internal static class StegaStamp
{
    /// <summary>The encoder halves the image four times: sizes are padded to a multiple of this.</summary>
    public const int SizeMultiple = 16;

    public static int Padded(int size) => (size + SizeMultiple - 1) / SizeMultiple * SizeMultiple;

    /// <summary>Replicate-pads an N x C x H x W batch on the bottom and right to multiples of 16.</summary>
    public static Tensor PadImage(Tensor image)
    {
        var (height, width) = (image.shape[2], image.shape[3]);
        var (bottom, right) = (Padded((int)height) - height, Padded((int)width) - width);
        return bottom == 0 && right == 0 ? image.alias() : nn.functional.pad(image, [0, right, 0, bottom], PaddingModes.Replicate);
    }

    /// <summary>
    /// StegaStamp's initialisation (TensorFlow's he_normal on every layer, zero biases). With
    /// libtorch's default the signal fades through the decoder's nine layers and training sits at
    /// chance for thousands of steps.
    /// </summary>
    public static void InitialiseHeNormal(nn.Module module)
    {
        using var noGrad = torch.no_grad();
        foreach (var layer in module.modules())
        {
            var (weight, bias) = layer switch
            {
                Conv2d conv => (conv.weight, conv.bias),
                Linear linear => (linear.weight, linear.bias),
                _ => (null, null),
            };
            if (weight is null) continue;
            nn.init.kaiming_normal_(weight, mode: nn.init.FanInOut.FanIn, nonlinearity: nn.init.NonlinearityType.ReLU);
            if (bias is not null) nn.init.zeros_(bias);
        }
    }

    /// <summary>A 3x3 convolution that keeps the size, or halves it at stride 2.</summary>
    public static Conv2d Conv3x3(long inputs, long outputs, long stride = 1, bool bias = true) =>
        nn.Conv2d(inputs, outputs, 3, stride: stride, padding: 1, bias: bias);
}

/// <summary>
/// The StegaStamp encoder: the secret through a dense layer (ReLU) to a 3-channel image, beside the
/// image into a U-Net (32, 32, 64, 128, 256 channels down to 1/16 of the size, nearest-neighbour
/// upsampling with 2x2 convolutions and skip connections back up, the inputs joined again before
/// the last 3x3 convolution), then a 1x1 map to the 3-channel residual. Inputs are shifted by -0.5.
/// </summary>
internal sealed class StegaEncoder : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly int height, width, paddedHeight, paddedWidth;
    private readonly Linear secretDense;
    private readonly Conv2d imageIn, secretIn;
    private readonly Conv2d down2, down3, down4, down5;
    private readonly Conv2d up6, merge6, up7, merge7, up8, merge8, up9;
    private readonly Conv2d merge9, merge9Image, merge9Secret;
    private readonly Linear toResidual;

    public StegaEncoder(int secretBits, int height, int width) : base(nameof(StegaEncoder))
    {
        this.height = height;
        this.width = width;
        paddedHeight = StegaStamp.Padded(height);
        paddedWidth = StegaStamp.Padded(width);
        secretDense = nn.Linear(secretBits, Data.ImageSet.Channels * paddedHeight * paddedWidth);
        imageIn = StegaStamp.Conv3x3(3, 32);
        secretIn = StegaStamp.Conv3x3(3, 32, bias: false);
        down2 = StegaStamp.Conv3x3(32, 32, stride: 2);
        down3 = StegaStamp.Conv3x3(32, 64, stride: 2);
        down4 = StegaStamp.Conv3x3(64, 128, stride: 2);
        down5 = StegaStamp.Conv3x3(128, 256, stride: 2);
        up6 = nn.Conv2d(256, 128, 2);
        merge6 = StegaStamp.Conv3x3(256, 128);
        up7 = nn.Conv2d(128, 64, 2);
        merge7 = StegaStamp.Conv3x3(128, 64);
        up8 = nn.Conv2d(64, 32, 2);
        merge8 = StegaStamp.Conv3x3(64, 32);
        up9 = nn.Conv2d(32, 32, 2);
        merge9 = StegaStamp.Conv3x3(64, 32);
        merge9Image = StegaStamp.Conv3x3(3, 32, bias: false);
        merge9Secret = StegaStamp.Conv3x3(3, 32, bias: false);
        toResidual = nn.Linear(32, Data.ImageSet.Channels);
        RegisterComponents();
        StegaStamp.InitialiseHeNormal(this);
    }

    /// <summary>The residual (N x 3 x H x W) for images in [0, 1] and secrets of 0/1 bits (N x bits).</summary>
    public override Tensor forward(Tensor image, Tensor secret)
    {
        using var scope = NewDisposeScope();
        var count = image.shape[0];
        var pixels = StegaStamp.PadImage(image) - 0.5;
        var secretPlane = nn.functional.relu(secretDense.call(secret - 0.5)).view(count, Data.ImageSet.Channels, paddedHeight, paddedWidth);
        var c1 = nn.functional.relu(imageIn.call(pixels) + secretIn.call(secretPlane));
        var c2 = nn.functional.relu(down2.call(c1));
        var c3 = nn.functional.relu(down3.call(c2));
        var c4 = nn.functional.relu(down4.call(c3));
        var c5 = nn.functional.relu(down5.call(c4));
        var c6 = nn.functional.relu(merge6.call(cat([c4, Up(up6, c5)], 1)));
        var c7 = nn.functional.relu(merge7.call(cat([c3, Up(up7, c6)], 1)));
        var c8 = nn.functional.relu(merge8.call(cat([c2, Up(up8, c7)], 1)));
        var c9 = nn.functional.relu(merge9.call(cat([c1, Up(up9, c8)], 1)) + merge9Image.call(pixels) + merge9Secret.call(secretPlane));
        var residual = toResidual.call(c9.permute(0, 2, 3, 1)).permute(0, 3, 1, 2);
        return residual[.., .., ..height, ..width].contiguous().MoveToOuterDisposeScope();
    }

    // Nearest-neighbour doubling, then a 2x2 convolution padded as TensorFlow's "same" pads (one row and column after).
    private static Tensor Up(Conv2d conv, Tensor x)
    {
        var doubled = nn.functional.interpolate(x, scale_factor: [2, 2], mode: InterpolationMode.Nearest);
        return nn.functional.relu(conv.call(nn.functional.pad(doubled, [0, 1, 0, 1])));
    }
}

/// <summary>
/// The StegaStamp decoder: seven 3x3 convolutions (32, 32, 64, 64, 64, 128, 128 channels, five of
/// them halving the size), then dense layers of 512 and one logit per secret bit. Without the
/// original's spatial transformer: nothing warps the image between encoder and decoder here.
/// </summary>
internal sealed class StegaDecoder : nn.Module<Tensor, Tensor>
{
    private readonly Sequential features;
    private readonly Linear hidden, bits;

    public StegaDecoder(int secretBits, int height, int width) : base(nameof(StegaDecoder))
    {
        var layers = new List<(string, nn.Module<Tensor, Tensor>)>();
        var (rows, columns) = (StegaStamp.Padded(height), StegaStamp.Padded(width));
        long inputs = 3;
        foreach (var (outputs, stride) in new (long, long)[] { (32, 2), (32, 1), (64, 2), (64, 1), (64, 2), (128, 2), (128, 2) })
        {
            layers.Add(($"conv{layers.Count / 2}", StegaStamp.Conv3x3(inputs, outputs, stride)));
            layers.Add(($"relu{layers.Count / 2}", nn.ReLU()));
            inputs = outputs;
            if (stride == 2) (rows, columns) = ((rows + 1) / 2, (columns + 1) / 2);
        }
        features = nn.Sequential(layers);
        hidden = nn.Linear(inputs * rows * columns, 512);
        bits = nn.Linear(512, secretBits);
        RegisterComponents();
        StegaStamp.InitialiseHeNormal(this);
    }

    /// <summary>One logit per secret bit (N x bits) for images in [0, 1].</summary>
    public override Tensor forward(Tensor image)
    {
        using var scope = NewDisposeScope();
        var x = features.call(StegaStamp.PadImage(image) - 0.5).flatten(1);
        return bits.call(nn.functional.relu(hidden.call(x))).MoveToOuterDisposeScope();
    }
}
