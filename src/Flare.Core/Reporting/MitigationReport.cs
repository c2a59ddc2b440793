using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Flare.Mitigation;
using Flare.Training;

namespace Flare.Reporting;

/// <summary>
/// The mitigation part of a purify run: mitigation.json, and a section appended to report.md
/// (kept apart from <see cref="DetectionReport"/>, which writes the detection part).
/// </summary>
public static class MitigationReport
{
    public const string JsonFile = "mitigation.json";

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
    };

    public static void Write(string folder, MitigationRun run)
    {
        File.WriteAllText(Path.Combine(folder, JsonFile), JsonSerializer.Serialize(Summary(run), Json));
        File.AppendAllText(Path.Combine(folder, DetectionReport.MarkdownFile), Markdown(run));
    }

    /// <summary>The machine-readable summary (mitigation.json, and the --json output).</summary>
    public static object Summary(MitigationRun run)
    {
        var result = run.Result;
        return new
        {
            Method = result.Method.ToName(),
            result.Flagged,
            result.Kept,
            Model = run.ModelFile is null ? null : Path.GetFileName(run.ModelFile),
            result.Seconds,
            result.Note,
            Recipe = Recipe(run),
            Guard = result.Unlearning?.GuardReport,
            FlaggedLossBefore = result.Unlearning?.FlaggedLossBefore,
            FlaggedLossAfter = result.Unlearning?.FlaggedLossAfter,
            KeptAccuracyAfter = result.Unlearning?.KeptAccuracyAfter,
            Test = run.Test is null ? null : new
            {
                Path = run.TestPath is null ? null : Path.GetFullPath(run.TestPath),
                Samples = run.Test.Clean.Count,
                Attack = run.Test.Attack is { } a ? new { Name = a.Attack, a.Mode, a.Target, a.TargetClass } : null,
                TriggeredSamples = run.Test.Triggered?.Images.Count,
            },
            Before = run.Before,
            After = run.After,
            run.Warning,
            Unlearning = result.Unlearning?.History,
            Retraining = result.Retraining,
        };
    }

    public static string Markdown(MitigationRun run)
    {
        var result = run.Result;
        var text = new StringBuilder();
        text.AppendLine().AppendLine($"## Mitigation: {Title(result.Method)}").AppendLine();
        if (result.Method == MitigationMethod.None) text.AppendLine("No clean model was made (`--mitigate none`).").AppendLine();
        else
        {
            text.AppendLine($"- {result.Flagged} flagged samples, {result.Kept} kept; {Recipe(run)}");
            if (run.ModelFile is { } file) text.AppendLine($"- time: {Seconds(result.Seconds)}; clean model: `{Path.GetFileName(file)}`");
            if (result.Note is { } note) text.AppendLine($"- **{note}**");
            if (result.Unlearning is { } u)
            {
                text.AppendLine(Invariant($"- flagged-set loss (evaluation mode): {u.FlaggedLossBefore:F3} before, {u.FlaggedLossAfter:F3} after; kept-set accuracy after: {Percent(u.KeptAccuracyAfter)}"));
                text.AppendLine($"- guard: {u.GuardReport}");
            }
            text.AppendLine();
        }
        if (run.Before is { } before)
        {
            var attack = run.Test?.Attack is { } a ? $"{a.Attack} {a.Mode}" : "no attack given";
            text.AppendLine($"BA on {before.TestSamples} test images; ASR ({attack}) on {before.TriggeredSamples?.ToString(CultureInfo.InvariantCulture) ?? "no"} triggered images:").AppendLine();
            text.AppendLine("| model | BA | ASR |").AppendLine("| --- | --- | --- |");
            text.AppendLine($"| detection model (no defense) | {Percent(before.BenignAccuracy)} | {OptionalPercent(before.AttackSuccessRate)} |");
            if (run.After is { } after) text.AppendLine($"| clean model | {Percent(after.BenignAccuracy)} | {OptionalPercent(after.AttackSuccessRate)} |");
            text.AppendLine();
            if (run.Warning is { } warning) text.AppendLine($"**Warning: {warning}.**").AppendLine();
        }
        else text.AppendLine("BA and ASR were not measured (give `--test`, and `--attack` for the ASR).").AppendLine();
        if (result.Unlearning is { } history)
        {
            text.AppendLine("| epoch | learning rate | flagged loss (ascent) | clipped | ascent steps | kept loss | kept acc. | BA | ASR | time |");
            text.AppendLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
            foreach (var e in history.History)
                text.AppendLine(Invariant($"| {e.Epoch} | {e.LearningRate:G4} | {(e.FlaggedLoss is { } loss ? loss.ToString("F3", CultureInfo.InvariantCulture) : "-")} | {e.ClippedSamples} | {e.AscentSteps} | {e.KeptLoss:F3} | {Percent(e.KeptAccuracy)} | {OptionalPercent(e.Score?.BenignAccuracy)} | {OptionalPercent(e.Score?.AttackSuccessRate)} | {Seconds(e.Seconds)} |"));
            text.AppendLine();
        }
        return text.ToString();
    }

    private static string Recipe(MitigationRun run) => run.Result.Method switch
    {
        MitigationMethod.Retrain => Invariant($"retrained from scratch: {run.Options.Retraining.Epochs} epochs, SGD lr {run.Options.Retraining.LearningRate} ({run.Options.Retraining.Schedule.ToName()}), batch {run.Options.Retraining.BatchSize}, {run.Options.Retraining.Augmentation.ToName()}"),
        MitigationMethod.Unlearn => $"unlearning and relearning: {run.Options.Unlearning.Describe()}",
        _ => "none",
    };

    private static string Title(MitigationMethod method) => method switch
    {
        MitigationMethod.Retrain => "FLARE (P), retraining on the kept samples",
        MitigationMethod.Unlearn => "FLARE (R), unlearning and relearning",
        _ => "none",
    };

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
    private static string Percent(double fraction) => Invariant($"{100 * fraction:F2} %");
    private static string OptionalPercent(double? fraction) => fraction is { } f ? Percent(f) : "n/a";
    private static string Seconds(double seconds) => Invariant($"{seconds:F1} s");
}
