using System.Diagnostics;
using Flare.Progress;
using Spectre.Console;

namespace Flare.Cli.Terminal;

/// <summary>
/// Runs work under progress bars on standard error (so standard output stays machine-readable).
/// On a terminal the bars are live; when standard error is redirected, each stage prints a line
/// every few seconds and when it ends.
/// </summary>
public static class ProgressDisplay
{
    public static T Run<T>(Func<IProgressSink, T> work)
    {
        if (Console.IsErrorRedirected) return work(new LineProgress(Console.Error));
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        T result = default!;
        console.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(context => result = work(new BarProgress(context, console)));
        return result;
    }

    private sealed class BarProgress(ProgressContext context, IAnsiConsole console) : IProgressSink
    {
        public IProgressStage Begin(string name, long total)
        {
            var task = context.AddTask(Markup.Escape(name), maxValue: Math.Max(total, 1));
            return new Stage(task, name);
        }

        public void Message(string text) => console.MarkupLine(Markup.Escape(text));

        private sealed class Stage(ProgressTask task, string name) : IProgressStage
        {
            public void Advance(long amount, string? status = null)
            {
                if (status is not null) task.Description = Markup.Escape($"{name}: {status}");
                task.Increment(amount);
            }

            public void Dispose()
            {
                task.Value = task.MaxValue;
                task.StopTask();
            }
        }
    }

    private sealed class LineProgress(TextWriter output) : IProgressSink
    {
        private static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);

        public IProgressStage Begin(string name, long total) => new Stage(output, name, Math.Max(total, 1));

        public void Message(string text) => output.WriteLine(text);

        private sealed class Stage(TextWriter output, string name, long total) : IProgressStage
        {
            private readonly Stopwatch clock = Stopwatch.StartNew();
            private TimeSpan lastReport;
            private long done;
            private string? status;

            public void Advance(long amount, string? newStatus = null)
            {
                done += amount;
                status = newStatus ?? status;
                if (clock.Elapsed - lastReport < Interval) return;
                lastReport = clock.Elapsed;
                Report();
            }

            public void Dispose()
            {
                done = total;
                Report();
            }

            private void Report()
            {
                var fraction = (double)done / total;
                var eta = fraction > 0 && fraction < 1 ? $", ETA {TimeSpan.FromSeconds(clock.Elapsed.TotalSeconds * (1 - fraction) / fraction):hh\\:mm\\:ss}" : "";
                output.WriteLine($"{name}: {fraction:P0} ({clock.Elapsed:hh\\:mm\\:ss}{eta}){(status is null ? "" : " " + status)}");
            }
        }
    }
}
