using System.CommandLine;
using Flare.Models;
using Flare.Training;

namespace Flare.Cli.Commands;

/// <summary>The training options train and purify share, with the recipe's values as defaults; purify fixes the augmentation itself.</summary>
internal sealed class TrainingOptionSet(TrainingOptions recipe)
{
    private readonly Option<string> model = new("--model") { Description = $"Architecture: {string.Join(", ", ModelRegistry.All.Select(m => m.Name))}", DefaultValueFactory = _ => ModelRegistry.DefaultName };
    private readonly Option<int?> width = new("--width") { Description = "Channel width (resnet18: 64 = paper, default 16)" };
    private readonly Option<int> epochs = new("--epochs") { Description = "Training epochs", DefaultValueFactory = _ => recipe.Epochs };
    private readonly Option<int> batch = new("--batch") { Description = "Batch size", DefaultValueFactory = _ => recipe.BatchSize };
    private readonly Option<double> lr = new("--lr") { Description = "Learning rate: cosine's start, one cycle's peak", DefaultValueFactory = _ => recipe.LearningRate };
    private readonly Option<string> schedule = CommonOptions.Schedule(recipe.Schedule);
    private readonly Option<ulong> seed = CommonOptions.Seed();
    private readonly Option<bool> float32 = CommonOptions.Float32();

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { model, width, epochs, batch, lr, schedule, seed, float32 })
            command.Options.Add(option);
    }

    public TrainingOptions Read(ParseResult parse, Augmentation augmentation)
    {
        var options = new TrainingOptions
        {
            Model = parse.GetValue(model)!,
            Width = parse.GetValue(width),
            Epochs = parse.GetValue(epochs),
            BatchSize = parse.GetValue(batch),
            LearningRate = parse.GetValue(lr),
            Schedule = LearningRateSchedules.Parse(parse.GetValue(schedule)!),
            Augmentation = augmentation,
            Seed = parse.GetValue(seed),
            BFloat16Convolutions = !parse.GetValue(float32),
        };
        options.Validate();
        return options;
    }
}
