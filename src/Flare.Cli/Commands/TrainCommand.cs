using System.CommandLine;
using Flare.Cli.Terminal;
using Flare.Data;
using Flare.IO;
using Flare.Training;

namespace Flare.Cli.Commands;

internal static class TrainCommand
{
    public static Command Create()
    {
        var data = CommonOptions.RequiredPath("--data", "Training images: a folder with one sub-folder per class, or CIFAR-10 binary batches");
        var test = new Option<string?>("--test") { Description = "Test images (same classes) to report accuracy on after training" };
        var training = new TrainingOptionSet(new TrainingOptions());
        var augment = new Option<string>("--augment") { Description = "Augmentation: none, flip, crop-flip", DefaultValueFactory = _ => "crop-flip" };
        var limit = CommonOptions.Limit();
        var imageSize = new ImageSizeOption();
        var output = CommonOptions.RequiredPath("--out", "New checkpoint file (never inside --data)");
        var force = CommonOptions.Force();
        var json = CommonOptions.Json();
        var command = new Command("train", "Train a classifier on an image folder and save a checkpoint")
        {
            data, test, augment, limit, imageSize.Option, output, force, json,
        };
        training.AddTo(command);
        command.SetAction(parse => CommandRunner.Run(() =>
        {
            var options = training.Read(parse, AugmentationNames.Parse(parse.GetValue(augment)!));
            var size = imageSize.Read(parse);
            var dataPath = parse.GetValue(data)!;
            var testPath = parse.GetValue(test);
            var outputPath = OutputPaths.CheckFile(parse.GetValue(output)!, "--out", [new(dataPath, "--data"), new(testPath, "--test")], parse.GetValue(force));
            var clock = System.Diagnostics.Stopwatch.StartNew();

            var (result, testAccuracy) = ProgressDisplay.Run(progress =>
            {
                var train = CommonOptions.LoadImages(progress, dataPath, parse.GetValue(limit), "training images", size);
                ImageSet? testImages = null;
                if (testPath is not null)
                {
                    testImages = CommonOptions.LoadImages(progress, testPath, null, "test images", size);
                    if (!testImages.ClassNames.SequenceEqual(train.ClassNames))
                        throw new FlareException($"{testPath}: test classes [{string.Join(", ", testImages.ClassNames)}] differ from the training classes [{string.Join(", ", train.ClassNames)}]");
                    if (testImages.Height != train.Height || testImages.Width != train.Width)
                        throw new FlareException($"{testPath}: test images are {testImages.Width}x{testImages.Height}, training images {train.Width}x{train.Height}");
                }
                var trained = Trainer.Train(train, options, progress, Path.GetFullPath(dataPath));
                double? accuracy = null;
                if (testImages is not null)
                {
                    var predictions = Evaluator.Predict(trained.Model, testImages, trained.Metadata.Normalization, progress, "testing");
                    accuracy = Evaluator.Accuracy(predictions, testImages.Labels);
                }
                return (trained, accuracy);
            });
            var metadata = result.Metadata with { TestAccuracy = testAccuracy };
            Checkpoint.Save(outputPath, result.Model, metadata);
            var last = result.History[^1];
            var summary = new
            {
                Checkpoint = Path.GetFullPath(outputPath),
                metadata.Architecture,
                metadata.Width,
                metadata.Epochs,
                TrainSamples = metadata.TrainingSamples,
                TrainAccuracy = last.Accuracy,
                TrainLoss = last.Loss,
                TestAccuracy = testAccuracy,
                TrainImagesPerSecond = result.History.Average(h => h.ImagesPerSecond),
                Seconds = clock.Elapsed.TotalSeconds,
            };
            if (parse.GetValue(json)) CommandOutput.WriteJson(summary);
            else
            {
                Console.WriteLine($"checkpoint      {summary.Checkpoint}");
                Console.WriteLine($"model           {metadata.Architecture} width {metadata.Width}, {metadata.Epochs} epochs, {metadata.TrainingSamples} images, {metadata.Augmentation}");
                Console.WriteLine($"train accuracy  {CommandOutput.Percent(last.Accuracy)} (loss {last.Loss:F3}, last epoch)");
                if (testAccuracy is { } a) Console.WriteLine($"test accuracy   {CommandOutput.Percent(a)}");
                Console.WriteLine($"time            {clock.Elapsed:hh\\:mm\\:ss} ({summary.TrainImagesPerSecond:F0} images/s)");
            }
            return 0;
        }));
        return command;
    }
}
