using System.Diagnostics;
using Flare.Data;
using Flare.Models;
using Flare.Models.Onnx;
using Flare.Progress;
using Flare.Training;

namespace Flare.Detection;

/// <summary>A finished detection with the features it used and how well the model fits the data.</summary>
public sealed record PipelineResult(ExtractedFeatures Features, DetectionResult Detection, StageTimes Times, ModelFit Fit);

/// <summary>FLARE on a data set with a trained model: extract both representations, detect with the chosen one.</summary>
public static class DetectionPipeline
{
    public static PipelineResult Run(ImageClassifier model, ModelMetadata metadata, ImageSet images, DetectionOptions options, IProgressSink progress, CancellationToken cancellationToken = default) =>
        Run(images, metadata, options, progress, () => LatentExtractor.Extract(model, images, metadata.Normalization, progress), cancellationToken);

    /// <summary>FLARE with a user's ONNX model (see <see cref="OnnxLatentExtractor"/>).</summary>
    public static PipelineResult Run(OnnxGraph model, OnnxPreprocessing preprocessing, ImageSet images, DetectionOptions options, IProgressSink progress, CancellationToken cancellationToken = default) =>
        Run(images, Describe(model, preprocessing, images), options, progress, () => OnnxLatentExtractor.Extract(model, images, preprocessing, progress), cancellationToken);

    /// <summary>
    /// What the report says about an ONNX model: its architecture is unknown to Flare, its training
    /// too. The file records no training data, so the user's word that it was trained on these
    /// images is taken (its training-data hash is theirs); the fit to them is still measured.
    /// </summary>
    public static ModelMetadata Describe(OnnxGraph model, OnnxPreprocessing preprocessing, ImageSet images) => new()
    {
        Architecture = $"ONNX model {Path.GetFileName(model.Path)} ({model.BatchNorms.Count} BatchNorm layers)",
        Width = 0,
        ClassNames = images.ClassNames.ToArray(),
        ImageHeight = images.Height,
        ImageWidth = images.Width,
        Mean = preprocessing.RgbNormalization.Mean,
        Std = preprocessing.RgbNormalization.Std,
        Epochs = 0,
        BatchSize = 0,
        LearningRate = 0,
        Schedule = "unknown",
        Augmentation = "unknown",
        Seed = 0,
        TrainingDataHash = images.ContentHash(),
        TrainingSamples = 0,
    };

    private static PipelineResult Run(ImageSet images, ModelMetadata metadata, DetectionOptions options, IProgressSink progress, Func<ExtractedFeatures> extract, CancellationToken cancellationToken)
    {
        options.Validate();
        var minClusterSize = options.MinClusterSizeFor(images.Count);
        if (images.Count < 2 * minClusterSize)
            throw new FlareException($"{images.Count} images are too few for detection with min_cluster_size {minClusterSize} (need at least {2 * minClusterSize})");
        var clock = Stopwatch.StartNew();
        var features = extract();
        var extraction = clock.Elapsed.TotalSeconds;
        var fit = ModelFit.Measure(features.Predictions, images, metadata);
        if (fit.Warning is { } warning) progress.Message($"warning: {warning}");
        var detection = FlareDetector.Detect(features.For(options.Representation), options, progress, images.Labels, features.Penultimate, cancellationToken);
        return new PipelineResult(features, detection, detection.Times with { Extraction = extraction }, fit);
    }
}
