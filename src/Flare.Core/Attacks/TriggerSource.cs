namespace Flare.Attacks;

/// <summary>
/// An earlier flare poison run of a learned attack whose trained trigger a new run reuses
/// (--trigger-from): nothing is trained; the new run's seed, rate, mode and target still choose
/// the poisoned samples, their labels, the cover samples and the file names. The policy is the
/// attack's <see cref="LearnedAttackSpec"/>: whether it can be reused
/// (<see cref="LearnedAttackSpec.Reuse"/>) and whether its trigger is bound to the recorded label
/// mode, target and classes (<see cref="LearnedAttackSpec.ReuseKeepsMode"/>). Every refusal is one
/// line naming the option.
/// </summary>
public sealed class TriggerSource
{
    private const string OptionName = "--trigger-from";

    private readonly LearnedAttackSpec learned;

    private TriggerSource(AttackRecord record, string file, LearnedAttackSpec learned)
    {
        Record = record;
        File = file;
        this.learned = learned;
        Sha256 = ArtifactRecord.HashOf(file);
    }

    /// <summary>The earlier run's attack.json.</summary>
    public AttackRecord Record { get; }

    /// <summary>The full path of the earlier run's attack.json.</summary>
    public string File { get; }

    /// <summary>The SHA-256 of the earlier run's attack.json, as read.</summary>
    public string Sha256 { get; }

    /// <summary>Where the trigger came from, as the new attack.json records it.</summary>
    public TriggerOrigin Origin => new(File, Sha256);

    /// <summary>Reads an earlier output folder (or its attack.json) and refuses what has no trained trigger to reuse.</summary>
    public static TriggerSource Read(string path)
    {
        var file = Path.GetFullPath(AttackRecord.FileIn(path));
        if (!System.IO.File.Exists(file))
            throw new FlareException($"{OptionName} {path}: no {AttackRecord.FileName} (expected an output folder of flare poison with a learned attack)");
        AttackRecord record;
        try
        {
            record = AttackRecord.Read(file);
        }
        catch (FlareException e)
        {
            throw new FlareException($"{OptionName}: {e.Message}", e);
        }
        var spec = AttackRegistry.All.FirstOrDefault(s => s.Matches(record.Attack))
            ?? throw new FlareException($"{OptionName}: {file} records an attack this Flare does not know ('{record.Attack}')");
        if (spec.Learned is null)
            throw new FlareException($"{OptionName}: {spec.Name} is a pattern attack, nothing was trained to reuse (its trigger is fixed by the seed: use --attack {spec.Name} --seed {record.Seed})");
        if (spec.Learned.Reuse is null)
            throw new FlareException($"{OptionName}: a {spec.Name} trigger cannot be reused: {spec.Learned.NotReusable ?? "it has no reusable artifacts"}");
        return new TriggerSource(record, file, spec.Learned);
    }

    /// <summary>Checks what needs no data: the same attack, a label mode the trigger serves, and nothing to train.</summary>
    internal void Validate(PoisonOptions options, AttackSpec spec)
    {
        if (spec.Name != Record.Attack)
            throw new FlareException($"--attack {options.Attack}: {OptionName} holds a {Record.Attack} trigger (omit --attack to use the recorded one)");
        if (options.Surrogate is not null)
            throw new FlareException($"--surrogate-epochs: nothing is trained with {OptionName} (the {Record.Attack} trigger is read from {File})");
        if (learned.ReuseKeepsMode && LabelMode.ParseKind(options.Mode) != LabelMode.ParseKind(Record.Mode))
            throw ModeMismatch(options.Mode);
    }

    /// <summary>The recorded trigger, ready to poison this run's samples: after checking the image size and, for a trigger bound to its mode, the classes, mode and target.</summary>
    internal ILearnedAttack Rebuild(AttackContext context)
    {
        var clean = context.Clean;
        if (clean.Height != Record.ImageHeight || clean.Width != Record.ImageWidth)
            throw new FlareException($"{OptionName}: the {Record.Attack} trigger was trained for {Record.ImageWidth}x{Record.ImageHeight} images, the data's are {clean.Width}x{clean.Height}");
        if (learned.ReuseKeepsMode)
        {
            if (!Record.ClassNames.SequenceEqual(clean.ClassNames))
                throw new FlareException($"{OptionName}: the {Record.Attack} trigger was optimised for the classes [{string.Join(", ", Record.ClassNames)}], the data's are [{string.Join(", ", clean.ClassNames)}]");
            var mode = context.Mode;
            if (mode.Name != Record.Mode || mode.Target != Record.Target)
                throw ModeMismatch(Describe(mode.Name, mode.Target, clean.ClassNames));
        }
        try
        {
            return learned.Reuse!(new ArtifactFolder(Record, File), context);
        }
        catch (FlareException e)
        {
            throw new FlareException($"{OptionName}: {e.Message}", e);
        }
    }

    private FlareException ModeMismatch(string requested) =>
        new($"{OptionName}: the {Record.Attack} trigger was optimised for --mode {Describe(Record.Mode, Record.Target, Record.ClassNames)}, this run asks for --mode {requested} (a trained {Record.Attack} trigger is reused in its own mode and target only)");

    private static string Describe(string mode, int? target, IReadOnlyList<string> classNames) =>
        target is { } t ? $"{mode} --target {t}{(t < classNames.Count ? $" ({classNames[t]})" : "")}" : mode;
}

/// <summary>attack.json's record of a reused trigger: the earlier run's attack.json and its SHA-256.</summary>
public sealed record TriggerOrigin(string Path, string Sha256);
