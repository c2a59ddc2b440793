using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Flare.Experiments;

/// <summary>The benchmark's results as Markdown tables (docs/results.md, docs/attacks.md) and JSON.</summary>
public static class ExperimentTable
{
    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
    };

    public static string Markdown(IReadOnlyList<ExperimentOutcome> outcomes)
    {
        var text = new StringBuilder();
        text.AppendLine("| case | size | poisoned | cover | train acc | poisoned fitted | BA | ASR | channel: k | channel: TPR | channel: FPR | layer: k | layer: TPR | layer: FPR | training | extraction | search (channel / layer) |");
        text.AppendLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (var o in outcomes)
        {
            var layer = o.Detection.First(d => d.Representation == "layer");
            var channel = o.Detection.First(d => d.Representation == "channel");
            text.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {o.Case} | {o.ImageSize ?? "-"} | {o.PoisonedSamples} | {o.CoverSamples} | {Percent(o.TrainAccuracy)} | {Percent(o.PoisonedFitted)} | {Percent(o.BenignAccuracy)} | {Percent(o.AttackSuccessRate)} | {K(channel.ChosenK)} | {Percent(channel.Tpr)} | {Percent(channel.Fpr)} | {K(layer.ChosenK)} | {Percent(layer.Tpr)} | {Percent(layer.Fpr)} | {o.TrainingSeconds:F0} s | {o.ExtractionSeconds:F0} s | {channel.SearchSeconds:F0} s / {layer.SearchSeconds:F0} s |"));
        }
        return text.ToString();
    }

    private static string Percent(double? value) => value is { } v ? string.Create(CultureInfo.InvariantCulture, $"{100 * v:F2}") : "-";
    private static string K(int? k) => k is { } value ? value.ToString(CultureInfo.InvariantCulture) : "none";
}
