using Flare.Data;
using Flare.Models.Onnx;
using Flare.Native;
using Flare.Progress;
using Flare.Training;
using Microsoft.ML.OnnxRuntime;
using static TorchSharp.torch;

namespace Flare.Detection;

/// <summary>
/// FLARE's features from a user's ONNX model: the model is run by ONNX Runtime with the input of
/// every BatchNormalization node added as a graph output, and each of those tensors goes through
/// the same per-channel likelihood as a Flare model's (<see cref="BatchNormLikelihood"/>) with the
/// node's running statistics.
/// </summary>
public static class OnnxLatentExtractor
{
    public const int DefaultBatchSize = 64;

    /// <summary>Checks that the model can take these images and has one output per class; says what to change when not.</summary>
    public static void EnsureCompatible(OnnxGraph graph, ImageSet images, string dataLabel)
    {
        if (graph.BatchNorms.Count == 0)
            throw new FlareException($"{graph.Path}: the graph has no BatchNormalization nodes, so FLARE has no features to read. Models exported in eval mode usually have them folded into the convolutions; export with torch.onnx.export(..., training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False) after model.eval() (docs/your-model.md)");
        var dims = graph.Input.Dimensions;
        if (dims.Length != 4)
            throw new FlareException($"{graph.Path}: input '{graph.Input.Name}' has {dims.Length} dimensions; Flare feeds images as N x 3 x H x W");
        var expected = new long?[] { null, ImageSet.Channels, images.Height, images.Width };
        for (var d = 1; d < 4; d++)
            if (dims[d] is { } size && size != expected[d])
                throw new FlareException($"{graph.Path}: the model takes input {Shape(dims)} but the images of {dataLabel} are 3 x {images.Height} x {images.Width}; pass --image-size {dims[3] ?? dims[2]} (or fix image_size in {Path.GetFileName(OnnxPreprocessing.SidecarPath(graph.Path))})");
        if (graph.Output.Dimensions is [_, { } classes] && classes != images.ClassNames.Count)
            throw new FlareException($"{graph.Path}: the model has {classes} outputs but {dataLabel} has {images.ClassNames.Count} classes; FLARE needs the model trained on this data set");
    }

    public static ExtractedFeatures Extract(OnnxGraph graph, ImageSet images, OnnxPreprocessing preprocessing, IProgressSink progress)
    {
        EnsureCompatible(graph, images, images.Root ?? "the data");
        TorchRuntime.EnsureLoaded();
        var norms = graph.BatchNorms;
        var channelsPerLayer = norms.Select(n => n.Channels).ToArray();
        var offsets = new int[norms.Count + 1];
        for (var l = 0; l < norms.Count; l++) offsets[l + 1] = offsets[l] + channelsPerLayer[l];
        var width = offsets[^1];
        var perChannel = new float[(long)images.Count * width];
        var batchSize = (int)(graph.Input.Dimensions[0] ?? DefaultBatchSize);
        var inputName = graph.Input.Name;
        // A BatchNorm right on the image input reads the input itself, which cannot be a graph output.
        var outputNames = norms.Select(n => n.Input).Where(name => name != inputName).Append(graph.Output.Name).Distinct().ToArray();
        var predictions = new int[images.Count];
        var statistics = norms.Select(n => (Mean: tensor(n.Mean), Variance: tensor(n.Variance))).ToArray();

        // Graph optimizations could fuse a BatchNorm into its convolution and drop the tensor between them.
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL, IntraOpNumThreads = Environment.ProcessorCount };
        using var session = CreateSession(graph, outputNames, options);
        var assembler = new BatchAssembler(images, preprocessing.RgbNormalization);
        var indices = Enumerable.Range(0, images.Count).ToArray();
        var labels = new long[batchSize];
        using var stage = progress.Begin("extracting features (ONNX)", images.Count);
        try
        {
            for (var start = 0; start < images.Count; start += batchSize)
            {
                // A model with a fixed batch size gets full batches; the padding rows are not read.
                var count = Math.Min(batchSize, images.Count - start);
                var rows = graph.Input.Dimensions[0] is null ? count : batchSize;
                var buffer = new float[rows * assembler.ImageFloats];
                assembler.Fill(indices.AsSpan(start, count), buffer, labels, Augmentation.None, null);
                if (preprocessing.Bgr) SwapRedAndBlue(buffer, rows, images.Height * images.Width);
                using var input = OrtValue.CreateTensorValueFromMemory(buffer, [rows, ImageSet.Channels, images.Height, images.Width]);
                using var runOptions = new RunOptions();
                using var outputs = session.Run(runOptions, [inputName], [input], outputNames);
                var byName = outputNames.Zip(outputs).ToDictionary(p => p.First, p => p.Second);
                Predict(byName[graph.Output.Name], graph, images, predictions.AsSpan(start, count));
                using var scope = NewDisposeScope();
                for (var l = 0; l < norms.Count; l++)
                {
                    var value = norms[l].Input == inputName ? input : byName[norms[l].Input];
                    var shape = value.GetTensorTypeAndShape().Shape;
                    if (shape.Length < 2 || shape[1] != norms[l].Channels)
                        throw new FlareException($"{graph.Path}: BatchNormalization node '{norms[l].Node}' gets a tensor of shape [{string.Join(", ", shape)}] for {norms[l].Channels} channels");
                    var activations = tensor(value.GetTensorDataAsSpan<float>().ToArray(), shape).reshape(shape[0], shape[1], -1, 1);
                    var minima = BatchNormLikelihood.MinimumPerChannel(activations, statistics[l].Mean, statistics[l].Variance, norms[l].Epsilon);
                    var values = minima.contiguous().data<float>();
                    for (var b = 0; b < count; b++)
                        values.CopyTo(perChannel.AsSpan((start + b) * width + offsets[l], channelsPerLayer[l]), 0, (long)b * channelsPerLayer[l]);
                }
                stage.Advance(count);
            }
        }
        finally
        {
            foreach (var (mean, variance) in statistics)
            {
                mean.Dispose();
                variance.Dispose();
            }
        }
        return LatentExtractor.FromPerChannel(perChannel, images.Count, channelsPerLayer, predictions);
    }

    private static InferenceSession CreateSession(OnnxGraph graph, string[] outputNames, SessionOptions options)
    {
        try
        {
            return new InferenceSession(graph.WithOutputs(outputNames), options);
        }
        catch (OnnxRuntimeException e)
        {
            throw new FlareException($"{graph.Path}: ONNX Runtime cannot load the model ({e.Message.Split('\n')[0]})", e);
        }
    }

    // The class each image is predicted as (to measure the model's fit); the output's shape is
    // checked here as well, for models whose class dimension is symbolic.
    private static void Predict(OrtValue logits, OnnxGraph graph, ImageSet images, Span<int> predictions)
    {
        var shape = logits.GetTensorTypeAndShape().Shape;
        if (shape.Length != 2 || shape[1] != images.ClassNames.Count)
            throw new FlareException($"{graph.Path}: the model's output has shape [{string.Join(", ", shape)}] but the data has {images.ClassNames.Count} classes; FLARE needs the model trained on this data set");
        var values = logits.GetTensorDataAsSpan<float>();
        var classes = (int)shape[1];
        for (var b = 0; b < predictions.Length; b++)
        {
            var row = values.Slice(b * classes, classes);
            var best = 0;
            for (var c = 1; c < classes; c++)
                if (row[c] > row[best]) best = c;
            predictions[b] = best;
        }
    }

    private static void SwapRedAndBlue(float[] batch, int rows, int plane)
    {
        for (var b = 0; b < rows; b++)
        {
            var image = batch.AsSpan(b * ImageSet.Channels * plane, ImageSet.Channels * plane);
            var red = image[..plane].ToArray();
            image.Slice(2 * plane, plane).CopyTo(image);
            red.CopyTo(image.Slice(2 * plane, plane));
        }
    }

    private static string Shape(long?[] dims) => string.Join(" x ", dims.Select(d => d?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "N"));
}
