using Flare.Models;
using Flare.Native;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using Flare.Tests.Support;

namespace Flare.Tests.Native;

[Collection(TorchCollection.Name)]
public class ConvolutionBackendTests
{
    [Theory]
    [InlineData(4)]
    [InlineData(24)]
    [InlineData(32)]
    public void ConfiguredBackendComputesConvolutionsAndGradientsCorrectly(int channels)
    {
        TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        var conv = nn.Conv2d(channels, channels, 3, padding: 1, bias: false);
        ConvolutionBackend.ConfigureFor(conv);
        var input = torch.randn(64, channels, 16, 16);
        var upstream = torch.randn(64, channels, 16, 16);

        var x = input.clone().requires_grad_(true);
        var y = conv.call(x);
        torch.autograd.backward([y], [upstream]);
        var x64 = input.to(ScalarType.Float64).requires_grad_(true);
        var y64 = nn.functional.conv2d(x64, conv.weight!.detach().to(ScalarType.Float64), padding: [1, 1]);
        torch.autograd.backward([y64], [upstream.to(ScalarType.Float64)]);

        Assert.True((y.to(ScalarType.Float64) - y64).abs().max().item<double>() < 1e-3, "forward differs from the float64 reference");
        Assert.True((x.grad!.to(ScalarType.Float64) - x64.grad!).abs().max().item<double>() < 1e-3, "input gradient differs from the float64 reference");
    }

    [Fact]
    public void ModelsWithPartialChannelBlocksRunOnTheBuiltInKernelsWithANote()
    {
        using var model = new ResNet18(4, 10);
        var note = ConvolutionBackend.ConfigureFor(model);
        Assert.False(ConvolutionBackend.OneDnnEnabled);
        Assert.Contains("not multiples of 16", note);
    }

    [Fact]
    public void ModelsWithChannelsInBlocksOf16KeepOneDnn()
    {
        using var model = new ResNet18(16, 10);
        Assert.Null(ConvolutionBackend.ConfigureFor(model));
        Assert.True(ConvolutionBackend.OneDnnEnabled);
        Assert.All(model.modules().OfType<MixedPrecisionConvolution>().Skip(1), conv => Assert.Equal(0, conv.InputChannels % 16));
    }
}
