using System.CommandLine;
using Flare.Attacks;
using Flare.Cli.Terminal;
using Flare.Data;
using Flare.IO;

namespace Flare.Cli.Commands;

internal static class PoisonCommand
{
    public static Command Create()
    {
        var data = CommonOptions.RequiredPath("--data", "Clean training images: a folder with one sub-folder per class, or CIFAR-10 binary batches (never modified)");
        var attack = new Option<string?>("--attack")
        {
            Description = $"Attack: {string.Join(", ", AttackRegistry.All.Select(a => a.Name))} (required unless --trigger-from is given; with it, optional and, if given, the recorded attack)",
        };
        var mode = new Option<string?>("--mode")
        {
            Description = "Label mode: a2o (y -> target), a2a (y -> y + 1 mod K), ut (y -> random other label); required unless --trigger-from is given (then the recorded mode and target)",
        };
        var target = new Option<string?>("--target") { Description = "Target class of an a2o attack: a class name or index (default 0; with --trigger-from and no --mode, the recorded one)" };
        var rate = new Option<double>("--rate") { Description = "Poisoning rate: round(rate x N) images are poisoned", DefaultValueFactory = _ => 0.1 };
        var coverRate = new Option<double?>("--cover-rate")
        {
            Description = $"Cover rate, for attacks with cover samples (default: wanet {WaNet.DefaultCoverRate}, adaptive-patch {AdaptivePatch.CoverToPoisonRatio} x rate, iad {Iad.Defaults.CrossToPoisonRatio} x rate)",
        };
        var surrogateEpochs = new Option<int?>("--surrogate-epochs")
        {
            Description = $"Learned attacks: epochs of the surrogate model trained on the clean data (siba, lc; default {SurrogateOptions.Defaults.Epochs}) or of the classifier trained jointly with the trigger generators (iad; default {Iad.Defaults.JointEpochs})",
        };
        var triggerFrom = new Option<string?>("--trigger-from")
        {
            Description = "Learned attacks (siba, issba, iad): reuse the trained trigger of an earlier flare poison output folder (or its attack.json) instead of training it; "
                + "this run's --seed, --rate, --mode and --target still choose the samples, labels and file names. siba and iad: the recorded --mode, --target and classes only; "
                + "issba: any mode; lc cannot be reused. Same image size; no --surrogate-epochs",
        };
        var seed = CommonOptions.Seed();
        var limit = CommonOptions.Limit();
        var imageSize = new ImageSizeOption();
        var test = new Option<string?>("--test") { Description = "Test images: also write OUT/test-poisoned, the triggered copies of every test image the attack targets" };
        var testLimit = new Option<int?>("--test-limit") { Description = "Use a deterministic class-balanced subset of N test images" };
        var output = CommonOptions.RequiredPath("--out", "New output folder: train/, manifest.csv, attack.json, trigger pictures");
        var json = CommonOptions.Json();
        var command = new Command("poison", "Write a poisoned copy of an image folder with ground truth (manifest.csv, attack.json)")
        {
            data, attack, mode, target, rate, coverRate, surrogateEpochs, triggerFrom, seed, limit, imageSize.Option, test, testLimit, output, json,
        };
        command.SetAction(parse => CommandRunner.Run(() =>
        {
            var source = parse.GetValue(triggerFrom) is { } from ? TriggerSource.Read(from) : null;
            var recorded = parse.GetValue(mode) is null ? source?.Record : null; // no --mode: the source's mode and target
            var options = new PoisonOptions
            {
                Attack = parse.GetValue(attack) ?? source?.Record.Attack
                    ?? throw new FlareException("--attack is required (or --trigger-from, an earlier output folder of a learned attack)"),
                Mode = parse.GetValue(mode) ?? recorded?.Mode
                    ?? throw new FlareException("--mode is required: a2o, a2a or ut (or --trigger-from, whose recorded mode is then used)"),
                Target = parse.GetValue(target) ?? recorded?.Target?.ToString(System.Globalization.CultureInfo.InvariantCulture),
                Rate = parse.GetValue(rate),
                CoverRate = parse.GetValue(coverRate),
                Seed = parse.GetValue(seed),
                Surrogate = parse.GetValue(surrogateEpochs) is { } epochs ? new SurrogateOptions { Epochs = epochs } : null,
                TriggerFrom = source,
            };
            options.Validate();
            if (parse.GetValue(testLimit) is <= 0) throw new FlareException($"--test-limit must be positive, got {parse.GetValue(testLimit)}");
            var testPath = parse.GetValue(test);
            var size = imageSize.Read(parse);
            if (testPath is null && parse.GetValue(testLimit) is not null) throw new FlareException("--test-limit needs --test");
            var clock = System.Diagnostics.Stopwatch.StartNew();
            using var folder = OutputFolder.Create(parse.GetValue(output)!, "--out", new InputPath(parse.GetValue(data), "--data"), new InputPath(testPath, "--test"));

            var (record, poisoned) = ProgressDisplay.Run(progress =>
            {
                var train = CommonOptions.LoadImages(progress, parse.GetValue(data)!, parse.GetValue(limit), "training images", size);
                var testImages = testPath is null ? null : CommonOptions.LoadImages(progress, testPath, parse.GetValue(testLimit), "test images", size);
                var set = Poisoner.Poison(train, options, progress);
                return (Poisoner.Write(folder, set, testImages, progress, parse.GetValue(limit), parse.GetValue(testLimit)), set);
            });

            var summary = new
            {
                Output = folder.Target,
                record.Attack,
                record.Mode,
                record.Target,
                record.TargetClass,
                record.Rate,
                record.CoverRate,
                record.Seed,
                record.TrainSamples,
                record.PoisonedSamples,
                record.CoverSamples,
                record.TestPoisonedSamples,
                Artifacts = record.Artifacts?.Keys,
                record.TriggerFrom,
                Seconds = clock.Elapsed.TotalSeconds,
            };
            if (parse.GetValue(json)) CommandOutput.WriteJson(summary);
            else
            {
                Console.WriteLine($"output          {folder.Target}");
                Console.WriteLine($"attack          {record.Attack}, {poisoned.Mode.Describe(record.ClassNames)}, seed {record.Seed}");
                Console.WriteLine($"poisoned        {record.PoisonedSamples} of {record.TrainSamples} images (rate {record.Rate})");
                if (record.CoverSamples > 0) Console.WriteLine($"cover           {record.CoverSamples} images keep their labels (cover rate {record.CoverRate})");
                if (record.TriggerFrom is { } origin) Console.WriteLine($"trigger         reused from {origin.Path} (nothing trained)");
                if (record.Artifacts is { Count: > 0 } artifacts) Console.WriteLine($"artifacts       {string.Join(", ", artifacts.Keys)} (flare eval --attack loads the trigger from them)");
                if (record.TestPoisonedSamples is { } n) Console.WriteLine($"test-poisoned   {n} triggered test images");
                Console.WriteLine($"time            {clock.Elapsed:hh\\:mm\\:ss}");
            }
            return 0;
        }));
        return command;
    }
}
