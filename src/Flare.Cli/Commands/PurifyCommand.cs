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
    private const string CleanModelFile = "clean.ckpt";

    public static Command Create()
    {
        var data = CommonOptions.RequiredPath("--data", "The suspicious training images (one sub-folder per class)");
        var output = CommonOptions.RequiredPath("--out", "New folder for purified/, removed.csv, the report and the model");
        var trainingOptions = new TrainingOptionSet(TrainingOptions.ForDetection());
        var limit = CommonOptions.Limit();
        var imageSize = new ImageSizeOption();
        var json = CommonOptions.Json();
        var detection = new DetectionOptionSet();
        var mitigate = new Option<string>("--mitigate") { Description = "Then make a clean model OUT/clean.ckpt: retrain (FLARE (P), from scratch on the kept samples), unlearn (FLARE (R), from the detection model) or none", DefaultValueFactory = _ => MitigationOptions.Defaults.Method.ToName() };
        var retrainEpochs = new Option<int>("--retrain-epochs") { Description = "Epochs of --mitigate retrain (crop-flip, the accuracy recipe)", DefaultValueFactory = _ => new MitigationOptions().Retraining.Epochs };
        var unlearning = new UnlearningOptionSet("--unlearn-");
        var testOptions = new BackdoorTestOptionSet();
        var command = new Command("purify", "Train a model on the data, detect poisoned samples with FLARE, write a purified copy and optionally a clean model")
        {
            data, output, limit, imageSize.Option, json, mitigate, retrainEpochs,
        };
        trainingOptions.AddTo(command);
        detection.AddTo(command);
        foreach (var option in unlearning.Options.Concat(testOptions.Options)) command.Options.Add(option);
        command.SetAction(parse => CommandRunner.Run(() =>
        {
            var options = detection.Read(parse);
            var size = imageSize.Read(parse);
            // Flip only: random crops keep a model from fitting poisoned samples (docs/method.md).
            var training = trainingOptions.Read(parse, Augmentation.Flip);
            var mitigation = new MitigationOptions
            {
                Method = MitigationMethodNames.Parse(parse.GetValue(mitigate)!),
                Retraining = new MitigationOptions().Retraining with { Epochs = parse.GetValue(retrainEpochs), BatchSize = training.BatchSize, Seed = training.Seed },
                Unlearning = unlearning.Read(parse, training.Seed, training.BatchSize),
            };
            mitigation.Retraining.Validate();
            testOptions.Validate(parse);
            var dataPath = parse.GetValue(data)!;
            PurifiedCopy.EnsureCopyable(dataPath);
            using var folder = OutputFolder.Create(parse.GetValue(output)!, "--out", new InputPath(dataPath, "--data"));
            var (run, kept, mitigated) = ProgressDisplay.Run(progress =>
            {
                var images = CommonOptions.LoadImages(progress, dataPath, parse.GetValue(limit), "images", size);
                var minClusterSize = options.MinClusterSizeFor(images.Count);
                if (images.Count < 2 * minClusterSize)
                    throw new FlareException($"{dataPath}: {images.Count} images are too few for detection with min_cluster_size {minClusterSize}");
                var poisoned = GroundTruth.ForImages(images, dataPath);
                var test = testOptions.Load(parse, images.ClassNames, images.Height, images.Width, size, progress);
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
                    MitigationRun? mitigationRun = null;
                    if (mitigation.Method != MitigationMethod.None || test is not null)
                    {
                        mitigationRun = Mitigator.RunAndScore(mitigation, trained.Model, trained.Metadata, images, result.Detection.Flagged,
                            test, testOptions.TestPath(parse), folder.File(CleanModelFile), progress);
                        MitigationReport.Write(folder.Path, mitigationRun);
                    }
                    return (detectionRun, keptCount, mitigationRun);
                }
            });
            folder.Commit();
            mitigated = mitigated is { ModelFile: not null } ? mitigated with { ModelFile = Path.Combine(folder.Target, CleanModelFile) } : mitigated;
            var purification = new
            {
                Kept = kept, Removed = run.Images.Count - kept, Purified = Path.Combine(folder.Target, PurifiedCopy.FolderName), Model = Path.Combine(folder.Target, "model.ckpt"),
                Mitigation = mitigated is null ? null : MitigationReport.Summary(mitigated),
            };
            DetectionSummary.Print(run, folder.Target, parse.GetValue(json), purification);
            if (!parse.GetValue(json))
            {
                Console.WriteLine($"purified copy   {purification.Purified} ({kept} images kept, {purification.Removed} removed; list in removed.csv)");
                if (mitigated is not null) MitigationSummary.Print(mitigated);
            }
            return 0;
        }));
        return command;
    }
}
