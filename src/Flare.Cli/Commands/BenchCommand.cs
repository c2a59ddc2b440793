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
        command.Subcommands.Add(Training());
        command.Subcommands.Add(Purify());
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
        var epochs = new Option<int>("--epochs") { Description = "Training epochs (flip augmentation)", DefaultValueFactory = _ => TrainingOptions.DetectionModelEpochs };
        var learningRate = new Option<double>("--lr") { Description = "Learning rate: cosine's start, one cycle's peak", DefaultValueFactory = _ => TrainingOptions.DetectionModelLearningRate };
        var schedule = CommonOptions.Schedule(TrainingOptions.ForDetection().Schedule);
        var channelsFirst = ChannelsFirstOption();
        var float32 = CommonOptions.Float32();
        var width = new Option<int>("--width") { Description = "ResNet-18 width", DefaultValueFactory = _ => 16 };
        var imageSize = new ImageSizeOption();
        var seed = CommonOptions.Seed();
        var command = new Command("detection", "Poison, train, measure BA/ASR and detect with both representations, per attack and mode")
        {
            train, test, output, attacks, modes, clean, rate, limit, testLimit, epochs, learningRate, schedule, channelsFirst, float32, width, imageSize.Option, seed,
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
                ImageSize = imageSize.Read(parse),
                Rate = parse.GetValue(rate),
                Training = TrainingOptions.ForDetection() with { Width = parse.GetValue(width), Epochs = parse.GetValue(epochs), LearningRate = parse.GetValue(learningRate), Schedule = LearningRateSchedules.Parse(parse.GetValue(schedule)!), ChannelsLast = !parse.GetValue(channelsFirst), BFloat16Convolutions = !parse.GetValue(float32) },
                Seed = parse.GetValue(seed),
            };
            var folder = OutputPaths.CheckNotInputs(parse.GetValue(output)!, "--out", [new(settings.TrainData, "--train"), new(settings.TestData, "--test")]);
            Directory.CreateDirectory(folder);
            var outcomes = new List<ExperimentOutcome>();
            ProgressDisplay.Run(progress =>
            {
                var cleanTrain = CommonOptions.LoadImages(progress, settings.TrainData, settings.TrainLimit, "training images", settings.ImageSize);
                var cleanTest = CommonOptions.LoadImages(progress, settings.TestData, settings.TestLimit, "test images", settings.ImageSize);
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

    private static Option<bool> ChannelsFirstOption() =>
        new("--channels-first") { Description = "Train channels-first (the layout of docs/results.md's grid, before channels-last became the default), for A/B runs" };

    private static IEnumerable<string> Split(string list) =>
        list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static void WriteTables(string folder, IReadOnlyList<ExperimentOutcome> outcomes)
    {
        File.WriteAllText(Path.Combine(folder, "results.md"), ExperimentTable.Markdown(outcomes));
        File.WriteAllText(Path.Combine(folder, "results.json"), System.Text.Json.JsonSerializer.Serialize(outcomes, ExperimentTable.Json));
    }

    private static Command Purify()
    {
        var data = CommonOptions.RequiredPath("--data", "Images to purify (e.g. a poisoned folder written by flare poison)");
        var limit = new Option<int>("--limit") { Description = "Images (class-balanced subset)", DefaultValueFactory = _ => 10_000 };
        var epochs = new Option<int>("--epochs") { Description = "Flare's training epochs (purify's default otherwise)", DefaultValueFactory = _ => TrainingOptions.DetectionModelEpochs };
        var peerEpochs = new Option<int>("--peer-epochs") { Description = "The peer's training epochs (the authors' pipeline as issue 12 measured it otherwise)", DefaultValueFactory = _ => PurifyBenchmark.PeerEpochs };
        var width = new Option<int>("--width") { Description = "ResNet-18 width", DefaultValueFactory = _ => 16 };
        var float32 = CommonOptions.Float32();
        var peer = new Option<string>("--peer") { Description = "The PyTorch peer script", DefaultValueFactory = _ => Path.Combine("bench", "pytorch_purify.py") };
        var python = new Option<string>("--python") { Description = "Python with torch and umap-learn (Debian: python3-torch, umap-learn)", DefaultValueFactory = _ => "/usr/bin/python3" };
        var seed = CommonOptions.Seed();
        var json = CommonOptions.Json();
        var command = new Command("purify", "Time purify's stages in Flare and in the PyTorch peer on the same images, one after the other, with the ratio per stage")
        {
            data, limit, epochs, peerEpochs, width, float32, peer, python, seed, json,
        };
        command.SetAction(parse => CommandRunner.Run(() =>
        {
            if (parse.GetValue(peerEpochs) <= 0) throw new FlareException($"--peer-epochs must be positive, got {parse.GetValue(peerEpochs)}");
            var peerScript = parse.GetValue(peer)!;
            if (!File.Exists(peerScript)) throw new FlareException($"--peer: {peerScript} not found (run from the repository root or pass the script's path)");
            var training = TrainingOptions.ForDetection(parse.GetValue(seed)) with { Width = parse.GetValue(width), Epochs = parse.GetValue(epochs), BFloat16Convolutions = !parse.GetValue(float32) };
            training.Validate();
            var peerTraining = training with { Epochs = parse.GetValue(peerEpochs) };
            var peerInput = Path.Combine(Path.GetTempPath(), $"flare-peer-{Environment.ProcessId}.bin");
            try
            {
                var (images, flare) = ProgressDisplay.Run(progress =>
                {
                    var images = CommonOptions.LoadImages(progress, parse.GetValue(data)!, parse.GetValue(limit), "images");
                    PurifyBenchmark.WritePeerInput(images, peerInput);
                    return (images, PurifyBenchmark.Run(images, training, new Flare.Detection.DetectionOptions(), progress));
                });
                var (peerName, pytorch) = PurifyPeer.Run(parse.GetValue(python)!, peerScript, peerInput, peerTraining);
                var rows = new (string Stage, double Flare, double? Peer)[]
                {
                    ("training", flare.Training, pytorch.Training),
                    ("extraction", flare.Extraction, pytorch.Extraction),
                    ("embedding (UMAP, all features)", flare.Embedding, pytorch.Embedding),
                    ("train + extract + embed", flare.Training + flare.Extraction + flare.Embedding, pytorch.Training + pytorch.Extraction + pytorch.Embedding),
                    ("subspace search (Flare only)", flare.Search ?? 0, null),
                    // What each user waits for: Flare's whole search against the peer's one embedding.
                    ("end to end", flare.Training + flare.Extraction + (flare.Search ?? 0), pytorch.Training + pytorch.Extraction + pytorch.Embedding),
                };
                if (parse.GetValue(json))
                    CommandOutput.WriteJson(new { Images = images.Count, Epochs = training.Epochs, PeerEpochs = peerTraining.Epochs, Peer = peerName, Flare = flare, PyTorch = pytorch, Stages = rows.Select(r => new { r.Stage, r.Flare, r.Peer, Ratio = r.Flare / r.Peer }) });
                else
                {
                    Console.WriteLine($"{images.Count} images, width {training.Width}; Flare {training.Epochs} epochs, peer ({peerName}) {peerTraining.Epochs} epochs");
                    Console.WriteLine($"{"stage",-32} {"Flare s",9} {"PyTorch s",10} {"ratio",6}");
                    foreach (var (stage, flareSeconds, peerSeconds) in rows)
                        Console.WriteLine($"{stage,-32} {flareSeconds,9:F1} {(peerSeconds is { } p ? p.ToString("F1") : "-"),10} {(peerSeconds is { } q ? (flareSeconds / q).ToString("F2") + "x" : ""),6}");
                    Console.WriteLine($"training images/s: Flare {flare.TrainImagesPerSecond:F0}, PyTorch {pytorch.TrainImagesPerSecond:F0}; train accuracy (last epoch): Flare {flare.TrainAccuracy:P1}, PyTorch {pytorch.TrainAccuracy:P1}");
                }
            }
            finally
            {
                File.Delete(peerInput);
            }
            return 0;
        }));
        return command;
    }

    private static Command Training()
    {
        var data = CommonOptions.RequiredPath("--data", "Training images (e.g. ../shared/data/cifar10/train)");
        var limit = new Option<int>("--limit") { Description = "Training images (class-balanced subset)", DefaultValueFactory = _ => 5_000 };
        var epochs = new Option<int>("--epochs") { Description = "Training epochs (flip augmentation, the purify recipe)", DefaultValueFactory = _ => 1 };
        var width = new Option<int>("--width") { Description = "ResNet-18 width", DefaultValueFactory = _ => 16 };
        var channelsFirst = ChannelsFirstOption();
        var float32 = CommonOptions.Float32();
        var seed = CommonOptions.Seed();
        var json = CommonOptions.Json();
        var command = new Command("training", "Time each part of the training step on real images; prints the weights' digest to check determinism")
        {
            data, limit, epochs, width, channelsFirst, float32, seed, json,
        };
        command.SetAction(parse => CommandRunner.Run(() =>
        {
            var options = TrainingOptions.ForDetection(parse.GetValue(seed)) with { Width = parse.GetValue(width), Epochs = parse.GetValue(epochs), ChannelsLast = !parse.GetValue(channelsFirst), BFloat16Convolutions = !parse.GetValue(float32) };
            var profile = new TrainingProfile();
            var result = ProgressDisplay.Run(progress =>
            {
                var images = CommonOptions.LoadImages(progress, parse.GetValue(data)!, parse.GetValue(limit), "training images");
                return Trainer.Train(images, options, progress, profile: profile);
            });
            using var model = result.Model;
            var summary = new
            {
                Images = profile.Images,
                Steps = profile.Steps,
                ImagesPerSecond = profile.Images / result.History.Sum(h => h.Seconds),
                Loss = result.History[^1].Loss,
                Accuracy = result.History[^1].Accuracy,
                WeightDigest = WeightDigest.Of(model),
                Parts = profile.Breakdown().Select(p => new { Part = p.Part.ToString(), p.MillisecondsPerStep, p.Share }).ToList(),
            };
            if (parse.GetValue(json)) CommandOutput.WriteJson(summary);
            else
            {
                foreach (var part in summary.Parts)
                    Console.WriteLine($"{part.Part,-10} {part.MillisecondsPerStep,8:F2} ms/step {part.Share,7:P1}");
                Console.WriteLine($"{summary.Steps} steps, {summary.ImagesPerSecond:F0} images/s, last-epoch loss {summary.Loss:R}, accuracy {summary.Accuracy:P2}");
                Console.WriteLine($"weights sha256 {summary.WeightDigest}");
            }
            return 0;
        }));
        return command;
    }

    private static Command Throughput()
    {
        var model = new Option<string>("--model") { DefaultValueFactory = _ => "resnet18", Description = "Architecture" };
        var widths = new Option<int[]>("--width") { DefaultValueFactory = _ => [16, 64], Description = "Widths to measure", AllowMultipleArgumentsPerToken = true };
        var batch = new Option<int>("--batch") { DefaultValueFactory = _ => 128, Description = "Batch size" };
        var steps = new Option<int>("--steps") { DefaultValueFactory = _ => 20, Description = "Timed training steps (inference: 3x as many)" };
        var layouts = new Option<string>("--layouts") { DefaultValueFactory = _ => "channels-first,channels-last", Description = "Memory layouts to measure, taking turns step by step: channels-first, channels-last" };
        var json = CommonOptions.Json();
        var command = new Command("throughput", "Training and inference images/s on random 32x32 inputs") { model, widths, batch, steps, layouts, json };
        command.SetAction(parse => CommandRunner.Run(() =>
        {
            var chosen = Split(parse.GetValue(layouts)!).Select(ParseLayout).ToList();
            var results = new List<ThroughputResult>();
            foreach (var width in parse.GetValue(widths)!)
            {
                var steps1 = parse.GetValue(steps);
                // Wide models are ~12x slower per image: fewer steps keep the run short.
                var scaledSteps = width > 32 ? Math.Max(3, steps1 / 4) : steps1;
                foreach (var result in ThroughputBenchmark.Measure(parse.GetValue(model)!, width, parse.GetValue(batch), scaledSteps, 3 * scaledSteps, chosen))
                {
                    results.Add(result);
                    if (!parse.GetValue(json))
                        Console.WriteLine($"{result.Model} width {result.Width} batch {result.BatchSize} threads {result.Threads} {result.Layout}: train {result.TrainImagesPerSecond:F0} img/s, infer {result.InferImagesPerSecond:F0} img/s");
                }
            }
            if (parse.GetValue(json)) CommandOutput.WriteJson(results);
            return 0;
        }));
        return command;
    }

    private static BatchLayout ParseLayout(string name) => name.ToLowerInvariant() switch
    {
        "channels-first" => BatchLayout.ChannelsFirst,
        "channels-last" => BatchLayout.ChannelsLast,
        _ => throw new FlareException($"unknown --layouts entry '{name}' (known: channels-first, channels-last)"),
    };
}
