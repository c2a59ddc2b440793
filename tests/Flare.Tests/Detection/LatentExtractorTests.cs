using Flare.Detection;
using Flare.Models;
using Flare.Native;
using Flare.Progress;
using Flare.Tests.Support;
using Flare.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flare.Tests.Detection;

[Collection(TorchCollection.Name)]
public class LatentExtractorTests
{
    [Fact]
    public void FeaturesAreTheMinimumBatchNormLogLikelihoodPerChannelAndPerLayer()
    {
        TorchRuntime.EnsureLoaded();
        torch.manual_seed(5);
        using var model = new ConvNormNet(channels: 3);
        var mean = new float[] { 0.2f, -0.1f, 0.05f };
        var variance = new float[] { 0.5f, 2f, 0.01f };
        using (torch.no_grad())
        {
            model.Norm.running_mean!.copy_(torch.tensor(mean));
            model.Norm.running_var!.copy_(torch.tensor(variance));
        }
        var images = SyntheticImages.Create(perClass: 3, classes: 2, height: 6, width: 5);

        var features = LatentExtractor.Extract(model, images, Normalization.Identity, SilentProgress.Instance);

        Assert.Equal(3, features.PerChannel.Features.Columns);
        Assert.Equal(1, features.PerLayer.Features.Columns);
        using var noGrad = torch.no_grad();
        for (var i = 0; i < images.Count; i++)
        {
            var pixels = images.Image(i).ToArray().Select(b => b / 255f).ToArray();
            using var input = torch.tensor(pixels, [1, 3, 6, 5]);
            using var activations = model.Conv.call(input);
            var a = activations.data<float>().ToArray();
            var layerMinimum = double.PositiveInfinity;
            for (var c = 0; c < 3; c++)
            {
                var v = variance[c] + 1e-5;
                var expected = Enumerable.Range(0, 30)
                    .Select(p => -0.5 * Math.Log(2 * Math.PI * v) - Math.Pow(a[c * 30 + p] - mean[c], 2) / (2 * v))
                    .Min();
                layerMinimum = Math.Min(layerMinimum, expected);
                Assert.Equal(expected, features.PerChannel.Features[i, c], Math.Max(1e-3, Math.Abs(expected) * 1e-4));
            }
            Assert.Equal(layerMinimum, features.PerLayer.Features[i, 0], Math.Max(1e-3, Math.Abs(layerMinimum) * 1e-4));
        }
    }

    [Fact]
    public void ResNetFeaturesHaveOneColumnPerChannelGroupedByLayer()
    {
        TorchRuntime.EnsureLoaded();
        using var model = new ResNet18(4, 2);
        var images = SyntheticImages.Create(perClass: 2, classes: 2, height: 32, width: 32);

        var features = LatentExtractor.Extract(model, images, Normalization.Identity, SilentProgress.Instance);

        Assert.Equal(20, features.PerLayer.LayerCount);
        Assert.Equal(model.BatchNormLayers.Sum(bn => (int)bn.num_features), features.PerChannel.Features.Columns);
        Assert.Equal(20, features.PerChannel.LayerCount);
        Assert.Equal(features.PerChannel.Features.Columns - 32, features.PerChannel.WithoutLastLayers(1).Columns);
        Assert.Equal(19, features.PerLayer.WithoutLastLayers(1).Columns);
        Assert.All(features.PerChannel.Features.Values, v => Assert.True(float.IsFinite(v)));
    }

    /// <summary>conv -> BatchNorm -> pool -> linear: the smallest model with one BatchNorm layer.</summary>
    private sealed class ConvNormNet : ImageClassifier
    {
        public ConvNormNet(int channels) : base(nameof(ConvNormNet))
        {
            Conv = nn.Conv2d(3, channels, 3, padding: 1, bias: false);
            Norm = nn.BatchNorm2d(channels);
            Head = nn.Linear(channels, 2);
            RegisterComponents();
        }

        public Conv2d Conv { get; }
        public BatchNorm2d Norm { get; }
        public Linear Head { get; }

        public override IReadOnlyList<BatchNorm2d> BatchNormLayers => [Norm];

        public override Tensor forward(Tensor input) =>
            Head.call(nn.functional.adaptive_avg_pool2d(nn.functional.relu(Norm.call(Conv.call(input))), 1).flatten(1));
    }
}
