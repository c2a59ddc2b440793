using System.CommandLine;
using Flare.Attacks;
using Flare.Cli.Terminal;
using Flare.Training;

namespace Flare.Cli.Commands;

internal static class EvalCommand
{
    public static Command Create()
    {
        var model = CommonOptions.RequiredPath("--model", "Checkpoint written by flare train");
        var data = CommonOptions.RequiredPath("--data", "Clean test images (same classes as the model)");
        var attack = new Option<string?>("--attack")
        {
            Description = "Output folder of flare poison: also report the attack success rate on the test images with its trigger",
        };
        var limit = CommonOptions.Limit();
        var imageSize = new ImageSizeOption();
        var json = CommonOptions.Json();
        var command = new Command("eval", "Report a checkpoint's benign accuracy on a test folder, and with --attack its attack success rate")
        {
            model, data, attack, limit, imageSize.Option, json,
        };
        command.SetAction(parse => CommandRunner.Run(() =>
        {
            var modelPath = parse.GetValue(model)!;
            var dataPath = parse.GetValue(data)!;
            var attackPath = parse.GetValue(attack);
            var size = imageSize.Read(parse);
            var metadata = Checkpoint.ReadMetadata(modelPath);
            var loaded = attackPath is null ? null : AttackRecord.LoadTrigger(attackPath, metadata.ClassNames);
            var record = loaded?.Record;
            var trigger = loaded?.Attack;
            var labelMode = loaded?.Mode;

            var (accuracy, samples, success) = ProgressDisplay.Run(progress =>
            {
                var images = CommonOptions.LoadImages(progress, dataPath, parse.GetValue(limit), "test images", size);
                Evaluator.EnsureCompatible(images, metadata, dataPath);
                var (classifier, _) = Checkpoint.Load(modelPath);
                using (classifier)
                {
                    var predictions = Evaluator.Predict(classifier, images, metadata.Normalization, progress, "evaluating");
                    var measured = trigger is null ? null : AttackSuccess.Measure(classifier, metadata.Normalization, images, trigger, labelMode!, progress);
                    return (Evaluator.Accuracy(predictions, images.Labels), images.Count, measured);
                }
            });
            if (parse.GetValue(json))
            {
                CommandOutput.WriteJson(new
                {
                    Accuracy = accuracy,
                    Samples = samples,
                    AttackSuccessRate = success?.Rate,
                    TriggeredSamples = success?.TriggeredSamples,
                    Attack = record is null ? null : new { Folder = Path.GetFullPath(attackPath!), Name = record.Attack, record.Mode, record.Target, record.TargetClass },
                    Model = Path.GetFullPath(modelPath),
                    Data = Path.GetFullPath(dataPath),
                });
            }
            else
            {
                Console.WriteLine($"benign accuracy {CommandOutput.Percent(accuracy)} on {samples} images");
                if (success is not null)
                {
                    var rule = labelMode!.Kind == LabelModeKind.Untargeted ? "prediction differs from the true label" : "prediction is the attack's label";
                    Console.WriteLine($"attack success rate {CommandOutput.Percent(success.Rate)} on {success.TriggeredSamples} triggered images ({record!.Attack}, {labelMode.Describe(record.ClassNames)}; success: {rule})");
                }
            }
            return 0;
        }));
        return command;
    }
}
