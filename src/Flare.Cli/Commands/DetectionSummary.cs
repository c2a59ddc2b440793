using Flare.Cli.Terminal;
using Flare.Detection;
using Flare.Reporting;

namespace Flare.Cli.Commands;

/// <summary>What detect and purify print when they finish.</summary>
internal static class DetectionSummary
{
    public static void Print(DetectionRun run, string outputFolder, bool json, object? extra = null)
    {
        if (json)
        {
            CommandOutput.WriteJson(new { Output = outputFolder, Report = DetectionReport.Summary(run), Purification = extra });
            return;
        }
        var result = run.Result;
        Console.WriteLine($"flagged         {result.FlaggedCount} of {run.Images.Count} samples ({CommandOutput.Percent((double)result.FlaggedCount / run.Images.Count)})");
        Console.WriteLine($"verdict         {result.Verdict}");
        Console.WriteLine($"model fit       {FitText(run.Fit)}");
        Console.WriteLine($"evidence        {DetectionReport.SuspectLine(result, run.Options)}");
        Console.WriteLine($"subspace        {SubspaceText(result)}, {result.Representation.ToName()} features");
        if (run.Metrics is { } m)
        {
            var tpr = m.TruePositiveRate is { } t ? CommandOutput.Percent(t) : "n/a (nothing poisoned)";
            Console.WriteLine($"ground truth    TPR {tpr}, FPR {CommandOutput.Percent(m.FalsePositiveRate)} ({m.Poisoned} poisoned in the manifest)");
        }
        Console.WriteLine($"report          {Path.Combine(outputFolder, DetectionReport.MarkdownFile)}");
    }

    private static string FitText(ModelFit? fit) => fit switch
    {
        null => "not measured",
        { Warning: { } warning } => $"{CommandOutput.Percent(fit.Accuracy)} accuracy on these images. WARNING: {warning}",
        _ => $"{CommandOutput.Percent(fit.Accuracy)} accuracy on these images, which it was trained on",
    };

    private static string SubspaceText(DetectionResult result)
    {
        if (result.DroppedLayers is { } k) return $"last {k} BatchNorm layer(s) dropped";
        var stable = result.Trials.Count(t => t.Stable);
        return stable == 0
            ? $"none of the {result.Trials.Count} tried was stable"
            : $"{stable} of {result.Trials.Count} tried stable, none with an isolated cluster";
    }
}
