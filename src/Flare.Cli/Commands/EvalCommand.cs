using System.CommandLine;
using Flare.Cli.Terminal;
using Flare.Training;

namespace Flare.Cli.Commands;

internal static class EvalCommand
{
    public static Command Create()
    {
        var model = CommonOptions.RequiredPath("--model", "Checkpoint written by flare train");
        var data = CommonOptions.RequiredPath("--data", "Clean test images (same classes as the model)");
        var limit = CommonOptions.Limit();
        var json = CommonOptions.Json();
        var command = new Command("eval", "Report a checkpoint's benign accuracy on a test folder")
        {
            model, data, limit, json,
        };
        command.SetAction(parse => CommandRunner.Run(() =>
        {
            var modelPath = parse.GetValue(model)!;
            var dataPath = parse.GetValue(data)!;
            var metadata = Checkpoint.ReadMetadata(modelPath);
            var (accuracy, samples) = ProgressDisplay.Run(progress =>
            {
                var images = CommonOptions.LoadImages(progress, dataPath, parse.GetValue(limit), "test images");
                Evaluator.EnsureCompatible(images, metadata, dataPath);
                var (classifier, _) = Checkpoint.Load(modelPath);
                using (classifier)
                {
                    var predictions = Evaluator.Predict(classifier, images, metadata.Normalization, progress, "evaluating");
                    return (Evaluator.Accuracy(predictions, images.Labels), images.Count);
                }
            });
            if (parse.GetValue(json))
                CommandOutput.WriteJson(new { Accuracy = accuracy, Samples = samples, Model = Path.GetFullPath(modelPath), Data = Path.GetFullPath(dataPath) });
            else
                Console.WriteLine($"benign accuracy {CommandOutput.Percent(accuracy)} on {samples} images");
            return 0;
        }));
        return command;
    }
}
