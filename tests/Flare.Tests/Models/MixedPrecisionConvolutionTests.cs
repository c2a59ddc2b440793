using Flare.Models;
using Flare.Native;
using Flare.Tests.Support;
using TorchSharp;
using static TorchSharp.torch;

namespace Flare.Tests.Models;

[Collection(TorchCollection.Name)]
public class MixedPrecisionConvolutionTests
{
    [Fact]
    public void StartsFromConv2dsWeightsAndConvolvesExactlyLikeIt()
    {
        TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        torch.manual_seed(5);
        var convolution = new MixedPrecisionConvolution(8, 16, 3, stride: 2);
        torch.manual_seed(5);
        var reference = nn.Conv2d(8, 16, 3, stride: 2, padding: 1, bias: false);
        var weight = convolution.parameters().Single();
        Assert.True(torch.equal(weight, reference.weight!).all().item<bool>(), "not initialised as nn.Conv2d");
        Assert.Equal(["weight"], convolution.named_parameters().Select(p => p.name));

        var input = torch.randn(4, 8, 12, 12);
        Assert.True(torch.equal(convolution.call(input), reference.call(input)).all().item<bool>(), "float32 output differs from nn.Conv2d");
    }

    [Fact]
    public void BFloat16ProductsStayCloseAndTrainTheFloat32Weight()
    {
        TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        torch.manual_seed(6);
        var convolution = new MixedPrecisionConvolution(16, 16, 3);
        var weight = convolution.parameters().Single();
        var input = torch.randn(8, 16, 10, 10);
        var float32 = convolution.call(input);
        float32.square().sum().backward();
        var float32Gradient = weight.grad!.clone();
        weight.grad!.zero_();

        convolution.BFloat16 = true;
        var bfloat16 = convolution.call(input);
        bfloat16.square().sum().backward();

        Assert.Equal(ScalarType.Float32, bfloat16.dtype);
        Assert.Equal(ScalarType.Float32, weight.grad!.dtype);
        Assert.False(torch.equal(bfloat16, float32).all().item<bool>(), "the products were not rounded to bfloat16");
        Assert.True(RelativeError(bfloat16, float32) < 2e-2, $"output off by {RelativeError(bfloat16, float32)}");
        Assert.True(RelativeError(weight.grad!, float32Gradient) < 5e-2, $"weight gradient off by {RelativeError(weight.grad!, float32Gradient)}");
    }

    [Fact]
    public void GroupedConvolutionsStayFloat32()
    {
        TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        torch.manual_seed(7);
        var depthwise = new MixedPrecisionConvolution(16, 16, 3, groups: 16);
        var input = torch.randn(2, 16, 8, 8);
        var float32 = depthwise.call(input);
        depthwise.BFloat16 = true;
        Assert.True(torch.equal(depthwise.call(input), float32).all().item<bool>());
    }

    private static double RelativeError(Tensor value, Tensor reference) =>
        ((value - reference).norm() / reference.norm()).item<float>();
}
