using System.Diagnostics;
using Flare.Data;
using Flare.Models;
using Flare.Progress;
using Flare.Training;

namespace Flare.Detection;

/// <summary>A finished detection with the features it used and how well the model fits the data.</summary>
public sealed record PipelineResult(ExtractedFeatures Features, DetectionResult Detection, StageTimes Times, ModelFit Fit);

/// <summary>FLARE on a data set with a trained model: extract both representations, detect with the chosen one.</summary>
public static class DetectionPipeline
{
    public static PipelineResult Run(ImageClassifier model, ModelMetadata metadata, ImageSet images, DetectionOptions options, IProgressSink progress, CancellationToken cancellationToken = default)
    {
        options.Validate();
        var minClusterSize = options.MinClusterSizeFor(images.Count);
        if (images.Count < 2 * minClusterSize)
            throw new FlareException($"{images.Count} images are too few for detection with min_cluster_size {minClusterSize} (need at least {2 * minClusterSize})");
        var clock = Stopwatch.StartNew();
        var features = LatentExtractor.Extract(model, images, metadata.Normalization, progress);
        var extraction = clock.Elapsed.TotalSeconds;
        var fit = ModelFit.Measure(features.Predictions, images, metadata);
        if (fit.Warning is { } warning) progress.Message($"warning: {warning}");
        var detection = FlareDetector.Detect(features.For(options.Representation), options, progress, images.Labels, cancellationToken);
        return new PipelineResult(features, detection, detection.Times with { Extraction = extraction }, fit);
    }
}
