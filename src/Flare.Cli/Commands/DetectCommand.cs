using System.CommandLine;
using Flare.Cli.Terminal;
using Flare.Detection;
using Flare.IO;
using Flare.Models.Onnx;
using Flare.Reporting;
using Flare.Training;

namespace Flare.Cli.Commands;

internal static class DetectCommand
{
    public static Command Create()
    {
        var data = CommonOptions.RequiredPath("--data", "The suspicious training images (one sub-folder per class)");
        var model = CommonOptions.RequiredPath("--model", "A model trained on these images: a Flare checkpoint (flare train --augment flip), or an ONNX file exported from PyTorch with its BatchNorm layers (docs/your-model.md)");
        var output = CommonOptions.RequiredPath("--out", "New folder for suspicious.csv, report.json, report.md, report.html, plots and features");
        var limit = CommonOptions.Limit();
        var imageSize = new ImageSizeOption();
        var mean = new Option<string?>("--mean") { Description = "ONNX models: per-channel mean of the input normalization, in [0, 1] units and the model's channel order (e.g. 0.485,0.456,0.406)" };
        var std = new Option<string?>("--std") { Description = "ONNX models: per-channel standard deviation of the input normalization (e.g. 0.229,0.224,0.225)" };
        var channelOrder = new Option<string?>("--channel-order") { Description = "ONNX models: rgb (default, as torchvision) or bgr" };
        var json = CommonOptions.Json();
        var detection = new DetectionOptionSet();
        var command = new Command("detect", "Find poisoned samples with FLARE, using a model trained on the data") { data, model, output, limit, imageSize.Option, mean, std, channelOrder, json };
        detection.AddTo(command);
        command.SetAction(parse => CommandRunner.Run(() =>
        {
            var options = detection.Read(parse);
            var size = imageSize.Read(parse);
            var dataPath = parse.GetValue(data)!;
            var modelPath = parse.GetValue(model)!;
            var onnx = modelPath.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase);
            if (!onnx && (parse.GetValue(mean) ?? parse.GetValue(std) ?? parse.GetValue(channelOrder)) is not null)
                throw new FlareException("--mean, --std and --channel-order apply to ONNX models; a Flare checkpoint records its own preprocessing");
            var preprocessing = onnx ? OnnxPreprocessing.Resolve(modelPath, size, parse.GetValue(mean), parse.GetValue(std), parse.GetValue(channelOrder)) : null;
            var graph = onnx ? OnnxGraph.Read(modelPath) : null;
            var metadata = onnx ? null : Checkpoint.ReadMetadata(modelPath);
            using var folder = OutputFolder.Create(parse.GetValue(output)!, "--out", new InputPath(dataPath, "--data"), new InputPath(modelPath, "--model"));
            var run = ProgressDisplay.Run(progress =>
            {
                var images = CommonOptions.LoadImages(progress, dataPath, parse.GetValue(limit), "images", preprocessing?.ImageSize ?? size);
                var poisoned = GroundTruth.ForImages(images, dataPath);
                PipelineResult result;
                if (graph is not null)
                {
                    OnnxLatentExtractor.EnsureCompatible(graph, images, dataPath);
                    result = DetectionPipeline.Run(graph, preprocessing!, images, options, progress);
                    metadata = DetectionPipeline.Describe(graph, preprocessing!, images);
                }
                else
                {
                    Evaluator.EnsureCompatible(images, metadata!, dataPath);
                    var (classifier, _) = Checkpoint.Load(modelPath);
                    using (classifier) result = DetectionPipeline.Run(classifier, metadata!, images, options, progress);
                }
                FeatureFiles.Save(folder, result.Features);
                var detectionRun = new DetectionRun
                {
                    Images = images, DataPath = dataPath, Model = metadata!, ModelPath = modelPath,
                    Options = options, Result = result.Detection, Times = result.Times, Poisoned = poisoned, Fit = result.Fit,
                };
                DetectionReport.Write(folder.Path, detectionRun);
                return detectionRun;
            });
            folder.Commit();
            DetectionSummary.Print(run, folder.Target, parse.GetValue(json));
            return 0;
        }));
        return command;
    }
}
