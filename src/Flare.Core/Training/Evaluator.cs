using Flare.Data;
using Flare.Models;
using Flare.Native;
using Flare.Progress;
using TorchSharp;
using static TorchSharp.torch;

namespace Flare.Training;

/// <summary>Runs a trained classifier over an image set without augmentation.</summary>
public static class Evaluator
{
    public const int BatchSize = 256;

    /// <summary>Checks that the images fit the model: same classes in the same order, same size.</summary>
    public static void EnsureCompatible(ImageSet images, ModelMetadata metadata, string dataLabel)
    {
        if (!images.ClassNames.SequenceEqual(metadata.ClassNames))
            throw new FlareException($"{dataLabel}: classes [{string.Join(", ", images.ClassNames)}] differ from the model's [{string.Join(", ", metadata.ClassNames)}]");
        if (images.Height != metadata.ImageHeight || images.Width != metadata.ImageWidth)
            throw new FlareException($"{dataLabel}: images are {images.Width}x{images.Height} but the model was trained on {metadata.ImageWidth}x{metadata.ImageHeight}");
    }

    /// <summary>The predicted class of every image.</summary>
    public static int[] Predict(ImageClassifier model, ImageSet images, Normalization normalization, IProgressSink? progress = null, string stageName = "predicting")
    {
        ConvolutionBackend.ConfigureFor(model);
        var assembler = new BatchAssembler(images, normalization);
        var predictions = new int[images.Count];
        var buffer = new float[BatchSize * assembler.ImageFloats];
        var labels = new long[BatchSize];
        var indices = Enumerable.Range(0, images.Count).ToArray();
        using var stage = (progress ?? SilentProgress.Instance).Begin(stageName, images.Count);
        model.eval();
        using var noGrad = torch.no_grad();
        var heap = new HeapGrowthGuard();
        for (var start = 0; start < images.Count; start += BatchSize)
        {
            var count = Math.Min(BatchSize, images.Count - start);
            assembler.Fill(indices.AsSpan(start, count), buffer, labels, Augmentation.None, null);
            using (CollectionPause.Begin())
            using (var scope = NewDisposeScope())
            {
                var input = BatchTensors.Images(buffer, count, images.Height, images.Width);
                model.call(input).argmax(1).to_type(ScalarType.Int32).data<int>().CopyTo(predictions.AsSpan(start, count), 0, 0);
            }
            heap.AfterBatch();
            stage.Advance(count);
        }
        return predictions;
    }

    public static double Accuracy(IReadOnlyList<int> predictions, IReadOnlyList<int> labels)
    {
        if (predictions.Count == 0) return 0;
        var correct = 0;
        for (var i = 0; i < predictions.Count; i++)
            if (predictions[i] == labels[i]) correct++;
        return (double)correct / predictions.Count;
    }
}
