namespace Flare.Attacks;

/// <summary>
/// An attack Flare can apply: its CLI name, a one-line description, and either a factory (a
/// pattern attack, fixed by image size and seed) or a <see cref="LearnedAttackSpec"/> (built from
/// the training data, loaded back from its artifacts); for attacks with cover samples the default
/// cover rate as a function of the poisoning rate.
/// </summary>
public sealed record AttackSpec
{
    public AttackSpec(string name, string description, Func<AttackSetup, IBackdoorAttack> factory,
        Func<double, double>? defaultCoverRate = null, string? alias = null)
    {
        Name = name;
        Description = description;
        Factory = factory;
        DefaultCoverRate = defaultCoverRate;
        Alias = alias;
    }

    public AttackSpec(string name, string description, LearnedAttackSpec learned, Func<double, double>? defaultCoverRate = null)
    {
        Name = name;
        Description = description;
        Learned = learned;
        DefaultCoverRate = defaultCoverRate;
    }

    public string Name { get; }
    public string Description { get; }

    /// <summary>A pattern attack's factory; null for learned attacks.</summary>
    public Func<AttackSetup, IBackdoorAttack>? Factory { get; }

    /// <summary>A learned attack's builder and loader; null for pattern attacks.</summary>
    public LearnedAttackSpec? Learned { get; }

    public Func<double, double>? DefaultCoverRate { get; }
    public string? Alias { get; }

    public bool UsesCoverSamples => DefaultCoverRate is not null;

    public bool Matches(string name) =>
        Name.Equals(name, StringComparison.OrdinalIgnoreCase) || (Alias?.Equals(name, StringComparison.OrdinalIgnoreCase) ?? false);

    /// <summary>Whether the attack supports a label mode: every mode for pattern attacks, the listed ones for learned attacks.</summary>
    public bool Supports(LabelModeKind mode) => Learned?.Modes.Contains(mode) ?? true;
}

/// <summary>The attacks by name. Adding one is a file and a line here.</summary>
public static class AttackRegistry
{
    public static readonly IReadOnlyList<AttackSpec> All =
    [
        new("badnets", "white 3x3 patch in the bottom-right corner", setup => new BadNets(setup)),
        new("blend", "seeded noise image blended in with alpha 0.2", setup => new Blend(setup)),
        new("trojan", "fixed watermark stamped through its mask", setup => new Trojan(setup)),
        new("wanet", "smooth warp (k 4, s 0.5); noise-mode cover samples", setup => new WaNet(setup),
            defaultCoverRate: _ => WaNet.DefaultCoverRate),
        new("adaptive-patch", "four patches, one per training sample at low opacity, all at test; cover samples", setup => new AdaptivePatch(setup),
            defaultCoverRate: rate => AdaptivePatch.CoverToPoisonRatio * rate, alias: "ada-patch"),
        // Held out from detection development (docs/attacks.md): triggers of Flare's own design.
        new("grating", "faint sinusoidal grating (amplitude 6/255, seeded frequency and orientation) over the whole image", setup => new Grating(setup)),
        new("tint", "seeded per-channel affine colour filter (gain and offset) on every pixel", setup => new Tint(setup)),
        new("rotated-patch", "5x5 two-colour checker, rotated by a seeded angle, at a random position per image", setup => new RotatedPatch(setup)),
        // Learned: built from the clean training set against a surrogate model (docs/attacks.md).
        new("siba", "sparse universal perturbation (L-inf 8/255 on 100 pixels) optimised against a surrogate", Siba.Spec),
        new("issba", "sample-specific invisible trigger: a fixed 20-bit secret hidden by a StegaStamp encoder trained on the clean set", Issba.Spec),
        new("lc", "clean-label: PGD on target-class images against an adversarially trained surrogate, four corner checkerboards; a2o only", LabelConsistent.Spec),
        new("iad", "input-aware dynamic: per-image pattern and mask from generators trained jointly with a classifier; cross samples as cover", Iad.Spec,
            defaultCoverRate: rate => Iad.Defaults.CrossToPoisonRatio * rate),
    ];

    public static AttackSpec Get(string name) =>
        All.FirstOrDefault(spec => spec.Matches(name))
        ?? throw new FlareException($"--attack: unknown attack '{name}' (known: {string.Join(", ", All.Select(s => s.Name))})");

    /// <summary>A pattern attack's trigger; learned attacks are built by <see cref="Poisoner"/> and loaded by <see cref="AttackRecord.CreateAttack"/>.</summary>
    public static IBackdoorAttack Create(string name, AttackSetup setup)
    {
        var spec = Get(name);
        return spec.Factory?.Invoke(setup)
            ?? throw new FlareException($"{spec.Name} is a learned attack: flare poison builds it from training data, and its output folder's attack.json loads it back");
    }
}
