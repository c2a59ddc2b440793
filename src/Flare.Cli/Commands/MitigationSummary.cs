using Flare.Cli.Terminal;
using Flare.Mitigation;
using Flare.Reporting;

namespace Flare.Cli.Commands;

/// <summary>The lines purify and unlearn print about the clean model.</summary>
internal static class MitigationSummary
{
    public static void Print(MitigationRun run)
    {
        var result = run.Result;
        if (result.Note is { } note) Console.WriteLine($"note            {note}");
        if (run.ModelFile is not null)
            Console.WriteLine($"clean model     {run.ModelFile} ({result.Method.ToName()}, {result.Flagged} flagged / {result.Kept} kept, {result.Seconds:F0} s)");
        if (result.Unlearning is { } u)
            Console.WriteLine($"unlearning      flagged-set loss {u.FlaggedLossBefore:F3} -> {u.FlaggedLossAfter:F3}, kept-set accuracy {CommandOutput.Percent(u.KeptAccuracyAfter)}; guard {u.GuardReport}");
        if (run.Before is { } before)
        {
            var after = run.After;
            Console.WriteLine($"benign accuracy {CommandOutput.Percent(before.BenignAccuracy)} detection model{(after is null ? "" : $", {CommandOutput.Percent(after.BenignAccuracy)} clean model")} ({before.TestSamples} test images)");
            if (before.AttackSuccessRate is { } asr)
                Console.WriteLine($"attack success  {CommandOutput.Percent(asr)} detection model{(after?.AttackSuccessRate is { } a ? $", {CommandOutput.Percent(a)} clean model" : "")} ({before.TriggeredSamples} triggered images)");
        }
        if (run.Warning is { } warning) Console.WriteLine($"warning         {warning}");
    }
}
