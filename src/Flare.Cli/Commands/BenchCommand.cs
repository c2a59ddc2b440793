using System.CommandLine;
using Flare.Cli.Terminal;
using Flare.Attacks;
using Flare.Experiments;
using Flare.IO;
using Flare.Training;

namespace Flare.Cli.Commands;

/// <summary>Opt-in measurements whose figures go into docs/benchmarks.md.</summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var command = new Command("bench", "Measure speed on this machine (figures for docs/benchmarks.md)");
        command.Subcommands.Add(Throughput());
        command.Subcommands.Add(Detection());
        command.Subcommands.Add(Redetect());
        return command;
    }

    private static Command Detection()
    {
        var train = CommonOptions.RequiredPath("--train", "Clean training images (e.g. ../shared/data/cifar10/train)");
        var test = CommonOptions.RequiredPath("--test", "Clean test images");
        var output = CommonOptions.RequiredPath("--out", "Folder for per-case results (features, models, outcome.json) and results.md");
        var attacks = new Option<string>("--attacks") { Description = "Comma-separated attacks", DefaultValueFactory = _ => "badnets,blend,trojan,wanet" };
        var modes = new Option<string>("--modes") { Description = "Comma-separated label modes", DefaultValueFactory = _ => "a2o,a2a,ut" };
        var clean = new Option<bool>("--clean") { Description = "Also run the clean (unpoisoned) data set" };
        var rate = new Option<double>("--rate") { Description = "Poisoning rate of every attack case", DefaultValueFactory = _ => ExperimentSettings.DefaultRate };
        var limit = new Option<int>("--limit") { Description = "Training images (class-balanced subset)", DefaultValueFactory = _ => 10_000 };
        var testLimit = new Option<int>("--test-limit") { Description = "Test images for BA and ASR", DefaultValueFactory = _ => 2_000 };
        var epochs = new Option<int>("--epochs") { Description = "Training epochs (flip augmentation)", DefaultValueFactory = _ => 20 };
        var width = new Option<int>("--width") { Description = "ResNet-18 width", DefaultValueFactory = _ => 16 };
        var seed = CommonOptions.Seed();
        var command = new Command("detection", "Poison, train, measure BA/ASR and detect with both representations, per attack and mode")
        {
            train, test, output, attacks, modes, clean, rate, limit, testLimit, epochs, width, seed,
        };
        command.SetAction(parse => CommandRunner.Run(() =>
        {
            var cases = new List<ExperimentCase>();
            if (parse.GetValue(clean)) cases.Add(ExperimentCase.Clean);
            foreach (var attack in Split(parse.GetValue(attacks)!))
                foreach (var mode in Split(parse.GetValue(modes)!))
                {
                    new PoisonOptions { Attack = attack, Mode = mode, Rate = parse.GetValue(rate) }.Validate();
                    cases.Add(new ExperimentCase(AttackRegistry.Get(attack).Name, mode.ToLowerInvariant()));
                }
            var settings = new ExperimentSettings
            {
                TrainData = parse.GetValue(train)!,
                TestData = parse.GetValue(test)!,
                TrainLimit = parse.GetValue(limit),
                TestLimit = parse.GetValue(testLimit),
                Rate = parse.GetValue(rate),
                Training = new TrainingOptions { Width = parse.GetValue(width), Epochs = parse.GetValue(epochs), Augmentation = Augmentation.Flip },
                Seed = parse.GetValue(seed),
            };
            var folder = OutputPaths.CheckNotInputs(parse.GetValue(output)!, "--out", [new(settings.TrainData, "--train"), new(settings.TestData, "--test")]);
            Directory.CreateDirectory(folder);
            var outcomes = new List<ExperimentOutcome>();
            ProgressDisplay.Run(progress =>
            {
                var cleanTrain = CommonOptions.LoadImages(progress, settings.TrainData, settings.TrainLimit, "training images");
                var cleanTest = CommonOptions.LoadImages(progress, settings.TestData, settings.TestLimit, "test images");
                foreach (var @case in cases)
                {
                    progress.Message($"case {@case.Name}");
                    outcomes.Add(DetectionExperiment.Run(@case, settings, cleanTrain, cleanTest, Path.Combine(folder, @case.Name), progress));
                    WriteTables(folder, outcomes);
                }
                return 0;
            });
            Console.Write(ExperimentTable.Markdown(outcomes));
            return 0;
        }));
        return command;
    }

    private static Command Redetect()
    {
        var runs = CommonOptions.RequiredPath("--runs", "A folder written by flare bench detection");
        var detection = new DetectionOptionSet();
        var command = new Command("redetect", "Re-run detection on the saved features of a flare bench detection run") { runs };
        detection.AddTo(command);
        command.SetAction(parse => CommandRunner.Run(() =>
        {
            var options = detection.Read(parse);
            var folder = parse.GetValue(runs)!;
            var cases = Directory.GetDirectories(folder).Where(d => File.Exists(Path.Combine(d, "outcome.json"))).Order(StringComparer.Ordinal).ToList();
            if (cases.Count == 0) throw new FlareException($"{folder}: no case folders with outcome.json");
            var outcomes = ProgressDisplay.Run(progress => cases.Select(c => DetectionExperiment.Redetect(c, options, progress)).ToList());
            WriteTables(folder, outcomes);
            Console.Write(ExperimentTable.Markdown(outcomes));
            return 0;
        }));
        return command;
    }

    private static IEnumerable<string> Split(string list) =>
        list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static void WriteTables(string folder, IReadOnlyList<ExperimentOutcome> outcomes)
    {
        File.WriteAllText(Path.Combine(folder, "results.md"), ExperimentTable.Markdown(outcomes));
        File.WriteAllText(Path.Combine(folder, "results.json"), System.Text.Json.JsonSerializer.Serialize(outcomes, ExperimentTable.Json));
    }

    private static Command Throughput()
    {
        var model = new Option<string>("--model") { DefaultValueFactory = _ => "resnet18", Description = "Architecture" };
        var widths = new Option<int[]>("--width") { DefaultValueFactory = _ => [16, 64], Description = "Widths to measure", AllowMultipleArgumentsPerToken = true };
        var batch = new Option<int>("--batch") { DefaultValueFactory = _ => 128, Description = "Batch size" };
        var steps = new Option<int>("--steps") { DefaultValueFactory = _ => 20, Description = "Timed training steps (inference: 3x as many)" };
        var json = CommonOptions.Json();
        var command = new Command("throughput", "Training and inference images/s on random 32x32 inputs") { model, widths, batch, steps, json };
        command.SetAction(parse => CommandRunner.Run(() =>
        {
            var results = new List<ThroughputResult>();
            foreach (var width in parse.GetValue(widths)!)
            {
                var steps1 = parse.GetValue(steps);
                // Wide models are ~12x slower per image: fewer steps keep the run short.
                var scaledSteps = width > 32 ? Math.Max(3, steps1 / 4) : steps1;
                var result = ThroughputBenchmark.Measure(parse.GetValue(model)!, width, parse.GetValue(batch), scaledSteps, 3 * scaledSteps);
                results.Add(result);
                if (!parse.GetValue(json))
                    Console.WriteLine($"{result.Model} width {result.Width} batch {result.BatchSize} threads {result.Threads}: train {result.TrainImagesPerSecond:F0} img/s, infer {result.InferImagesPerSecond:F0} img/s");
            }
            if (parse.GetValue(json)) CommandOutput.WriteJson(results);
            return 0;
        }));
        return command;
    }
}
