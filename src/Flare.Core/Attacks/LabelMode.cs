namespace Flare.Attacks;

/// <summary>How a poisoned sample's label is chosen, which test images the attack targets, and what counts as success.</summary>
public enum LabelModeKind
{
    /// <summary>All-to-one: y -> target.</summary>
    AllToOne,

    /// <summary>All-to-all: y -> (y + 1) mod K.</summary>
    AllToAll,

    /// <summary>Untargeted: y -> a uniformly random label other than y.</summary>
    Untargeted,
}

/// <summary>
/// A label mode for a data set of <see cref="Classes"/> classes: the label mapping for poisoned
/// training samples, the label a triggered test image is filed under, and the attack-success rule.
/// Every mode changes the label of every sample it poisons.
/// </summary>
public sealed record LabelMode
{
    public static readonly IReadOnlyList<string> Names = ["a2o", "a2a", "ut"];

    public LabelMode(LabelModeKind kind, int classes, int target = 0)
    {
        if (classes < 2) throw new FlareException($"a backdoor attack needs at least 2 classes, got {classes}");
        if (kind == LabelModeKind.AllToOne && (uint)target >= (uint)classes)
            throw new FlareException($"--target {target} is not a class (expected 0..{classes - 1})");
        Kind = kind;
        Classes = classes;
        Target = kind == LabelModeKind.AllToOne ? target : null;
    }

    public LabelModeKind Kind { get; }
    public int Classes { get; }

    /// <summary>The target class of an all-to-one attack; null for the other modes.</summary>
    public int? Target { get; }

    public string Name => NameOf(Kind);

    public static string NameOf(LabelModeKind kind) => kind switch
    {
        LabelModeKind.AllToOne => "a2o",
        LabelModeKind.AllToAll => "a2a",
        _ => "ut",
    };

    public static LabelModeKind ParseKind(string name) => name.ToLowerInvariant() switch
    {
        "a2o" => LabelModeKind.AllToOne,
        "a2a" => LabelModeKind.AllToAll,
        "ut" => LabelModeKind.Untargeted,
        _ => throw new FlareException($"--mode: unknown mode '{name}' (known: {string.Join(", ", Names)})"),
    };

    /// <summary>Whether the attack can change this label: all-to-one leaves the target class alone.</summary>
    public bool Changes(int trueLabel) => Kind != LabelModeKind.AllToOne || trueLabel != Target;

    /// <summary>The label a poisoned training sample gets; <paramref name="random"/> is drawn from only in untargeted mode.</summary>
    public int PoisonLabel(int trueLabel, SeededRandom random)
    {
        EnsureChangeable(trueLabel);
        switch (Kind)
        {
            case LabelModeKind.AllToOne:
                return Target!.Value;
            case LabelModeKind.AllToAll:
                return (trueLabel + 1) % Classes;
            default:
                // Uniform over the K - 1 other labels: draw from 0..K-2 and skip over the true label.
                var draw = random.NextInt(Classes - 1);
                return draw >= trueLabel ? draw + 1 : draw;
        }
    }

    /// <summary>
    /// The label a triggered test image is filed under: the label the attack wants, or for an
    /// untargeted attack (which wants any other label) the true label.
    /// </summary>
    public int TestLabel(int trueLabel)
    {
        EnsureChangeable(trueLabel);
        return Kind switch
        {
            LabelModeKind.AllToOne => Target!.Value,
            LabelModeKind.AllToAll => (trueLabel + 1) % Classes,
            _ => trueLabel,
        };
    }

    /// <summary>Whether a prediction on a triggered test image counts as an attack success.</summary>
    public bool IsSuccess(int prediction, int trueLabel) => Kind == LabelModeKind.Untargeted
        ? prediction != trueLabel
        : prediction == TestLabel(trueLabel);

    /// <summary>The attack success rate over triggered test images whose labels the attack changes.</summary>
    public double SuccessRate(IReadOnlyList<int> predictions, IReadOnlyList<int> trueLabels)
    {
        if (predictions.Count != trueLabels.Count) throw new ArgumentException("one prediction per label is required");
        if (predictions.Count == 0) return 0;
        var successes = 0;
        for (var i = 0; i < predictions.Count; i++)
            if (IsSuccess(predictions[i], trueLabels[i])) successes++;
        return (double)successes / predictions.Count;
    }

    /// <summary>
    /// Resolves a --target value: a class name, or else a class index.
    /// </summary>
    public static int ResolveTarget(string text, IReadOnlyList<string> classNames)
    {
        for (var c = 0; c < classNames.Count; c++)
            if (classNames[c] == text) return c;
        if (int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var index) && index < classNames.Count)
            return index;
        throw new FlareException($"--target '{text}' is not a class (expected a class name or an index 0..{classNames.Count - 1})");
    }

    public string Describe(IReadOnlyList<string> classNames) => Kind switch
    {
        LabelModeKind.AllToOne => $"a2o, target {Target} ({classNames[Target!.Value]})",
        LabelModeKind.AllToAll => "a2a, y -> (y + 1) mod K",
        _ => "ut, y -> random other label",
    };

    private void EnsureChangeable(int trueLabel)
    {
        if ((uint)trueLabel >= (uint)Classes) throw new ArgumentOutOfRangeException(nameof(trueLabel), $"label {trueLabel} is not a class");
        if (!Changes(trueLabel)) throw new ArgumentException($"an all-to-one attack does not change samples of its target class {Target}", nameof(trueLabel));
    }
}
