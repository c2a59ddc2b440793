using Flare.Data;
using Flare.Manifold;
using Flare.Models;
using Flare.Native;
using Flare.Progress;
using Flare.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flare.Detection;

/// <summary>
/// Both FLARE representations of a data set, from one no-grad pass over it, the class the model
/// predicted for each sample in that pass (to measure how well it fits the data), and the input of
/// the model's last linear layer (null where the model has none Flare can read, as in ONNX graphs).
/// </summary>
public sealed record ExtractedFeatures(LatentFeatures PerChannel, LatentFeatures PerLayer, int[] Predictions, DenseMatrix? Penultimate = null)
{
    public LatentFeatures For(Representation representation) =>
        representation == Representation.Channel ? PerChannel : PerLayer;
}

/// <summary>
/// Runs a trained model over the training set (no augmentation, eval mode) and records, at every
/// BatchNorm layer, the per-channel minimum log-likelihood of the layer's input.
/// </summary>
public static class LatentExtractor
{
    public const int BatchSize = 128;

    public static ExtractedFeatures Extract(ImageClassifier model, ImageSet images, Normalization normalization, IProgressSink progress)
    {
        TorchRuntime.EnsureLoaded();
        ConvolutionBackend.ConfigureFor(model);
        var layers = model.BatchNormLayers;
        var channelsPerLayer = layers.Select(bn => (int)bn.num_features).ToArray();
        var offsets = new int[layers.Count + 1];
        for (var l = 0; l < layers.Count; l++) offsets[l + 1] = offsets[l] + channelsPerLayer[l];
        var width = offsets[^1];
        var perChannel = new float[(long)images.Count * width];
        var predictions = new int[images.Count];

        // Each hook keeps its layer's [batch, channels] minima past the model's own dispose scope; after
        // the forward pass they are concatenated into the batch's rows and copied out in one block.
        var batchMinima = new Tensor[layers.Count];
        var removeHooks = new List<Action>();
        // The classifier head's input: where the extension of a label's flagged group is measured.
        var head = ClassifierHead(model);
        var penultimateWidth = head is null ? 0 : (int)head.in_features;
        var penultimate = new float[(long)images.Count * penultimateWidth];
        Tensor? batchPenultimate = null;
        if (head is not null)
            removeHooks.Add(head.register_forward_pre_hook((_, input) =>
            {
                batchPenultimate = input.flatten(1).DetachFromDisposeScope();
                return input;
            }).remove);
        for (var l = 0; l < layers.Count; l++)
        {
            var layer = l;
            var norm = layers[l];
            var hook = norm.register_forward_pre_hook((_, input) =>
            {
                batchMinima[layer] = BatchNormLikelihood.MinimumPerChannel(input, norm.running_mean!, norm.running_var!, norm.eps).DetachFromDisposeScope();
                return input;
            });
            removeHooks.Add(hook.remove);
        }

        try
        {
            var assembler = new BatchAssembler(images, normalization);
            var buffer = new float[BatchSize * assembler.ImageFloats];
            var labels = new long[BatchSize];
            var indices = Enumerable.Range(0, images.Count).ToArray();
            using var stage = progress.Begin("extracting features", images.Count);
            var heap = new HeapGrowthGuard();
            model.eval();
            using var noGrad = torch.no_grad();
            for (var batchStart = 0; batchStart < images.Count; batchStart += BatchSize)
            {
                var batchCount = Math.Min(BatchSize, images.Count - batchStart);
                assembler.Fill(indices.AsSpan(batchStart, batchCount), buffer, labels, Augmentation.None, null);
                using (CollectionPause.Begin())
                using (var scope = NewDisposeScope())
                {
                    try
                    {
                        var logits = model.call(BatchTensors.Images(buffer, batchCount, images.Height, images.Width));
                        BatchTensors.CopyOut(torch.cat(batchMinima, 1), perChannel.AsSpan(batchStart * width, batchCount * width));
                        BatchTensors.CopyOut(logits.argmax(1).to_type(ScalarType.Int32), predictions.AsSpan(batchStart, batchCount));
                        if (batchPenultimate is not null)
                            BatchTensors.CopyOut(batchPenultimate, penultimate.AsSpan(batchStart * penultimateWidth, batchCount * penultimateWidth));
                    }
                    finally
                    {
                        foreach (var minima in batchMinima) minima?.Dispose();
                        Array.Clear(batchMinima);
                        batchPenultimate?.Dispose();
                        batchPenultimate = null;
                    }
                }
                heap.AfterBatch();
                stage.Advance(batchCount);
            }
        }
        finally
        {
            foreach (var remove in removeHooks) remove();
            ProcessMemory.Release();
        }

        return FromPerChannel(perChannel, images.Count, channelsPerLayer, predictions)
            with { Penultimate = head is null ? null : new DenseMatrix(images.Count, penultimateWidth, penultimate) };
    }

    /// <summary>The model's last linear layer, whose input is the penultimate activations; null when it has none.</summary>
    internal static Linear? ClassifierHead(ImageClassifier model) => model.modules().OfType<Linear>().LastOrDefault();

    /// <summary>Both representations from the per-channel minima (one row per sample, layer after layer in forward order).</summary>
    internal static ExtractedFeatures FromPerChannel(float[] perChannel, int count, int[] channelsPerLayer, int[] predictions)
    {
        var offsets = new int[channelsPerLayer.Length + 1];
        for (var l = 0; l < channelsPerLayer.Length; l++) offsets[l + 1] = offsets[l] + channelsPerLayer[l];
        var layerOfChannel = new int[offsets[^1]];
        for (var l = 0; l < channelsPerLayer.Length; l++) Array.Fill(layerOfChannel, l, offsets[l], channelsPerLayer[l]);
        var channelFeatures = new LatentFeatures(new DenseMatrix(count, offsets[^1], perChannel), layerOfChannel, Representation.Channel);
        return new ExtractedFeatures(channelFeatures, PerLayer(channelFeatures, offsets), predictions);
    }

    // The released code's per-layer value is the minimum over all channels and positions, which is
    // the minimum of the per-channel minima.
    private static LatentFeatures PerLayer(LatentFeatures perChannel, int[] offsets)
    {
        var layerCount = offsets.Length - 1;
        var values = new float[perChannel.Count * layerCount];
        for (var i = 0; i < perChannel.Count; i++)
        {
            var row = perChannel.Features.ReadOnlyRow(i);
            for (var l = 0; l < layerCount; l++)
            {
                var minimum = float.PositiveInfinity;
                foreach (var value in row[offsets[l]..offsets[l + 1]]) minimum = Math.Min(minimum, value);
                values[i * layerCount + l] = minimum;
            }
        }
        return new LatentFeatures(new DenseMatrix(perChannel.Count, layerCount, values), Enumerable.Range(0, layerCount).ToArray(), Representation.Layer);
    }
}
