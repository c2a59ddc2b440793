using Flare.Data;
using Flare.Manifold;
using Flare.Models;
using Flare.Native;
using Flare.Progress;
using Flare.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Flare.Detection;

/// <summary>
/// What several detectors read from one trained model on one training set, each computed once on
/// first use and then cached: the penultimate activations and predicted classes (one pass), and
/// FLARE's BatchNorm features (one pass). It also runs the model on transformed copies of images
/// for the input-level detectors. The caller owns the model.
/// </summary>
public sealed class ModelEvidence
{
    public const int BatchSize = 256;

    private readonly Tensor mean;
    private readonly Tensor std;
    private DenseMatrix? penultimate;
    private int[]? predictions;
    private ExtractedFeatures? batchNormFeatures;

    public ModelEvidence(ImageClassifier model, ModelMetadata metadata, ImageSet images)
    {
        Evaluator.EnsureCompatible(images, metadata, "training images");
        TorchRuntime.EnsureLoaded();
        Model = model;
        Metadata = metadata;
        Images = images;
        Normalization = new Normalization(metadata.Mean, metadata.Std);
        mean = tensor(metadata.Mean).reshape(1, ImageSet.Channels, 1, 1);
        std = tensor(metadata.Std).reshape(1, ImageSet.Channels, 1, 1);
    }

    public ImageClassifier Model { get; }
    public ModelMetadata Metadata { get; }
    public ImageSet Images { get; }
    public Normalization Normalization { get; }
    public int Classes => Metadata.ClassNames.Length;

    /// <summary>The input of the model's last linear layer for every training image (N x D).</summary>
    public DenseMatrix Penultimate(IProgressSink progress)
    {
        // The BatchNorm pass records them too; a pass of their own is needed only before it has run.
        penultimate ??= batchNormFeatures?.Penultimate;
        if (penultimate is null) ExtractPenultimate(progress);
        return penultimate!;
    }

    /// <summary>The model's predicted class for every training image.</summary>
    public int[] Predictions(IProgressSink progress)
    {
        predictions ??= batchNormFeatures?.Predictions;
        if (predictions is null) ExtractPenultimate(progress);
        return predictions!;
    }

    /// <summary>FLARE's per-channel and per-layer BatchNorm features of every training image.</summary>
    public ExtractedFeatures BatchNormFeatures(IProgressSink progress) =>
        batchNormFeatures ??= LatentExtractor.Extract(Model, Images, Normalization, progress);

    /// <summary>(x - mean) / std for [0, 1] pixels, the model's input.</summary>
    public Tensor Normalize(Tensor pixels) => (pixels - mean) / std;

    /// <summary>Images as [B, 3, H, W] float pixels in [0, 1], or normalized for a model's input when <paramref name="normalization"/> is given.</summary>
    public static Tensor Pixels(ImageSet images, ReadOnlySpan<int> indices, Normalization? normalization = null)
    {
        var assembler = new BatchAssembler(images, normalization ?? Normalization.Identity);
        var buffer = new float[indices.Length * assembler.ImageFloats];
        var labels = new long[indices.Length];
        assembler.Fill(indices, buffer, labels, Augmentation.None, null);
        return BatchTensors.Images(buffer, indices.Length, images.Height, images.Width);
    }

    /// <summary>
    /// Runs the model (eval mode, no gradients) on transform(pixels) of every image in batches and
    /// hands each batch's logits to <paramref name="consume"/> with the batch's first index.
    /// </summary>
    public void Forward(ImageSet images, Func<Tensor, Tensor> transform, IProgressStage stage, Action<int, Tensor> consume)
    {
        ConvolutionBackend.ConfigureFor(Model);
        Model.eval();
        using var noGrad = torch.no_grad();
        var indices = Enumerable.Range(0, images.Count).ToArray();
        for (var start = 0; start < images.Count; start += BatchSize)
        {
            var count = Math.Min(BatchSize, images.Count - start);
            using (CollectionPause.Begin())
            using (var scope = NewDisposeScope())
            {
                var pixels = Pixels(images, indices.AsSpan(start, count));
                consume(start, Model.call(Normalize(transform(pixels))));
            }
            stage.Advance(count);
        }
    }

    /// <summary>The predicted class of transform(pixels) for every image.</summary>
    public int[] PredictTransformed(ImageSet images, Func<Tensor, Tensor> transform, IProgressStage stage)
    {
        var result = new int[images.Count];
        Forward(images, transform, stage, (start, logits) =>
            logits.argmax(1).to_type(ScalarType.Int32).data<int>().CopyTo(result.AsSpan(start, (int)logits.shape[0]), 0, 0));
        return result;
    }

    // One pass records the last linear layer's input and the predictions.
    private void ExtractPenultimate(IProgressSink progress)
    {
        var head = LatentExtractor.ClassifierHead(Model)
            ?? throw new FlareException($"{Metadata.Architecture}: the model has no linear layer to read penultimate activations from");
        var width = (int)head.in_features;
        var values = new float[(long)Images.Count * width];
        var classes = new int[Images.Count];
        // The hook runs inside the batch's forward pass, before its logits are consumed, so the
        // batch's first index is where the previous batch ended.
        var batchStart = 0;
        var hook = head.register_forward_pre_hook((_, input) =>
        {
            var rows = (int)input.shape[0];
            input.flatten(1).contiguous().data<float>().CopyTo(values.AsSpan(batchStart * width, rows * width), 0, 0);
            return input;
        });
        try
        {
            using var stage = progress.Begin("penultimate activations", Images.Count);
            Forward(Images, pixels => pixels, stage, (start, logits) =>
            {
                logits.argmax(1).to_type(ScalarType.Int32).data<int>().CopyTo(classes.AsSpan(start, (int)logits.shape[0]), 0, 0);
                batchStart = start + (int)logits.shape[0];
            });
        }
        finally
        {
            hook.remove();
        }
        penultimate = new DenseMatrix(Images.Count, width, values);
        predictions = classes;
    }
}
