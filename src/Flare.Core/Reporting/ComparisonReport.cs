using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Flare.Data;
using Flare.Experiments;
using Flare.Training;
using ScottPlot;

namespace Flare.Reporting;

/// <summary>Everything a comparison report describes.</summary>
public sealed record ComparisonRun
{
    public required ImageSet Images { get; init; }
    public required string DataPath { get; init; }
    public required ModelMetadata Model { get; init; }

    /// <summary>The checkpoint given, or the one the comparison trained.</summary>
    public required string ModelPath { get; init; }

    public required bool ModelTrained { get; init; }
    public string? CleanPath { get; init; }
    public int? CleanCount { get; init; }
    public required ulong Seed { get; init; }
    public required double PoisonRate { get; init; }
    public double TrainingSeconds { get; init; }
    public bool[]? Poisoned { get; init; }
    public required ComparisonResult Result { get; init; }
}

/// <summary>
/// Writes a comparison into a folder: comparison.md (for people), comparison.json, comparison.png
/// (TPR and FPR per detector) and one folder per detector with its suspicious.csv.
/// </summary>
public static class ComparisonReport
{
    public const string MarkdownFile = "comparison.md";
    public const string JsonFile = "comparison.json";
    public const string ChartFile = "comparison.png";

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public static void Write(string folder, ComparisonRun run)
    {
        foreach (var detector in run.Result.Runs)
        {
            var own = Directory.CreateDirectory(Path.Combine(folder, detector.Spec.Name)).FullName;
            WriteSuspicious(Path.Combine(own, DetectionReport.SuspiciousFile), run, detector);
        }
        File.WriteAllText(Path.Combine(folder, JsonFile), JsonSerializer.Serialize(Summary(run), Json));
        File.WriteAllText(Path.Combine(folder, MarkdownFile), Markdown(run));
        Chart(Path.Combine(folder, ChartFile), run);
    }

    /// <summary>The machine-readable summary comparison.json holds (and --json prints).</summary>
    public static object Summary(ComparisonRun run) => new
    {
        Data = new { Path = Path.GetFullPath(run.DataPath), Samples = run.Images.Count, Poisoned = run.Poisoned?.Count(p => p) },
        Model = new { Path = Path.GetFullPath(run.ModelPath), Trained = run.ModelTrained, run.Model.Architecture, run.Model.Width, run.Model.Epochs, run.Model.Augmentation, run.Model.TrainAccuracy },
        Clean = run.CleanPath is null ? null : new { Path = Path.GetFullPath(run.CleanPath), Samples = run.CleanCount },
        run.Seed,
        run.PoisonRate,
        SharedSeconds = new { Training = run.TrainingSeconds, Penultimate = run.Result.PenultimateSeconds, BatchNorm = run.Result.BatchNormSeconds },
        Detectors = run.Result.Runs.Select(d => new
        {
            d.Spec.Name,
            d.Spec.Title,
            d.UsedClean,
            Flagged = d.Outcome.FlaggedCount,
            FlaggedFraction = (double)d.Outcome.FlaggedCount / run.Images.Count,
            Tpr = d.Metrics?.TruePositiveRate,
            Fpr = d.Metrics?.FalsePositiveRate,
            Precision = d.Metrics?.Precision,
            Tp = d.Metrics?.TruePositives,
            Fp = d.Metrics?.FalsePositives,
            d.Seconds,
            d.Outcome.Notes,
        }),
    };

    private static void WriteSuspicious(string path, ComparisonRun run, DetectorRun detector)
    {
        var text = new StringBuilder("index,path,label,score,flagged\n");
        var images = run.Images;
        for (var i = 0; i < images.Count; i++)
            text.Append(CultureInfo.InvariantCulture, $"{i},{Csv.Field(images.SourcePaths[i])},{Csv.Field(images.ClassNames[images.Labels[i]])},{detector.Outcome.Scores[i]:G6},{(detector.Outcome.Flagged[i] ? 1 : 0)}\n");
        File.WriteAllText(path, text.ToString());
    }

    private static string Markdown(ComparisonRun run)
    {
        var text = new StringBuilder("# Flare detector comparison\n\n");
        var poisoned = run.Poisoned?.Count(p => p);
        text.AppendLine($"Data: `{Path.GetFullPath(run.DataPath)}`, {run.Images.Count} images{(poisoned is { } p ? $", {p} poisoned according to the manifest" : ", no manifest (no TPR/FPR)")}.");
        text.AppendLine($"Model: `{Path.GetFullPath(run.ModelPath)}` ({run.Model.Architecture} width {run.Model.Width}, {run.Model.Epochs} epochs, {run.Model.Augmentation}{(run.ModelTrained ? $", trained by this comparison in {run.TrainingSeconds:F0} s" : "")}).");
        var usedClean = run.Result.Runs.Where(r => r.UsedClean).Select(r => r.Spec.Name).ToList();
        text.AppendLine(run.CleanPath is null
            ? "Clean reserve images: none."
            : $"Clean reserve images: `{Path.GetFullPath(run.CleanPath)}` ({run.CleanCount} images), used by {(usedClean.Count == 0 ? "no chosen detector" : string.Join(", ", usedClean))}.");
        text.AppendLine($"Seed {run.Seed}; assumed poison rate {run.PoisonRate} (Spectral Signatures and SPECTRE). Shared passes: penultimate activations {run.Result.PenultimateSeconds:F1} s{(run.Result.BatchNormSeconds > 0 ? $", BatchNorm features {run.Result.BatchNormSeconds:F1} s" : "")}.").AppendLine();
        text.AppendLine("| detector | clean data | flagged | TPR | FPR | precision | time |");
        text.AppendLine("| --- | --- | --- | --- | --- | --- | --- |");
        foreach (var d in run.Result.Runs)
        {
            var m = d.Metrics;
            text.AppendLine(CultureInfo.InvariantCulture, $"| {d.Spec.Title} | {(d.UsedClean ? "yes" : "no")} | {d.Outcome.FlaggedCount} | {Percent(m?.TruePositiveRate)} | {Percent(m?.FalsePositiveRate)} | {Percent(m?.Precision)} | {d.Seconds:F1} s |");
        }
        text.AppendLine().AppendLine("## Notes per detector").AppendLine();
        foreach (var d in run.Result.Runs)
        {
            text.AppendLine($"- **{d.Spec.Name}**: {string.Join("; ", d.Outcome.Notes)}. Flags and scores: `{d.Spec.Name}/{DetectionReport.SuspiciousFile}`.");
        }
        return text.ToString();
    }

    private static void Chart(string path, ComparisonRun run)
    {
        var plot = new Plot();
        plot.Title(run.Poisoned is null ? "Share of samples flagged per detector (no ground truth)" : "TPR and FPR per detector");
        var tpr = Color.FromHex("#C44E52");
        var fpr = Color.FromHex("#4C72B0");
        var runs = run.Result.Runs;
        var bars = new List<Bar>();
        for (var i = 0; i < runs.Count; i++)
        {
            var m = runs[i].Metrics;
            var first = m?.TruePositiveRate ?? (m is null ? (double)runs[i].Outcome.FlaggedCount / run.Images.Count : 0);
            bars.Add(new Bar { Position = 3 * i, Value = 100 * first, FillColor = tpr });
            if (m is not null) bars.Add(new Bar { Position = 3 * i + 1, Value = 100 * m.FalsePositiveRate, FillColor = fpr });
        }
        plot.Add.Bars(bars);
        plot.Axes.Bottom.SetTicks(runs.Select((_, i) => 3.0 * i + 0.5).ToArray(), runs.Select(r => r.Spec.Name).ToArray());
        plot.Axes.SetLimitsY(0, 105);
        plot.YLabel("%");
        plot.Legend.ManualItems.Add(new LegendItem { LabelText = run.Poisoned is null ? "flagged" : "TPR", FillColor = tpr });
        if (run.Poisoned is not null) plot.Legend.ManualItems.Add(new LegendItem { LabelText = "FPR", FillColor = fpr });
        plot.ShowLegend(Alignment.UpperRight);
        plot.SavePng(path, 900, 500);
    }

    private static string Percent(double? fraction) => fraction is { } f ? string.Create(CultureInfo.InvariantCulture, $"{100 * f:F2}") : "-";
}
