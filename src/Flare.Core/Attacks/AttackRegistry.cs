namespace Flare.Attacks;

/// <summary>
/// An attack Flare can apply: its CLI name, a one-line description, a factory, and for attacks
/// with cover samples the default cover rate as a function of the poisoning rate.
/// </summary>
public sealed record AttackSpec(string Name, string Description, Func<AttackSetup, IBackdoorAttack> Factory,
    Func<double, double>? DefaultCoverRate = null, string? Alias = null)
{
    public bool UsesCoverSamples => DefaultCoverRate is not null;

    public bool Matches(string name) =>
        Name.Equals(name, StringComparison.OrdinalIgnoreCase) || (Alias?.Equals(name, StringComparison.OrdinalIgnoreCase) ?? false);
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
            DefaultCoverRate: _ => WaNet.DefaultCoverRate),
        new("adaptive-patch", "four patches, one per training sample at low opacity, all at test; cover samples", setup => new AdaptivePatch(setup),
            DefaultCoverRate: rate => AdaptivePatch.CoverToPoisonRatio * rate, Alias: "ada-patch"),
        // Held out from detection development (docs/attacks.md): triggers of Flare's own design.
        new("grating", "faint sinusoidal grating (amplitude 6/255, seeded frequency and orientation) over the whole image", setup => new Grating(setup)),
        new("tint", "seeded per-channel affine colour filter (gain and offset) on every pixel", setup => new Tint(setup)),
        new("rotated-patch", "5x5 two-colour checker, rotated by a seeded angle, at a random position per image", setup => new RotatedPatch(setup)),
    ];

    public static AttackSpec Get(string name) =>
        All.FirstOrDefault(spec => spec.Matches(name))
        ?? throw new FlareException($"--attack: unknown attack '{name}' (known: {string.Join(", ", All.Select(s => s.Name))})");

    public static IBackdoorAttack Create(string name, AttackSetup setup) => Get(name).Factory(setup);
}
