using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Flare.Cli.Terminal;
using Flare.Data;
using Flare.Detection;
using Flare.Detection.Baselines;
using Flare.Experiments;
using Flare.IO;
using Flare.Reporting;
using Flare.Training;

namespace Flare.Cli.Commands;

internal static class CompareCommand
{
    /// <summary>Clean reserve images taken from --clean: the 2,000 the baselines' papers use.</summary>
    private const int DefaultCleanLimit = 2000;

    public static Command Create()
    {
        var data = CommonOptions.RequiredPath("--data", "The suspicious training images (one sub-folder per class)");
        var model = new Option<string?>("--model") { Description = "Checkpoint of a model trained on these images (default: train one with purify's recipe)" };
        var clean = new Option<string?>("--clean") { Description = "Clean reserve images with the same classes and size (e.g. the test folder); needed by ibd-psc and ct" };
        var cleanLimit = new Option<int>("--clean-limit") { Description = "Use a class-balanced subset of this many clean images", DefaultValueFactory = _ => DefaultCleanLimit };
        var detectors = new Option<string?>("--detectors") { Description = $"Comma-separated detectors (default: all): {string.Join(", ", DetectorRegistry.All.Select(s => s.Name))}" };
        var output = CommonOptions.RequiredPath("--out", "New folder for comparison.md/json/png and each detector's suspicious.csv");
        var poisonRate = new Option<double>("--poison-rate") { Description = "Poison rate epsilon assumed by ss and spectre (they remove 1.5 epsilon of each label)", DefaultValueFactory = _ => DetectorInputDefaults.PoisonRate };
        var mspcEpochs = new Option<int>("--mspc-epochs") { Description = "MSPC mask epochs per round (authors: 10)", DefaultValueFactory = _ => new MspcSchedule().InnerEpochs };
        var mspcRounds = new Option<int>("--mspc-rounds") { Description = "MSPC outer rounds (authors: 4)", DefaultValueFactory = _ => new MspcSchedule().OuterRounds };
        var mspcSamples = new Option<int?>("--mspc-samples") { Description = $"MSPC mask optimised on this many sampled images (default {new MspcSchedule().MaskSamples}; 0: all, the authors')" };
        var ctIterations = new Option<int>("--ct-iterations") { Description = "Confusion Training iterations per round (reference: 6,000 / 2,000)", DefaultValueFactory = _ => ConfusionTraining.Defaults.ConfusionIterations };
        var ctPretrainEpochs = new Option<int>("--ct-pretrain-epochs") { Description = "Confusion Training epochs on the distilled set per round (reference: 40)", DefaultValueFactory = _ => ConfusionTraining.Defaults.PretrainEpochs };
        var seed = CommonOptions.Seed();
        var limit = CommonOptions.Limit();
        var imageSize = new ImageSizeOption();
        var json = CommonOptions.Json();
        var detection = new DetectionOptionSet();
        var command = new Command("compare", "Run FLARE and baseline detectors on one model and data set and compare them")
        {
            data, model, clean, cleanLimit, detectors, output, poisonRate, mspcEpochs, mspcRounds, mspcSamples, ctIterations, ctPretrainEpochs, seed, limit, imageSize.Option, json,
        };
        detection.AddTo(command);
        command.SetAction(parse => CommandRunner.Run(() =>
        {
            var specs = DetectorRegistry.Parse(parse.GetValue(detectors));
            var cleanPath = parse.GetValue(clean);
            DetectorComparison.EnsureCleanData(specs, cleanPath is not null);
            if (cleanPath is not null && !Directory.Exists(cleanPath)) throw new FlareException($"--clean: {cleanPath} is not a folder");
            if (parse.GetValue(cleanLimit) < 1) throw new FlareException($"--clean-limit must be positive, got {parse.GetValue(cleanLimit)}");
            var samples = parse.GetValue(mspcSamples);
            var settings = new DetectorSettings
            {
                Flare = detection.Read(parse),
                Mspc = new MspcSchedule { InnerEpochs = parse.GetValue(mspcEpochs), OuterRounds = parse.GetValue(mspcRounds), MaskSamples = samples == 0 ? null : samples ?? new MspcSchedule().MaskSamples },
                ConfusionTraining = new ConfusionTrainingSchedule { ConfusionIterations = parse.GetValue(ctIterations), PretrainEpochs = parse.GetValue(ctPretrainEpochs) },
            };
            settings.Mspc.Validate();
            settings.ConfusionTraining.Validate();
            var rate = parse.GetValue(poisonRate);
            var size = imageSize.Read(parse);
            DetectorComparison.ValidatePoisonRate(rate);
            var dataPath = parse.GetValue(data)!;
            var modelPath = parse.GetValue(model);
            var metadata = modelPath is null ? null : Checkpoint.ReadMetadata(modelPath);
            using var folder = OutputFolder.Create(parse.GetValue(output)!, "--out", new InputPath(dataPath, "--data"), new InputPath(modelPath, "--model"), new InputPath(cleanPath, "--clean"));
            var run = ProgressDisplay.Run(progress =>
            {
                var images = CommonOptions.LoadImages(progress, dataPath, parse.GetValue(limit), "images", size);
                if (metadata is not null) Evaluator.EnsureCompatible(images, metadata, dataPath);
                var poisoned = GroundTruth.ForImages(images, dataPath);
                ImageSet? cleanImages = null;
                if (cleanPath is not null)
                {
                    cleanImages = CommonOptions.LoadImages(progress, cleanPath, parse.GetValue(cleanLimit), "clean images", size);
                    DetectorComparison.EnsureCleanMatches(cleanImages, images, $"--clean {cleanPath}");
                }
                var trainingSeconds = 0.0;
                Models.ImageClassifier classifier;
                var usedModelPath = modelPath;
                if (modelPath is null)
                {
                    var clock = Stopwatch.StartNew();
                    var training = TrainingOptions.ForDetection(parse.GetValue(seed));
                    var trained = Trainer.Train(images, training, progress, Path.GetFullPath(dataPath));
                    trainingSeconds = clock.Elapsed.TotalSeconds;
                    Checkpoint.Save(folder.File("model.ckpt"), trained.Model, trained.Metadata);
                    (classifier, metadata) = (trained.Model, trained.Metadata);
                    usedModelPath = Path.Combine(folder.Target, "model.ckpt");
                }
                else
                {
                    classifier = Checkpoint.Load(modelPath).Model;
                }
                using (classifier)
                {
                    var evidence = new ModelEvidence(classifier, metadata!, images);
                    var result = DetectorComparison.Run(evidence, specs, settings, cleanImages, parse.GetValue(seed), rate, poisoned, progress);
                    var comparison = new ComparisonRun
                    {
                        Images = images, DataPath = dataPath, Model = metadata!, ModelPath = usedModelPath!, ModelTrained = modelPath is null,
                        CleanPath = cleanPath, CleanCount = cleanImages?.Count, Seed = parse.GetValue(seed), PoisonRate = rate,
                        TrainingSeconds = trainingSeconds, Poisoned = poisoned, Result = result,
                    };
                    ComparisonReport.Write(folder.Path, comparison);
                    return comparison;
                }
            });
            folder.Commit();
            if (parse.GetValue(json))
            {
                CommandOutput.WriteJson(new { Output = folder.Target, Comparison = ComparisonReport.Summary(run) });
                return 0;
            }
            Console.WriteLine($"{"detector",-10} {"flagged",8} {"TPR",8} {"FPR",8} {"time",9}");
            foreach (var d in run.Result.Runs)
            {
                var tpr = d.Metrics?.TruePositiveRate is { } t ? (100 * t).ToString("F2", CultureInfo.InvariantCulture) : "-";
                var fpr = d.Metrics is { } m ? (100 * m.FalsePositiveRate).ToString("F2", CultureInfo.InvariantCulture) : "-";
                Console.WriteLine($"{d.Spec.Name,-10} {d.Outcome.FlaggedCount,8} {tpr,8} {fpr,8} {d.Seconds,7:F1} s");
            }
            Console.WriteLine($"report     {Path.Combine(folder.Target, ComparisonReport.MarkdownFile)}");
            return 0;
        }));
        return command;
    }
}
