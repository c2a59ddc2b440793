using System.CommandLine;
using Flare.Attacks;
using Flare.Mitigation;
using Flare.Progress;
using Flare.Training;

namespace Flare.Cli.Commands;

/// <summary>
/// FLARE (R)'s recipe options. purify names them --unlearn-epochs etc. beside its training
/// options; flare unlearn, where they are the only recipe, names them --epochs etc.
/// </summary>
internal sealed class UnlearningOptionSet(string prefix)
{
    private readonly Option<int> epochs = new($"{prefix}epochs") { Description = "Unlearning epochs (each: one ascent pass over the flagged samples, one descent pass over the rest)", DefaultValueFactory = _ => UnlearningOptions.Defaults.Epochs };
    private readonly Option<double> lr = new($"{prefix}lr") { Description = $"Unlearning learning rate (SGD; with {prefix}schedule cosine, the first epoch's)", DefaultValueFactory = _ => UnlearningOptions.Defaults.LearningRate };
    private readonly Option<string> schedule = new($"{prefix}schedule") { Description = "Unlearning learning rate over the epochs: constant, or cosine (towards 0)", DefaultValueFactory = _ => UnlearningOptions.Defaults.Schedule.ToName() };
    private readonly Option<double> bound = new($"{prefix}bound") { Description = "Collapse guard: flagged-sample cross-entropy bound", DefaultValueFactory = _ => UnlearningOptions.Defaults.LossBound };
    private readonly Option<string> guard = new($"{prefix}guard") { Description = "At the bound: clip (samples above it give no ascent gradient) or stop (no further ascent)", DefaultValueFactory = _ => UnlearningOptions.Defaults.Guard.ToName() };

    public IEnumerable<Option> Options => [epochs, lr, schedule, bound, guard];

    public UnlearningOptions Read(ParseResult parse, ulong seed, int batchSize = UnlearningOptions.Defaults.BatchSize)
    {
        var options = new UnlearningOptions
        {
            Epochs = parse.GetValue(epochs),
            LearningRate = parse.GetValue(lr),
            LossBound = parse.GetValue(bound),
            Guard = CollapseGuardNames.Parse(parse.GetValue(guard)!),
            Schedule = UnlearningScheduleNames.Parse(parse.GetValue(schedule)!, $"{prefix}schedule"),
            BatchSize = batchSize,
            Seed = seed,
        };
        options.Validate(prefix);
        return options;
    }
}

/// <summary>--test, --test-limit and --attack: where BA and ASR before and after mitigation are measured.</summary>
internal sealed class BackdoorTestOptionSet
{
    private readonly Option<string?> test = new("--test") { Description = "Clean test images: report benign accuracy (BA) before and after" };
    private readonly Option<int?> testLimit = new("--test-limit") { Description = "Use a class-balanced subset of N test images" };
    private readonly Option<string?> attack = new("--attack") { Description = "Output folder of flare poison: also report the attack success rate (ASR) before and after (needs --test)" };

    public IEnumerable<Option> Options => [test, testLimit, attack];

    /// <summary>Checks the options before any long work starts.</summary>
    public void Validate(ParseResult parse)
    {
        if (parse.GetValue(attack) is { } a && parse.GetValue(test) is null) throw new FlareException("--attack needs --test (the clean test images to trigger)");
        if (parse.GetValue(attack) is { } folder) AttackRecord.Read(folder);
        if (parse.GetValue(test) is { } t && !Directory.Exists(t) && !File.Exists(t)) throw new FlareException($"--test: {t} not found");
    }

    public string? TestPath(ParseResult parse) => parse.GetValue(test);

    /// <summary>The test set, or null without --test; its classes and image size must be those of the training images.</summary>
    public BackdoorTest? Load(ParseResult parse, IReadOnlyList<string> classNames, int height, int width, int? imageSize, IProgressSink progress)
    {
        if (parse.GetValue(test) is not { } path) return null;
        var images = CommonOptions.LoadImages(progress, path, parse.GetValue(testLimit), "test images", imageSize);
        if (!images.ClassNames.SequenceEqual(classNames))
            throw new FlareException($"{path}: test classes [{string.Join(", ", images.ClassNames)}] differ from the model's [{string.Join(", ", classNames)}]");
        if (images.Height != height || images.Width != width)
            throw new FlareException($"{path}: test images are {images.Width}x{images.Height}, the model's {width}x{height}");
        return new BackdoorTest(images, parse.GetValue(attack));
    }
}
