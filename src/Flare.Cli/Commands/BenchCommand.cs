using System.CommandLine;
using Flare.Cli.Terminal;
using Flare.Training;

namespace Flare.Cli.Commands;

/// <summary>Opt-in measurements whose figures go into docs/benchmarks.md.</summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var command = new Command("bench", "Measure speed on this machine (figures for docs/benchmarks.md)");
        command.Subcommands.Add(Throughput());
        return command;
    }

    private static Command Throughput()
    {
        var model = new Option<string>("--model") { DefaultValueFactory = _ => "resnet18", Description = "Architecture" };
        var widths = new Option<int[]>("--width") { DefaultValueFactory = _ => [16, 64], Description = "Widths to measure", AllowMultipleArgumentsPerToken = true };
        var batch = new Option<int>("--batch") { DefaultValueFactory = _ => 128, Description = "Batch size" };
        var steps = new Option<int>("--steps") { DefaultValueFactory = _ => 20, Description = "Timed training steps (inference: 3x as many)" };
        var json = CommonOptions.Json();
        var command = new Command("throughput", "Training and inference images/s on random 32x32 inputs") { model, widths, batch, steps, json };
        command.SetAction(parse => CommandRunner.Run(() =>
        {
            var results = new List<ThroughputResult>();
            foreach (var width in parse.GetValue(widths)!)
            {
                var steps1 = parse.GetValue(steps);
                // Wide models are ~12x slower per image: fewer steps keep the run short.
                var scaledSteps = width > 32 ? Math.Max(3, steps1 / 4) : steps1;
                var result = ThroughputBenchmark.Measure(parse.GetValue(model)!, width, parse.GetValue(batch), scaledSteps, 3 * scaledSteps);
                results.Add(result);
                if (!parse.GetValue(json))
                    Console.WriteLine($"{result.Model} width {result.Width} batch {result.BatchSize} threads {result.Threads}: train {result.TrainImagesPerSecond:F0} img/s, infer {result.InferImagesPerSecond:F0} img/s");
            }
            if (parse.GetValue(json)) CommandOutput.WriteJson(results);
            return 0;
        }));
        return command;
    }
}
