using Flare.Detection.Baselines;

namespace Flare.Detection;

/// <summary>The settings detectors are built from; each reads only its own.</summary>
public sealed record DetectorSettings
{
    public DetectionOptions Flare { get; init; } = new();
    public MspcSchedule Mspc { get; init; } = new();
    public ConfusionTrainingSchedule ConfusionTraining { get; init; } = new();
}

/// <summary>
/// A detector Flare can run: its CLI name, the paper it comes from, whether it needs clean reserve
/// images, and a factory.
/// </summary>
public sealed record DetectorSpec(string Name, string Title, CleanDataUse CleanData, Func<DetectorSettings, IPoisonDetector> Factory);

/// <summary>The detectors by name, cheapest first after FLARE. Adding one is a file and a line here.</summary>
public static class DetectorRegistry
{
    public static readonly IReadOnlyList<DetectorSpec> All =
    [
        new("flare", "FLARE (Hou et al., TIFS 2025)", CleanDataUse.None, s => new FlarePoisonDetector(s.Flare)),
        new("ac", "Activation Clustering (Chen et al. 2018)", CleanDataUse.None, _ => new ActivationClustering()),
        new("ss", "Spectral Signatures (Tran et al. 2018)", CleanDataUse.None, _ => new SpectralSignatures()),
        new("spectre", "SPECTRE (Hayase et al. 2021)", CleanDataUse.None, _ => new Spectre()),
        new("scale-up", "SCALE-UP (Guo et al. 2023)", CleanDataUse.None, _ => new ScaleUp()),
        new("ibd-psc", "IBD-PSC (Hou et al. 2024)", CleanDataUse.Required, _ => new IbdPsc()),
        new("mspc", "MSPC (Pal et al. 2024), reduced schedule", CleanDataUse.None, s => new Mspc(s.Mspc)),
        new("ct", "Confusion Training (Qi et al. 2023), reduced schedule", CleanDataUse.Required, s => new ConfusionTraining(s.ConfusionTraining)),
    ];

    public static DetectorSpec Get(string name) =>
        All.FirstOrDefault(spec => spec.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
        ?? throw new FlareException($"--detectors: unknown detector '{name}' (known: {string.Join(", ", All.Select(s => s.Name))})");

    /// <summary>A comma-separated list of names, in the order given, each once; null or empty: all.</summary>
    public static IReadOnlyList<DetectorSpec> Parse(string? names)
    {
        if (string.IsNullOrWhiteSpace(names)) return All;
        var specs = names.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(Get).Distinct().ToList();
        if (specs.Count == 0) throw new FlareException("--detectors: give at least one detector name");
        return specs;
    }
}
