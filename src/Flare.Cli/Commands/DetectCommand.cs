using System.CommandLine;
using Flare.Cli.Terminal;
using Flare.Detection;
using Flare.IO;
using Flare.Reporting;
using Flare.Training;

namespace Flare.Cli.Commands;

internal static class DetectCommand
{
    public static Command Create()
    {
        var data = CommonOptions.RequiredPath("--data", "The suspicious training images (one sub-folder per class)");
        var model = CommonOptions.RequiredPath("--model", "Checkpoint of a model trained on these images (flare train --augment flip)");
        var output = CommonOptions.RequiredPath("--out", "New folder for suspicious.csv, report.json, report.md, plots and features");
        var limit = CommonOptions.Limit();
        var imageSize = CommonOptions.ImageSize();
        var json = CommonOptions.Json();
        var detection = new DetectionOptionSet();
        var command = new Command("detect", "Find poisoned samples with FLARE, using a model trained on the data") { data, model, output, limit, imageSize, json };
        detection.AddTo(command);
        command.SetAction(parse => CommandRunner.Run(() =>
        {
            var options = detection.Read(parse);
            var dataPath = parse.GetValue(data)!;
            var modelPath = parse.GetValue(model)!;
            var metadata = Checkpoint.ReadMetadata(modelPath);
            using var folder = OutputFolder.Create(parse.GetValue(output)!, "--out", new InputPath(dataPath, "--data"), new InputPath(modelPath, "--model"));
            var run = ProgressDisplay.Run(progress =>
            {
                var images = CommonOptions.LoadImages(progress, dataPath, parse.GetValue(limit), "images", parse.GetValue(imageSize));
                Evaluator.EnsureCompatible(images, metadata, dataPath);
                var poisoned = GroundTruth.ForImages(images, dataPath);
                var (classifier, _) = Checkpoint.Load(modelPath);
                using (classifier)
                {
                    var result = DetectionPipeline.Run(classifier, metadata, images, options, progress);
                    FeatureFiles.Save(folder, result.Features);
                    var detectionRun = new DetectionRun
                    {
                        Images = images, DataPath = dataPath, Model = metadata, ModelPath = modelPath,
                        Options = options, Result = result.Detection, Times = result.Times, Poisoned = poisoned, Fit = result.Fit,
                    };
                    DetectionReport.Write(folder.Path, detectionRun);
                    return detectionRun;
                }
            });
            folder.Commit();
            DetectionSummary.Print(run, folder.Target, parse.GetValue(json));
            return 0;
        }));
        return command;
    }
}
