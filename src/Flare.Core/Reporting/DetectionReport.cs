using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Flare.Data;
using Flare.Detection;
using Flare.IO;
using Flare.Training;

namespace Flare.Reporting;

/// <summary>Everything a detection report describes.</summary>
public sealed record DetectionRun
{
    public required ImageSet Images { get; init; }
    public required string DataPath { get; init; }
    public required ModelMetadata Model { get; init; }
    public string? ModelPath { get; init; }
    public required DetectionOptions Options { get; init; }
    public required DetectionResult Result { get; init; }
    public required StageTimes Times { get; init; }

    /// <summary>How well the model fits these images; a warning there means an empty result is not a clean bill.</summary>
    public ModelFit? Fit { get; init; }

    /// <summary>Ground truth from a manifest written by flare poison, when the data set has one.</summary>
    public bool[]? Poisoned { get; init; }

    public DetectionMetrics? Metrics => Poisoned is null ? null : DetectionMetrics.Compute(Result.Flagged, Poisoned);
}

/// <summary>
/// Writes a detection's outputs into a folder: suspicious.csv (one row per sample), report.json
/// (machine-readable), report.md (for people) and the plots.
/// </summary>
public static class DetectionReport
{
    public const string SuspiciousFile = "suspicious.csv";
    public const string JsonFile = "report.json";
    public const string MarkdownFile = "report.md";
    public const string EmbeddingPlot = "embedding-clusters.png";
    public const string TruthPlot = "embedding-truth.png";
    public const string TreePlot = "condensed-tree.png";

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    public static void Write(string folder, DetectionRun run)
    {
        WriteSuspicious(Path.Combine(folder, SuspiciousFile), run);
        OutputFiles.WriteAllText(Path.Combine(folder, JsonFile), JsonSerializer.Serialize(Summary(run), Json));
        var final = run.Result.Shown;
        DetectionPlots.EmbeddingByCluster(Path.Combine(folder, EmbeddingPlot), final.Embedding, run.Result);
        if (run.Poisoned is not null) DetectionPlots.EmbeddingByTruth(Path.Combine(folder, TruthPlot), final.Embedding, run.Poisoned);
        DetectionPlots.CondensedTreeIcicle(Path.Combine(folder, TreePlot), final.Clustering.CondensedTree, run.Result.Decision?.PoisonedClusters ?? []);
        OutputFiles.WriteAllText(Path.Combine(folder, MarkdownFile), Markdown(run));
        HtmlReport.Write(folder, run);
    }

    /// <summary>The machine-readable summary that report.json holds (and --json prints).</summary>
    public static object Summary(DetectionRun run)
    {
        var result = run.Result;
        var metrics = run.Metrics;
        return new
        {
            Data = new { Path = Path.GetFullPath(run.DataPath), Samples = run.Images.Count, Classes = run.Images.ClassNames, Formats = run.Images.FormatSummary(), run.Images.Resizing },
            Model = new { Path = run.ModelPath is null ? null : Path.GetFullPath(run.ModelPath), run.Model.Architecture, run.Model.Width, run.Model.Epochs, run.Model.Schedule, run.Model.LearningRate, run.Model.Augmentation, run.Model.TrainAccuracy, run.Model.ConvolutionPrecision },
            Fit = run.Fit is null ? null : new { run.Fit.Accuracy, run.Fit.TrainedOnThisData, run.Fit.Trusted, run.Fit.Warning, ModelFit.Defaults.MinimumAccuracy },
            Options = new
            {
                Representation = run.Options.Representation.ToName(),
                run.Options.Xi,
                run.Options.Depth,
                run.Options.Isolation,
                run.Options.WithinLabels,
                MinClusterSize = result.MinClusterSize,
                run.Options.Neighbors,
                run.Options.MinDist,
                run.Options.Seed,
            },
            ChosenK = result.DroppedLayers,
            Trials = result.Trials.Select(t => new
            {
                K = t.DroppedLayers,
                t.Columns,
                t.Stable,
                Walk = t.Walk.Select(s => new { s.Cluster, s.Size, Kappa = s.Persistence }),
                Clusters = t.Clustering.CondensedTree.ClusterCount,
                t.UmapSeconds,
                t.HdbscanSeconds,
            }),
            Clusters = (result.Decision?.Primary ?? []).Select(c => new
            {
                c.Id,
                c.Size,
                c.BirthLambda,
                c.DeathLambda,
                Kappa = c.Persistence,
                Poisoned = result.Decision?.IsPoisoned(c.Id) == true,
            }),
            result.Verdict,
            Suspects = StrongestSuspects(result).Select(c => new { K = c.DroppedLayers, c.Label, c.Size, Extended = c.Members.Length + c.Carriers.Length, Carriers = c.Carriers.Length, PoisonLabels = c.CarrierSplit?.PoisonLabels, c.CarrierSplit?.PoisonShare, c.CarrierSplit?.MedianShare, c.Suspicion, c.Isolation, c.WholeLabels, c.Shift, c.ShiftSpace, c.LargeShiftBar, c.Agreement, c.EarlyAgreement, c.OtherLabelsShift, c.Flagged }),
            Flagged = result.FlaggedCount,
            FlaggedFraction = (double)result.FlaggedCount / run.Images.Count,
            Metrics = metrics is null ? null : new
            {
                Tpr = metrics.TruePositiveRate,
                Fpr = metrics.FalsePositiveRate,
                metrics.Precision,
                Tp = metrics.TruePositives,
                Fp = metrics.FalsePositives,
                Tn = metrics.TrueNegatives,
                Fn = metrics.FalseNegatives,
            },
            TimesSeconds = run.Times,
        };
    }

    private static void WriteSuspicious(string path, DetectionRun run)
    {
        var text = new StringBuilder("index,path,label,cluster,flagged,suspicion\n");
        for (var i = 0; i < run.Images.Count; i++)
        {
            text.Append(CultureInfo.InvariantCulture, $"{i},{Csv.Field(run.Images.SourcePaths[i])},{Csv.Field(run.Images.ClassNames[run.Images.Labels[i]])},{run.Result.PrimaryCluster[i]},{(run.Result.Flagged[i] ? 1 : 0)},{run.Result.Suspicion[i]:F4}\n");
        }
        OutputFiles.WriteAllText(path, text.ToString());
    }

    private static string Markdown(DetectionRun run)
    {
        var result = run.Result;
        var text = new StringBuilder();
        text.AppendLine("# Flare detection report").AppendLine();
        text.AppendLine($"**{result.FlaggedCount} of {run.Images.Count} samples ({Percent((double)result.FlaggedCount / run.Images.Count)}) flagged as poisoned.** {Capitalize(result.Verdict)}.").AppendLine();
        text.AppendLine(run.Fit?.Trusted == false ? $"**{FitSentence(run.Fit)}**" : FitSentence(run.Fit)).AppendLine();
        AppendEvidence(text, run);
        if (run.Metrics is { } m)
        {
            text.AppendLine("## Against the manifest's ground truth").AppendLine();
            text.AppendLine("| TPR | FPR | precision | poisoned | flagged | TP | FP | FN |");
            text.AppendLine("| --- | --- | --- | --- | --- | --- | --- | --- |");
            text.AppendLine($"| {OptionalPercent(m.TruePositiveRate)} | {Percent(m.FalsePositiveRate)} | {OptionalPercent(m.Precision)} | {m.Poisoned} | {result.FlaggedCount} | {m.TruePositives} | {m.FalsePositives} | {m.FalseNegatives} |").AppendLine();
        }
        text.AppendLine("## Data and model").AppendLine();
        text.AppendLine($"- data: `{Path.GetFullPath(run.DataPath)}`, {run.Images.Count} images of {run.Images.Width}x{run.Images.Height}, {run.Images.ClassNames.Count} classes");
        if (run.Images.FormatSummary() is { } formats) text.AppendLine($"- file formats: {formats}");
        if (run.Images.Resizing is { } resizing) text.AppendLine($"- resizing: {resizing}");
        text.AppendLine($"- model: {run.Model.Architecture} width {run.Model.Width}, {run.Model.Epochs} epochs ({run.Model.Schedule} schedule, learning rate {run.Model.LearningRate.ToString(CultureInfo.InvariantCulture)}), augmentation {run.Model.Augmentation}, convolutions in {run.Model.ConvolutionPrecision}, last-epoch training accuracy {OptionalPercent(run.Model.TrainAccuracy)}");
        text.AppendLine($"- features: {result.Representation.ToName()} representation, {run.Model.Architecture} BatchNorm layers: {result.Trials[0].Columns} columns");
        text.AppendLine($"- settings: UMAP {run.Options.Neighbors} neighbours, min_dist {run.Options.MinDist}, seed {run.Options.Seed}; HDBSCAN min_cluster_size {result.MinClusterSize}; xi {run.Options.Xi}, depth {run.Options.Depth}, isolation {run.Options.Isolation}, {LabelStageSetting(run.Options)}").AppendLine();
        text.AppendLine("## Stable subspace search").AppendLine();
        text.AppendLine("| k (layers dropped) | columns | clusters | walk: cluster (size) kappa | stable |");
        text.AppendLine("| --- | --- | --- | --- | --- |");
        foreach (var trial in result.Trials)
            text.AppendLine($"| {trial.DroppedLayers} | {trial.Columns} | {trial.Clustering.CondensedTree.ClusterCount} | {string.Join(" -> ", trial.Walk.Select(s => $"#{s.Cluster} ({s.Size}) {s.Persistence:G3}"))} | {(trial.Stable ? "yes" : "no")} |");
        text.AppendLine();
        if (result.Decision is { } decision)
        {
            text.AppendLine("## Primary clusters").AppendLine();
            text.AppendLine("| cluster | size | lambda start | lambda end | kappa | verdict |");
            text.AppendLine("| --- | --- | --- | --- | --- | --- |");
            foreach (var c in decision.Primary)
                text.AppendLine($"| {c.Id} | {c.Size} | {c.BirthLambda:G4} | {c.DeathLambda:G4} | {c.Persistence:G4} | {(decision.IsPoisoned(c.Id) ? "poisoned" : "benign")} |");
            text.AppendLine();
        }
        text.AppendLine("## Time per stage").AppendLine();
        text.AppendLine("| training | extraction | UMAP | HDBSCAN | subspace search (total) |");
        text.AppendLine("| --- | --- | --- | --- | --- |");
        text.AppendLine($"| {Seconds(run.Times.Training)} | {Seconds(run.Times.Extraction)} | {Seconds(run.Times.Umap)} | {Seconds(run.Times.Hdbscan)} | {Seconds(run.Times.SubspaceSearch)} |").AppendLine();
        text.AppendLine("## Plots").AppendLine();
        text.AppendLine($"![embedding by cluster]({EmbeddingPlot})").AppendLine();
        if (run.Poisoned is not null) text.AppendLine($"![embedding by ground truth]({TruthPlot})").AppendLine();
        text.AppendLine($"![condensed tree]({TreePlot})").AppendLine();
        text.AppendLine($"Per-sample results: `{SuspiciousFile}`; machine-readable summary: `{JsonFile}`.");
        return text.ToString();
    }

    private const int SuspectsShown = 10;

    /// <summary>The suspects the reports list: the most suspicious first.</summary>
    public static IEnumerable<SuspectCluster> StrongestSuspects(DetectionResult result) =>
        result.Suspects.OrderByDescending(c => c.Suspicion).Take(SuspectsShown);

    /// <summary>The within-label stage's setting, for the reports' settings line.</summary>
    public static string LabelStageSetting(DetectionOptions options) =>
        !options.WithinLabels
            ? "within labels: off"
            : $"a label holding {TriggerCarriers.OutstandingShareRatio:G2}x the median label's share in the islands holds the poison, the others trigger carriers; within labels{(options.LabelsInBatchNorm ? ", in the BatchNorm features" : "")}: shift {ClassConditionalSearch.LargeShift:G2} (and {ClassConditionalSearch.LargeShiftOverTypicalPenultimate:G2}x the median in the penultimate activations, {ClassConditionalSearch.LargeShiftOverTypicalLastLayer:G2}x in the last BatchNorm layer) in half the labels with their first layers' shifts recurring at cosine {ClassConditionalSearch.SharedEarlyDirection:G2}, or in one label at {ClassConditionalSearch.LoneShiftRatio:G2}x any other label's (penultimate activations only), or {ClassConditionalSearch.SharedShiftFloor:G2} recurring at cosine {ClassConditionalSearch.SharedDirection:G2} with its first layers' shift recurring at cosine {ClassConditionalSearch.SharedEarlyDirection:G2}";

    /// <summary>The evidence a suspect's test measured, in the reports' tables.</summary>
    public static string Evidence(SuspectCluster s) =>
        s.Isolation is { } isolation
            ? string.Create(CultureInfo.InvariantCulture, $"isolation {isolation:G3}{(s.WholeLabels.Count > 0 ? $", {WholeLabelsText(s)}: classes" : "")}{(s.Members.Length + s.Carriers.Length > s.Size ? $", extended to {s.Members.Length + s.Carriers.Length} within its labels" : "")}{CarriersText(s)}")
            : string.Create(CultureInfo.InvariantCulture, $"shift {s.Shift:G3}, {s.Agreements}{(s.Flagged ? $", extended to {s.Members.Length}" : "")}");

    private static string CarriersText(SuspectCluster s) =>
        s.CarrierSplit is { } split && s.Carriers.Length > 0 ? $", {s.Carriers.Length} set aside as trigger carriers that keep their labels ({split.Evidence})" : "";

    /// <summary>Where a suspect was found: within one training label or in the whole data set.</summary>
    public static string SuspectScope(SuspectCluster suspect, IReadOnlyList<string> classNames) =>
        suspect.Label is { } label ? $"label {classNames[label]}" : "whole data set";

    /// <summary>What an empty result does and does not say.</summary>
    public const string NothingFlaggedCaveat = "Nothing flagged is not a certificate of a clean data set: FLARE finds a backdoor only where the model learned it and its samples stand apart as an island. Look at the top of the suspicion ranking, and see the model-fit line above.";

    /// <summary>A one-line account of the strongest suspect, so that "nothing flagged" says how close the search came.</summary>
    public static string SuspectLine(DetectionResult result, DetectionOptions options) => result.StrongestSuspect switch
    {
        null => "no minority cluster was weighed: the data formed no split the choice could judge",
        { Flagged: true } s => $"strongest suspect flagged: {Describe(s)}",
        var s => $"strongest suspect not flagged: {Describe(s)}, {Shortfall(s, options)}; the suspicion column of {SuspiciousFile} ranks its samples first",
    };

    private static string Describe(SuspectCluster s) => s.Isolation is { } isolation
        ? $"{s.Size} samples in the whole data set at k = {s.DroppedLayers}, splitting off at {isolation:G2} of the density at which the rest splits"
        : $"{s.Size} samples within label {s.Label}, shifted {s.Shift:G2} standard deviations from the rest of the label in the {s.ShiftSpace}, {s.Agreements} with other labels";

    private static string WholeLabelsText(SuspectCluster s) => $"holds {WholeLabelIslands.Name(s.WholeLabels)} whole";

    private static string Shortfall(SuspectCluster s, DetectionOptions options) => s.Isolation is not null
        ? s.WholeLabels.Count > 0
            ? $"but it {WholeLabelsText(s)}, less than {WholeLabelIslands.LeftOutside:G2} of a typical label left outside it: classes the model sets apart, not poison, which leaves a label's own class outside"
            : $"above the {options.Isolation:G2} an island needs"
        : ClassConditionalSearch.RecursAcrossLabels(s.Shift, s.Agreement)
            ? s.SharedEarlyAgreement is { } sharedEarly
                ? $"a shift that recurs across labels where the classifier reads, but its first layers' shift recurs at cosine {sharedEarly:G2}, short of the {ClassConditionalSearch.SharedEarlyDirection:G2} one trigger would give: relabelled images the model did not learn (label noise) shift so too"
                : "a shift that recurs across labels where the classifier reads, but the first layers have too few columns to tell one trigger from label noise (per-layer features)"
        : s.Shift >= s.LargeShiftBar
            ? s.EarlyAgreement switch
            {
                null => "a large shift, but the first layers have too few columns to compare its direction with other labels' (per-layer features)",
                >= ClassConditionalSearch.SharedEarlyDirection => "a large shift whose first layers agree with other labels', but in fewer than half the labels",
                var early => $"a large shift, but its first layers' shift recurs among other labels' large shifts at cosine {early:G2}, short of the {ClassConditionalSearch.SharedEarlyDirection:G2} one trigger would give",
            } + LoneShortfall(s)
            : $"short of the {s.LargeShiftBar:G2} shift that counted as large here (in half the labels, or in one label at {ClassConditionalSearch.LoneShiftRatio:G2}x any other label's) and of a {ClassConditionalSearch.SharedShiftFloor:G2} shift recurring at cosine {ClassConditionalSearch.SharedDirection:G2}";

    private static string LoneShortfall(SuspectCluster s) => s.OtherLabelsShift is { } other
        ? string.Create(CultureInfo.InvariantCulture, $", and it is {s.Shift / other:G2}x the strongest other label's shift, short of the {ClassConditionalSearch.LoneShiftRatio:G2}x a group in one label alone needs")
        : "";

    private static void AppendEvidence(StringBuilder text, DetectionRun run)
    {
        var result = run.Result;
        text.AppendLine("## How strong the evidence is").AppendLine();
        text.AppendLine($"- {Capitalize(SuspectLine(result, run.Options))}.");
        if (result.FlaggedCount == 0)
            text.AppendLine($"- {NothingFlaggedCaveat}");
        text.AppendLine();
        if (result.Suspects.Count == 0) return;
        text.AppendLine("| k | where | size | evidence | suspicion | flagged |");
        text.AppendLine("| --- | --- | --- | --- | --- | --- |");
        foreach (var s in StrongestSuspects(result))
            text.AppendLine(CultureInfo.InvariantCulture, $"| {s.DroppedLayers} | {SuspectScope(s, run.Images.ClassNames)} | {s.Size} | {Evidence(s)} | {s.Suspicion:F2} | {(s.Flagged ? "yes" : "no")} |");
        text.AppendLine();
    }

    /// <summary>One sentence on the model's fit to the data, for people (report.md sets a warning in bold).</summary>
    public static string FitSentence(ModelFit? fit) => fit switch
    {
        null => "Model fit: not measured.",
        { Warning: { } warning } => $"Warning: {warning}. (Model accuracy on these images: {Percent(fit.Accuracy)}.)",
        _ => $"Model fit: {Percent(fit.Accuracy)} accuracy on these images, which it was trained on.",
    };

    private static string Percent(double fraction) => string.Create(CultureInfo.InvariantCulture, $"{100 * fraction:F2} %");
    private static string OptionalPercent(double? fraction) => fraction is { } f ? Percent(f) : "n/a";
    private static string Seconds(double seconds) => seconds <= 0 ? "-" : string.Create(CultureInfo.InvariantCulture, $"{seconds:F1} s");
    private static string Capitalize(string text) => text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text[1..];
}

/// <summary>CSV field quoting (RFC 4180) for paths that may hold commas or quotes.</summary>
public static class Csv
{
    public static string Field(string value) =>
        value.IndexOfAny([',', '"', '\n', '\r']) < 0 ? value : $"\"{value.Replace("\"", "\"\"")}\"";
}
