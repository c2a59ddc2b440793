using Flare.Detection;
using Flare.Models;
using Flare.Models.Onnx;
using Flare.Native;
using Flare.Progress;
using Flare.Tests.Support;
using TorchSharp;

namespace Flare.Tests.Detection;

/// <summary>
/// The ONNX fixtures come from tests/fixtures/onnx/make_fixtures.py: Flare's ResNet-18 (width 4,
/// 3 classes) written in PyTorch with the same parameter names, exported with its BatchNorm nodes,
/// and a small network exported the default way (BatchNorm folded away).
/// </summary>
[Collection(TorchCollection.Name)]
public class OnnxExtractionTests
{
    private static readonly string Fixtures = Path.Combine(AppContext.BaseDirectory, "fixtures", "onnx");
    private static readonly string ResNet = Path.Combine(Fixtures, "resnet18-w4.onnx");
    private static readonly string Fused = Path.Combine(Fixtures, "fused.onnx");

    public OnnxExtractionTests() => TorchRuntime.EnsureLoaded();

    [Fact]
    public void OnnxExtractionEqualsTorchSharpExtractionOfTheSameWeights()
    {
        var graph = OnnxGraph.Read(ResNet);
        var preprocessing = OnnxPreprocessing.Resolve(ResNet, null, null, null, null);
        Assert.Equal(32, preprocessing.ImageSize);
        using var model = new ResNet18(4, 3);
        var copied = 0;
        using (torch.no_grad())
        {
            foreach (var (name, parameter) in model.named_parameters().Select(p => (p.name, (torch.Tensor)p.parameter)).Concat(model.named_buffers()))
            {
                if (name.EndsWith("num_batches_tracked", StringComparison.Ordinal)) continue;
                var values = graph.Tensor(name) ?? throw new Xunit.Sdk.XunitException($"the ONNX model has no tensor {name}");
                parameter.copy_(torch.tensor(values).reshape(parameter.shape));
                copied++;
            }
        }
        model.eval();
        Assert.Equal(20, graph.BatchNorms.Count);
        Assert.Equal(model.BatchNormLayers.Select(bn => (int)bn.num_features), graph.BatchNorms.Select(bn => bn.Channels));
        // 20 convolutions and 20 BatchNorms (weight, bias, mean, variance) and the head's two.
        Assert.Equal(20 + 4 * 20 + 2, copied);

        var images = SyntheticImages.Create(perClass: 7, classes: 3, height: 32, width: 32, seed: 5);
        var fromOnnx = OnnxLatentExtractor.Extract(graph, images, preprocessing, SilentProgress.Instance);
        var fromTorch = LatentExtractor.Extract(model, images, preprocessing.RgbNormalization, SilentProgress.Instance);

        foreach (var (onnx, torchSharp) in new[] { (fromOnnx.PerChannel, fromTorch.PerChannel), (fromOnnx.PerLayer, fromTorch.PerLayer) })
        {
            Assert.Equal(torchSharp.LayerOfColumn, onnx.LayerOfColumn);
            Assert.Equal((torchSharp.Features.Rows, torchSharp.Features.Columns), (onnx.Features.Rows, onnx.Features.Columns));
            for (var i = 0; i < onnx.Features.Rows; i++)
                for (var c = 0; c < onnx.Features.Columns; c++)
                {
                    var expected = torchSharp.Features[i, c];
                    var actual = onnx.Features[i, c];
                    Assert.True(Math.Abs(actual - expected) <= 1e-3 + 1e-4 * Math.Abs(expected), $"sample {i}, column {c}: ONNX {actual}, TorchSharp {expected}");
                }
        }
        // The statistics are not the defaults, so the comparison covers reading them.
        Assert.Contains(graph.BatchNorms[0].Mean, m => Math.Abs(m) > 0.01);
    }

    [Fact]
    public void ModelsFlareCannotAnalyseGiveClearErrors()
    {
        var images = SyntheticImages.Create(perClass: 4, classes: 3, height: 32, width: 32);
        var fused = OnnxGraph.Read(Fused);
        var error = Assert.Throws<FlareException>(() => OnnxLatentExtractor.EnsureCompatible(fused, images, "data"));
        Assert.Contains("no BatchNormalization nodes", error.Message);
        Assert.Contains("TrainingMode.PRESERVE", error.Message);

        var graph = OnnxGraph.Read(ResNet);
        var small = SyntheticImages.Create(perClass: 4, classes: 3, height: 16, width: 16);
        Assert.Contains("takes input N x 3 x 32 x 32 but the images of data are 3 x 16 x 16; pass --image-size 32",
            Assert.Throws<FlareException>(() => OnnxLatentExtractor.EnsureCompatible(graph, small, "data")).Message);
        var fourClasses = SyntheticImages.Create(perClass: 4, classes: 4, height: 32, width: 32);
        Assert.Contains("has 3 outputs but data has 4 classes",
            Assert.Throws<FlareException>(() => OnnxLatentExtractor.EnsureCompatible(graph, fourClasses, "data")).Message);

        Assert.Contains("preprocessing is unknown", Assert.Throws<FlareException>(() => OnnxPreprocessing.Resolve(Fused, null, null, null, null)).Message);
        Assert.Contains("--mean needs three", Assert.Throws<FlareException>(() => OnnxPreprocessing.Resolve(Fused, null, "0.5,0.5", "1,1,1", null)).Message);
        using var temp = new TempFolder();
        var notOnnx = temp.Combine("model.onnx");
        File.WriteAllText(notOnnx, "hello, world");
        Assert.Contains("not an ONNX model", Assert.Throws<FlareException>(() => OnnxGraph.Read(notOnnx)).Message);
    }

    [Fact]
    public void DetectRunsWithAnOnnxModelFromTheCommandLine()
    {
        using var temp = new TempFolder();
        var data = SyntheticImages.WriteFolder(SyntheticImages.Create(perClass: 30, classes: 3, height: 32, width: 32, seed: 9), temp.Combine("data"));
        var output = temp.Combine("out");

        var result = CliProcess.Run("detect", "--data", data, "--model", ResNet, "--out", output, "--min-cluster-size", "5", "--mean", "0.5,0.5,0.5", "--std", "0.25,0.25,0.25");

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.True(File.Exists(Path.Combine(output, "report.html")));
        Assert.Contains("ONNX model resnet18-w4.onnx (20 BatchNorm layers)", File.ReadAllText(Path.Combine(output, "report.md")));
        CliProcess.AssertOneLineError(CliProcess.Run("detect", "--data", data, "--model", Fused, "--out", temp.Combine("o2"), "--mean", "0.5,0.5,0.5", "--std", "0.25,0.25,0.25"), "no BatchNormalization nodes");
    }
}
