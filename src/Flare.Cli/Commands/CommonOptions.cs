using System.CommandLine;
using Flare.Data;
using Flare.Progress;
using Flare.Training;

namespace Flare.Cli.Commands;

/// <summary>Options several commands share, declared once so names and help stay consistent.</summary>
internal static class CommonOptions
{
    public static Option<string> RequiredPath(string name, string description) =>
        new(name) { Description = description, Required = true };

    public static Option<bool> Json() =>
        new("--json") { Description = "Print one JSON object on standard output instead of text" };

    /// <summary>--float32: train with float32 convolutions even where the CPU multiplies bfloat16 natively.</summary>
    public static Option<bool> Float32() =>
        new("--float32") { Description = "Convolve in float32 while training even where the CPU multiplies bfloat16 natively (the default there: faster; the checkpoint records which); for the same model on machines with and without bfloat16" };

    /// <summary>--schedule: the learning-rate schedule, by name.</summary>
    public static Option<string> Schedule(LearningRateSchedule defaultValue) =>
        new("--schedule") { Description = "Learning-rate schedule: cosine (to 0 from --lr) or one-cycle (peaking at --lr)", DefaultValueFactory = _ => defaultValue.ToName() };

    public static Option<ulong> Seed(ulong defaultValue = 0) =>
        new("--seed") { Description = "Seed for every random step", DefaultValueFactory = _ => defaultValue };

    public static Option<bool> Force() =>
        new("--force") { Description = "Replace an existing output file (never an input)" };

    public static Option<int?> Limit() =>
        new("--limit") { Description = "Use a deterministic class-balanced subset of N images" };

    /// <summary>Reads an image folder (or CIFAR binary batches) with a progress stage.</summary>
    public static ImageSet LoadImages(IProgressSink progress, string path, int? limit, string what, int? imageSize = null)
    {
        var total = EstimateCount(path, limit);
        using var stage = progress.Begin($"reading {what}", total);
        return ImageSource.Load(path, limit, new SynchronousProgress(stage), imageSize);
    }

    private static long EstimateCount(string path, int? limit)
    {
        if (!Directory.Exists(path)) return 1;
        var count = Directory.EnumerateDirectories(path).Sum(d => (long)Directory.EnumerateFiles(d).Count());
        return limit is { } n ? Math.Min(n, count) : Math.Max(count, 1);
    }
}

/// <summary>
/// --image-size, read once where a command starts and handed to every image folder the command
/// reads (training, test and clean images alike), so that all of them reach the model at one size.
/// </summary>
internal sealed class ImageSizeOption
{
    public Option<int?> Option { get; } = new("--image-size") { Description = "Scale (shorter side) and centre-crop every image to N x N; needed when the images differ in size" };

    public int? Read(ParseResult parse) => ImageSource.CheckImageSize(parse.GetValue(Option));
}
