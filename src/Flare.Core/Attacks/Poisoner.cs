using Flare.Data;
using Flare.IO;
using Flare.Progress;

namespace Flare.Attacks;

/// <summary>What to poison with: the attack, the label mode and the rates.</summary>
public sealed record PoisonOptions
{
    public required string Attack { get; init; }

    /// <summary>a2o, a2a or ut.</summary>
    public required string Mode { get; init; }

    /// <summary>The all-to-one target: a class name or index; null = class 0. Only for a2o.</summary>
    public string? Target { get; init; }

    public double Rate { get; init; } = 0.1;

    /// <summary>The share of cover samples; null = the attack's default.</summary>
    public double? CoverRate { get; init; }

    public ulong Seed { get; init; }

    /// <summary>The surrogate recipe of a learned attack; null = the defaults (<see cref="SurrogateOptions.Defaults"/>). Pattern attacks refuse it.</summary>
    public SurrogateOptions? Surrogate { get; init; }

    /// <summary>A learned attack's trained trigger from an earlier run, used instead of training it again; null = build the attack.</summary>
    public TriggerSource? TriggerFrom { get; init; }

    /// <summary>Checks everything that does not need the data: one line per problem, naming the option.</summary>
    public void Validate()
    {
        var spec = AttackRegistry.Get(Attack);
        var kind = LabelMode.ParseKind(Mode);
        TriggerFrom?.Validate(this, spec);
        if (!spec.Supports(kind))
            throw new FlareException($"--mode {Mode}: {spec.Name} supports only {string.Join(", ", spec.Learned!.Modes.Select(LabelMode.NameOf))}{(spec.Learned.CleanLabel ? " (a clean-label attack: it poisons target-class images and keeps their labels)" : "")}");
        if (Surrogate is not null)
        {
            if (spec.Learned is null) throw new FlareException($"--surrogate-epochs: {spec.Name} is a pattern attack and trains no surrogate");
            if (!spec.Learned.TrainsSurrogate) throw new FlareException($"--surrogate-epochs: {spec.Name} trains no surrogate (its encoder's schedule is fixed, docs/attacks.md)");
            Surrogate.Validate();
        }
        if (Target is not null && kind != LabelModeKind.AllToOne)
            throw new FlareException($"--target is only used with --mode a2o (the {Mode} mode chooses labels itself)");
        if (!(Rate > 0 && Rate < 1)) throw new FlareException($"--rate must be in (0, 1), got {Rate}");
        if (CoverRate is { } cover)
        {
            if (!(cover >= 0 && cover < 1)) throw new FlareException($"--cover-rate must be in [0, 1), got {cover}");
            if (cover > 0 && !spec.UsesCoverSamples)
                throw new FlareException($"--cover-rate: {spec.Name} has no cover samples (those with cover samples: {string.Join(", ", AttackRegistry.All.Where(s => s.UsesCoverSamples).Select(s => s.Name))})");
        }
        var effectiveCover = EffectiveCoverRate(spec);
        // A tolerance for sums like 0.9 + 0.1 that land a rounding error above 1.
        if (Rate + effectiveCover > 1 + 1e-12)
            throw new FlareException($"--rate {Rate} plus --cover-rate {effectiveCover}{(CoverRate is null ? $" ({spec.Name}'s default)" : "")} exceeds 1");
    }

    /// <summary>The cover rate given, or the attack's default (0 for attacks without cover samples).</summary>
    public double EffectiveCoverRate(AttackSpec spec) => CoverRate ?? spec.DefaultCoverRate?.Invoke(Rate) ?? 0;
}

/// <summary>
/// Which samples are poisoned and which are cover, in selection order (the order triggers and
/// untargeted labels are drawn in), the label every sample ends up with, and the file number
/// every sample is written under.
/// </summary>
public sealed record PoisonPlan(int[] Poisoned, int[] Cover, int[] Labels, int[] FileNumbers);

/// <summary>A poisoned training set in memory: the images (triggers applied, labels assigned) and how they were made.</summary>
public sealed class PoisonedSet
{
    internal PoisonedSet(ImageSet images, int[] originalLabels, IBackdoorAttack attack, LabelMode mode, PoisonPlan plan, PoisonOptions options, double coverRate)
    {
        Images = images;
        OriginalLabels = originalLabels;
        Attack = attack;
        Mode = mode;
        Plan = plan;
        Options = options;
        CoverRate = coverRate;
        var digits = Math.Max(5, (images.Count - 1).ToString().Length);
        FileNames = plan.FileNumbers.Select(n => n.ToString($"D{digits}") + ".png").ToArray();
    }

    /// <summary>The poisoned set in source order; labels are the assigned ones, source paths the originals.</summary>
    public ImageSet Images { get; }

    public int[] OriginalLabels { get; }
    public IBackdoorAttack Attack { get; }
    public LabelMode Mode { get; }
    public PoisonPlan Plan { get; }
    public PoisonOptions Options { get; }
    public double CoverRate { get; }

    /// <summary>Every sample's file name in its class folder: numbers over a seeded shuffle of the whole set, so names tell nothing.</summary>
    public string[] FileNames { get; }

    /// <summary>The manifest rows, sorted by path (the order an image folder reader lists them in).</summary>
    public PoisonManifest Manifest()
    {
        var poisoned = new HashSet<int>(Plan.Poisoned);
        var cover = new HashSet<int>(Plan.Cover);
        var names = Images.ClassNames;
        var entries = Enumerable.Range(0, Images.Count)
            .Select(i => new PoisonManifestEntry(
                $"{names[Images.Labels[i]]}/{FileNames[i]}",
                names[Images.Labels[i]],
                names[OriginalLabels[i]],
                PoisonManifest.NormalizePath(Images.SourcePaths[i]),
                poisoned.Contains(i),
                cover.Contains(i)))
            .OrderBy(e => e.Path, StringComparer.Ordinal);
        return new PoisonManifest(entries);
    }
}

/// <summary>
/// Builds poisoned data sets with ground truth: chooses exactly round(rate x N) poisoned samples
/// (for all-to-one only among samples outside the target class, so every poisoned label changes)
/// and round(coverRate x N) cover samples among the rest, applies the triggers, assigns labels,
/// and writes the image folder, manifest.csv, attack.json and trigger pictures. Every random step
/// has its own stream of the seed: the same seed gives the same bytes.
/// </summary>
public static class Poisoner
{
    /// <param name="cleanLabel">Poison only samples of the all-to-one target class and keep every label (a clean-label attack).</param>
    public static PoisonPlan Plan(IReadOnlyList<int> labels, LabelMode mode, double rate, double coverRate, ulong seed, bool cleanLabel = false)
    {
        var count = labels.Count;
        var poisonCount = (int)Math.Round(rate * count, MidpointRounding.AwayFromZero);
        var coverCount = (int)Math.Round(coverRate * count, MidpointRounding.AwayFromZero);
        if (poisonCount == 0)
            throw new FlareException($"--rate {rate} poisons no image of {count} (round(rate x N) = 0)");
        if (cleanLabel && mode.Target is null) throw new ArgumentException("a clean-label attack needs an all-to-one target", nameof(mode));
        var candidates = Enumerable.Range(0, count).Where(i => cleanLabel ? labels[i] == mode.Target : mode.Changes(labels[i])).ToArray();
        if (candidates.Length < poisonCount)
            throw new FlareException(cleanLabel
                ? $"--rate {rate} needs {poisonCount} poisoned images but the target class holds only {candidates.Length} (a clean-label attack poisons target-class images only)"
                : $"--rate {rate} needs {poisonCount} poisoned images but only {candidates.Length} lie outside the target class");

        var selection = SeededRandom.ForStream(seed, AttackStreams.Selection);
        selection.Shuffle(candidates.AsSpan());
        var poisoned = candidates[..poisonCount];
        var taken = new HashSet<int>(poisoned);
        var rest = Enumerable.Range(0, count).Where(i => !taken.Contains(i)).ToArray();
        if (rest.Length < coverCount)
            throw new FlareException($"--cover-rate {coverRate} needs {coverCount} cover images but only {rest.Length} are left after {poisonCount} poisoned");
        selection.Shuffle(rest.AsSpan());
        var cover = rest[..coverCount];

        var assigned = labels.ToArray();
        var labelRandom = SeededRandom.ForStream(seed, AttackStreams.UntargetedLabels);
        if (!cleanLabel)
            foreach (var i in poisoned) assigned[i] = mode.PoisonLabel(labels[i], labelRandom);

        var order = SeededRandom.ForStream(seed, AttackStreams.FileNames).Permutation(count);
        var fileNumbers = new int[count];
        for (var n = 0; n < count; n++) fileNumbers[order[n]] = n;
        return new PoisonPlan(poisoned, cover, assigned, fileNumbers);
    }

    /// <summary>Poisons a copy of <paramref name="clean"/>; the clean set is left as it is.</summary>
    public static PoisonedSet Poison(ImageSet clean, PoisonOptions options, IProgressSink? progress = null)
    {
        options.Validate();
        var kind = LabelMode.ParseKind(options.Mode);
        var target = kind == LabelModeKind.AllToOne ? LabelMode.ResolveTarget(options.Target ?? "0", clean.ClassNames) : 0;
        var mode = new LabelMode(kind, clean.ClassNames.Count, target);
        var spec = AttackRegistry.Get(options.Attack);
        var coverRate = options.EffectiveCoverRate(spec);
        var plan = Plan(clean.Labels, mode, options.Rate, coverRate, options.Seed, spec.Learned?.CleanLabel ?? false);
        // What poison writes, the other commands must read: they refuse a class folder without images.
        var remaining = new int[clean.ClassNames.Count];
        foreach (var label in plan.Labels) remaining[label]++;
        var emptied = Array.IndexOf(remaining, 0);
        if (emptied >= 0)
            throw new FlareException($"--rate {options.Rate} relabels every image of class '{clean.ClassNames[emptied]}', leaving it empty; lower --rate or use more images");
        IBackdoorAttack attack;
        if (spec.Learned is { } learned)
        {
            var context = new AttackContext(clean, mode, options.Seed, plan.Poisoned, plan.Cover, options.Surrogate ?? new SurrogateOptions(), progress ?? SilentProgress.Instance);
            attack = options.TriggerFrom is { } source ? source.Rebuild(context) : learned.Build(context);
        }
        else attack = spec.Factory!(new AttackSetup(clean.Height, clean.Width, options.Seed));

        var pixels = (byte[])clean.Pixels.Clone();
        var images = new ImageSet(clean.Height, clean.Width, pixels, plan.Labels, clean.ClassNames, clean.SourcePaths, clean.Root);
        using (var stage = (progress ?? SilentProgress.Instance).Begin("applying triggers", plan.Poisoned.Length + plan.Cover.Length))
        {
            Parallel.For(0, plan.Poisoned.Length, r =>
            {
                var i = plan.Poisoned[r];
                attack.PoisonTrainingImage(images.Image(i), r, SeededRandom.ForStream(options.Seed, AttackStreams.Sample(i)));
            });
            stage.Advance(plan.Poisoned.Length);
            Parallel.For(0, plan.Cover.Length, r =>
            {
                var i = plan.Cover[r];
                attack.CoverTrainingImage(images.Image(i), r, SeededRandom.ForStream(options.Seed, AttackStreams.Sample(i)));
            });
            stage.Advance(plan.Cover.Length);
        }
        return new PoisonedSet(images, clean.Labels.ToArray(), attack, mode, plan, options, coverRate);
    }

    /// <summary>
    /// Writes OUT/train/&lt;class&gt;/*.png, OUT/manifest.csv, OUT/attack.json and the trigger
    /// pictures; with a test set also OUT/test-poisoned/&lt;class&gt;/*.png and OUT/test-manifest.csv.
    /// Commits <paramref name="output"/> at the end, so a failure leaves no folder.
    /// </summary>
    public static AttackRecord Write(OutputFolder output, PoisonedSet poisoned, ImageSet? test, IProgressSink progress, int? sourceLimit = null, int? testLimit = null)
    {
        var images = poisoned.Images;
        var attack = poisoned.Attack;
        var mode = poisoned.Mode;
        TriggeredTestSet? triggered = null;
        if (test is not null)
        {
            if (!test.ClassNames.SequenceEqual(images.ClassNames))
                throw new FlareException($"--test: classes [{string.Join(", ", test.ClassNames)}] differ from the training classes [{string.Join(", ", images.ClassNames)}]");
            if (test.Height != images.Height || test.Width != images.Width)
                throw new FlareException($"--test: images are {test.Width}x{test.Height}, training images {images.Width}x{images.Height}");
            triggered = TriggeredTestSet.Build(test, attack, mode);
        }

        WriteFolder(images, output.Folder("train"), poisoned.FileNames, progress, "writing poisoned training set");
        poisoned.Manifest().Write(output.File(PoisonManifest.FileName));
        var triggerFiles = new Dictionary<string, string>();
        foreach (var picture in attack.TriggerImages)
        {
            OutputFiles.WriteAllBytes(output.File(picture.FileName), ImageCodec.EncodePng(picture.Pixels, attack.Height, attack.Width));
            triggerFiles[picture.FileName] = picture.Description;
        }
        Dictionary<string, ArtifactRecord>? artifacts = null;
        if (attack is ILearnedAttack learned)
        {
            artifacts = [];
            foreach (var artifact in learned.Artifacts)
            {
                var path = output.File(artifact.FileName);
                artifact.Save(path);
                artifacts[artifact.FileName] = new ArtifactRecord(artifact.Description, ArtifactRecord.HashOf(path));
            }
        }
        if (triggered is not null)
        {
            var digits = Math.Max(5, (triggered.Images.Count - 1).ToString().Length);
            var names = Enumerable.Range(0, triggered.Images.Count).Select(n => n.ToString($"D{digits}") + ".png").ToArray();
            WriteFolder(triggered.Images, output.Folder("test-poisoned"), names, progress, "writing triggered test set");
            var classNames = test!.ClassNames;
            new PoisonManifest(Enumerable.Range(0, names.Length)
                    .Select(n => new PoisonManifestEntry(
                        $"{classNames[triggered.Images.Labels[n]]}/{names[n]}",
                        classNames[triggered.Images.Labels[n]],
                        classNames[triggered.TrueLabels[n]],
                        PoisonManifest.NormalizePath(triggered.Images.SourcePaths[n]),
                        Poisoned: true,
                        Cover: false))
                    .OrderBy(e => e.Path, StringComparer.Ordinal))
                .Write(output.File(TestManifestFileName));
        }

        var record = new AttackRecord
        {
            Attack = attack.Name,
            Mode = mode.Name,
            Target = mode.Target,
            TargetClass = mode.Target is { } t ? images.ClassNames[t] : null,
            Rate = poisoned.Options.Rate,
            CoverRate = poisoned.CoverRate,
            Seed = poisoned.Options.Seed,
            ClassNames = images.ClassNames.ToArray(),
            ImageHeight = images.Height,
            ImageWidth = images.Width,
            TrainSamples = images.Count,
            PoisonedSamples = poisoned.Plan.Poisoned.Length,
            CoverSamples = poisoned.Plan.Cover.Length,
            PoisonedChoice = AttackRegistry.Get(attack.Name).Learned?.CleanLabel == true
                ? "round(rate x N) samples drawn among those of the target class; labels unchanged (clean-label)"
                : mode.Kind == LabelModeKind.AllToOne
                    ? "round(rate x N) samples drawn among those outside the target class; cover samples among the rest"
                    : "round(rate x N) samples drawn among all; cover samples among the rest",
            Source = images.Root is null ? null : Path.GetFullPath(images.Root),
            SourceLimit = sourceLimit,
            TestSource = test?.Root is null ? null : Path.GetFullPath(test.Root),
            TestLimit = test is null ? null : testLimit,
            TestPoisonedSamples = triggered?.Images.Count,
            TriggerFrom = poisoned.Options.TriggerFrom?.Origin,
            Parameters = AttackRecord.ParametersOf(attack),
            TriggerFiles = triggerFiles,
            Artifacts = artifacts,
        };
        record.Write(output.File(AttackRecord.FileName));
        output.Commit();
        return record;
    }

    public const string TestManifestFileName = "test-manifest.csv";

    private static void WriteFolder(ImageSet images, string root, IReadOnlyList<string> fileNames, IProgressSink progress, string stageName)
    {
        using var stage = progress.Begin(stageName, images.Count);
        ImageFolderWriter.Write(images, root, fileNames, images.Labels, new SynchronousProgress(stage));
    }
}
