using System.CommandLine;
using Flare.Cli.Commands;
using Flare.Cli.Terminal;

var root = new RootCommand("Flare: find and remove backdoor-poisoned samples from image training sets (FLARE, Hou et al., IEEE TIFS 2025)")
{
    TrainCommand.Create(),
    EvalCommand.Create(),
    PoisonCommand.Create(),
    DetectCommand.Create(),
    PurifyCommand.Create(),
    UnlearnCommand.Create(),
    CompareCommand.Create(),
    ManifoldCommands.Umap(),
    ManifoldCommands.Hdbscan(),
    BenchCommand.Create(),
};
var parse = root.Parse(args);
if (parse.Errors.Count > 0)
{
    // One line, no usage dump: the user asked for something specific.
    var command = parse.CommandResult.Command == root ? "flare" : $"flare {parse.CommandResult.Command.Name}";
    Console.Error.WriteLine($"flare: error: {ParseErrors.Describe(parse.Errors[0].Message)} (see '{command} --help')");
    return 2;
}
using var interruption = Interruption.Register();
return parse.Invoke();
