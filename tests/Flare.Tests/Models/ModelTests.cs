using Flare.Models;
using Flare.Native;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using Flare.Tests.Support;

namespace Flare.Tests.Models;

[Collection(TorchCollection.Name)]
public class ModelTests
{
    public ModelTests() => TorchRuntime.EnsureLoaded();

    [Theory]
    [InlineData("resnet18", 8, 20)]
    [InlineData("vgg19", 8, 16)]
    [InlineData("mobilenetv2", 4, 57)]
    public void OutputsLogitsPerClassAndListsEveryBatchNormInForwardOrder(string name, int width, int batchNorms)
    {
        using var model = ModelRegistry.Get(name).Create(width, 7);
        model.eval();
        var executed = new List<BatchNorm2d>();
        var hooks = model.modules().OfType<BatchNorm2d>()
            .Select(bn => bn.register_forward_pre_hook((module, input) =>
            {
                executed.Add((BatchNorm2d)module);
                return input;
            }))
            .ToList();

        using var noGrad = torch.no_grad();
        using var output = model.call(torch.randn(2, 3, 32, 32));

        Assert.Equal([2L, 7L], output.shape);
        Assert.Equal(batchNorms, model.BatchNormLayers.Count);
        Assert.Equal(batchNorms, model.modules().OfType<BatchNorm2d>().Count());
        Assert.Equal(executed, model.BatchNormLayers);
        foreach (var hook in hooks) hook.remove();
    }

    [Theory]
    [InlineData("resnet18", 64, InputStem.Cifar, 8)]
    [InlineData("resnet18", 96, InputStem.ImageNet, 3)]
    [InlineData("mobilenetv2", 64, InputStem.Cifar, 8)]
    [InlineData("mobilenetv2", 128, InputStem.ImageNet, 4)]
    [InlineData("vgg19", 96, InputStem.ImageNet, 6)]
    public void LargerInputsGetTheStemTheirSizeCallsFor(string name, int side, InputStem expected, int lastFeatureSide)
    {
        var stem = InputStems.For(side, side);
        Assert.Equal(expected, stem);
        using var model = ModelRegistry.Get(name).Create(4, 5, stem);
        model.eval();
        long lastSide = 0;
        var last = model.BatchNormLayers[^1];
        var hook = last.register_forward_pre_hook((_, input) =>
        {
            lastSide = input.shape[^1];
            return input;
        });
        using var noGrad = torch.no_grad();
        using var output = model.call(torch.randn(2, 3, side, side));
        Assert.Equal([2L, 5L], output.shape);
        // The last BatchNorm's input side shows the total downsampling: 8 for the CIFAR stems, 32 for
        // the ImageNet ones (VGG, which has no stem of its own, has pooled 4 times there).
        hook.remove();
        Assert.Equal(lastFeatureSide, lastSide);
    }

    [Fact]
    public void ResNet18AtPaperWidthHasTheUsualSize()
    {
        using var model = new ResNet18(64, 10);
        var parameters = model.parameters().Sum(p => p.numel());
        // The CIFAR ResNet-18 of kuangliu/BackdoorBox has 11,173,962 parameters.
        Assert.Equal(11_173_962, parameters);
    }

    [Fact]
    public void UnknownModelNameIsAClearError()
    {
        var error = Assert.Throws<FlareException>(() => ModelRegistry.Get("resnet50"));
        Assert.Contains("unknown model 'resnet50'", error.Message);
        Assert.Contains("resnet18", error.Message);
    }
}
