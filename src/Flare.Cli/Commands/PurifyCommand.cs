using System.CommandLine;
using System.Diagnostics;
using Flare.Cli.Terminal;
using Flare.Detection;
using Flare.IO;
using Flare.Mitigation;
using Flare.Reporting;
using Flare.Training;

namespace Flare.Cli.Commands;

internal static class PurifyCommand
{
    public static Command Create()
    {
        var data = CommonOptions.RequiredPath("--data", "The suspicious training images (one sub-folder per class)");
        var output = CommonOptions.RequiredPath("--out", "New folder for purified/, removed.csv, the report and the model");
        var trainingOptions = new TrainingOptionSet(defaultEpochs: 20);
        var limit = CommonOptions.Limit();
        var imageSize = CommonOptions.ImageSize();
        var json = CommonOptions.Json();
        var detection = new DetectionOptionSet();
        var command = new Command("purify", "Train a model on the data, detect poisoned samples with FLARE and write a purified copy")
        {
            data, output, limit, imageSize, json,
        };
        trainingOptions.AddTo(command);
        detection.AddTo(command);
        command.SetAction(parse => CommandRunner.Run(() =>
        {
            var options = detection.Read(parse);
            // Flip only: random crops keep a model from fitting poisoned samples (docs/method.md).
            var training = trainingOptions.Read(parse, Augmentation.Flip);
            var dataPath = parse.GetValue(data)!;
            PurifiedCopy.EnsureCopyable(dataPath);
            using var folder = OutputFolder.Create(parse.GetValue(output)!, "--out", new InputPath(dataPath, "--data"));
            var (run, kept) = ProgressDisplay.Run(progress =>
            {
                var images = CommonOptions.LoadImages(progress, dataPath, parse.GetValue(limit), "images", parse.GetValue(imageSize));
                var minClusterSize = options.MinClusterSizeFor(images.Count);
                if (images.Count < 2 * minClusterSize)
                    throw new FlareException($"{dataPath}: {images.Count} images are too few for detection with min_cluster_size {minClusterSize}");
                var poisoned = GroundTruth.ForImages(images, dataPath);
                var clock = Stopwatch.StartNew();
                var trained = Trainer.Train(images, training, progress, Path.GetFullPath(dataPath));
                var trainingSeconds = clock.Elapsed.TotalSeconds;
                using (trained.Model)
                {
                    Checkpoint.Save(folder.File("model.ckpt"), trained.Model, trained.Metadata);
                    var result = DetectionPipeline.Run(trained.Model, trained.Metadata, images, options, progress);
                    FeatureFiles.Save(folder, result.Features);
                    var detectionRun = new DetectionRun
                    {
                        Images = images, DataPath = dataPath, Model = trained.Metadata, ModelPath = null,
                        Options = options, Result = result.Detection, Times = result.Times with { Training = trainingSeconds }, Poisoned = poisoned, Fit = result.Fit,
                    };
                    DetectionReport.Write(folder.Path, detectionRun);
                    var keptCount = PurifiedCopy.Write(images, result.Detection.Flagged, result.Detection.PrimaryCluster, folder.Path);
                    return (detectionRun, keptCount);
                }
            });
            folder.Commit();
            var purification = new { Kept = kept, Removed = run.Images.Count - kept, Purified = Path.Combine(folder.Target, PurifiedCopy.FolderName), Model = Path.Combine(folder.Target, "model.ckpt") };
            DetectionSummary.Print(run, folder.Target, parse.GetValue(json), purification);
            if (!parse.GetValue(json))
                Console.WriteLine($"purified copy   {purification.Purified} ({kept} images kept, {purification.Removed} removed; list in removed.csv)");
            return 0;
        }));
        return command;
    }
}
