using System.CommandLine;
using Flare.Cli.Terminal;
using Flare.IO;
using Flare.Mitigation;
using Flare.Reporting;
using Flare.Training;

namespace Flare.Cli.Commands;

/// <summary>FLARE (R) on its own, for a detection made earlier: a checkpoint, its data and the list of flagged samples.</summary>
internal static class UnlearnCommand
{
    public static Command Create()
    {
        var model = CommonOptions.RequiredPath("--model", "Checkpoint of the model trained on the data (the detection model, OUT/model.ckpt of purify)");
        var data = CommonOptions.RequiredPath("--data", "The training images the model was trained on, flagged ones included");
        var removed = CommonOptions.RequiredPath("--removed", "The flagged samples: removed.csv of flare purify, or suspicious.csv of flare detect");
        var output = CommonOptions.RequiredPath("--out", "New checkpoint file for the clean model");
        var unlearning = new UnlearningOptionSet("--");
        var batch = new Option<int>("--batch") { Description = "Batch size", DefaultValueFactory = _ => UnlearningOptions.Defaults.BatchSize };
        var seed = CommonOptions.Seed();
        var testOptions = new BackdoorTestOptionSet();
        var limit = CommonOptions.Limit();
        var imageSize = new ImageSizeOption();
        var json = CommonOptions.Json();
        var force = CommonOptions.Force();
        var command = new Command("unlearn", "FLARE (R): remove a backdoor from a model by unlearning the flagged samples and relearning the rest")
        {
            model, data, removed, output, batch, seed, limit, imageSize.Option, force, json,
        };
        foreach (var option in unlearning.Options.Concat(testOptions.Options)) command.Options.Add(option);
        command.SetAction(parse => CommandRunner.Run(() =>
        {
            var options = new MitigationOptions { Method = MitigationMethod.Unlearn, Unlearning = unlearning.Read(parse, parse.GetValue(seed), parse.GetValue(batch)) };
            testOptions.Validate(parse);
            var size = imageSize.Read(parse);
            var modelPath = parse.GetValue(model)!;
            var dataPath = parse.GetValue(data)!;
            var removedPath = parse.GetValue(removed)!;
            var outputPath = OutputPaths.CheckFile(parse.GetValue(output)!, "--out",
                [new(modelPath, "--model"), new(dataPath, "--data"), new(removedPath, "--removed"), new(testOptions.TestPath(parse), "--test")], parse.GetValue(force));
            var metadata = Checkpoint.ReadMetadata(modelPath);

            var run = ProgressDisplay.Run(progress =>
            {
                var images = CommonOptions.LoadImages(progress, dataPath, parse.GetValue(limit), "images", size);
                Evaluator.EnsureCompatible(images, metadata, dataPath);
                var flagged = RemovedList.Read(removedPath, images, dataPath);
                if (images.ContentHash() != metadata.TrainingDataHash)
                    progress.Message($"warning: {modelPath} was trained on other data than the {images.Count} images read from {dataPath}; unlearning assumes the model learned these samples");
                var test = testOptions.Load(parse, metadata.ClassNames, metadata.ImageHeight, metadata.ImageWidth, size, progress);
                var (classifier, _) = Checkpoint.Load(modelPath);
                using (classifier)
                    return Mitigator.RunAndScore(options, classifier, metadata, images, flagged, test, testOptions.TestPath(parse), outputPath, progress);
            });
            run = run with { ModelFile = outputPath };
            if (parse.GetValue(json)) CommandOutput.WriteJson(MitigationReport.Summary(run));
            else MitigationSummary.Print(run);
            return 0;
        }));
        return command;
    }
}
