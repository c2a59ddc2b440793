using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Flare.IO;
using Flare.Tests.Support;
using Xunit.Abstractions;

namespace Flare.Tests.Reliability;

/// <summary>The classes of bad input every command is tried with.</summary>
public enum BadInput
{
    Missing,
    Empty,
    Corrupt,
    Mixed,
    WrongType,
    OutOfRangeOption,
    ForbiddenOutput,
    Interrupted,
    WriteFailure,
}

/// <summary>
/// One bad run: the command line (OUT is replaced by a fresh output path in the case's own scratch
/// folder), what the one error line must mention, and how the run is disturbed (an environment
/// variable of the output layer that makes a write fail, or a signal once the run is under way).
/// </summary>
public sealed record BadRun(BadInput Class, string[] Arguments, string Expected)
{
    /// <summary>Which write the output layer fails ("N" or "commit", see <see cref="OutputFiles.InjectFailure"/>).</summary>
    public string? FailWrite { get; init; }

    /// <summary>Environment of a run in its own process (the output layer's process-wide failure switch).</summary>
    public IReadOnlyDictionary<string, string>? Environment { get; init; }

    public int? Signal { get; init; }

    public string Command => Arguments[0];
    public override string ToString() => $"{Class}: flare {string.Join(' ', Arguments)}";
}

/// <summary>
/// Flare's promises, tried: every command, given each class of bad input, exits non-zero with one
/// line naming the file or option, changes no byte of its input, and leaves no partial output.
/// An interrupted run also prints "cancelled" and exits 130 (SIGINT) or 143 (SIGTERM). The tally of
/// outcomes is what docs/reliability.md reports (FLARE_RELIABILITY_TALLY=file writes it there too).
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class Promises(BadInputs inputs, ITestOutputHelper log) : IClassFixture<BadInputs>
{
    private const string Out = "OUT";

    [Fact]
    public void EveryCommandRefusesEveryClassOfBadInputCleanly()
    {
        var fixture = inputs;
        var runs = Runs(fixture);
        var outcomes = new ConcurrentBag<(BadRun Run, Outcome Outcome, string Detail)>();
        var clock = Stopwatch.StartNew();
        var index = 0;
        // Two at a time: the child processes mostly wait for start-up; in-process runs take turns on the console.
        Parallel.ForEach(runs.OrderBy(r => r.Signal is null && r.Environment is null), new ParallelOptions { MaxDegreeOfParallelism = 2 }, run =>
        {
            var scratch = Path.Combine(fixture.Scratch, Interlocked.Increment(ref index).ToString("D3"));
            Directory.CreateDirectory(scratch);
            var (outcome, detail) = Try(fixture, run, scratch);
            outcomes.Add((run, outcome, detail));
        });
        var tally = Tally(outcomes.Select(o => (o.Run.Class, o.Outcome)).ToList());
        log.WriteLine($"{runs.Count} bad runs in {clock.Elapsed.TotalSeconds:F0} s\n{tally}");
        if (System.Environment.GetEnvironmentVariable("FLARE_RELIABILITY_TALLY") is { Length: > 0 } file) File.WriteAllText(file, tally);
        var broken = outcomes.Where(o => o.Outcome != Outcome.ClearError).Select(o => $"{o.Outcome} — {o.Run}\n{o.Detail}").ToList();
        Assert.True(broken.Count == 0, string.Join("\n\n", broken));
        foreach (var command in new[] { "train", "eval", "poison", "detect", "purify", "umap", "hdbscan" })
            Assert.True(runs.Count(r => r.Command == command) >= 5, $"{command} is tried with too few bad inputs");
    }

    [Fact]
    public void DetectWithAModelThatHasNotLearnedTheDataSaysSoInTheSummaryAndReport()
    {
        var output = Path.Combine(inputs.Scratch, "fit");
        // --limit picks 30 of the 60 images: not the set the model was trained on (and 1 epoch did not fit that either).
        var detect = CliProcess.RunInProcess("detect", "--data", inputs.In("data"), "--limit", "30", "--model", inputs.In("model.ckpt"), "--out", output,
            "--neighbors", "8", "--min-cluster-size", "5", "--max-dropped-layers", "1");
        Assert.True(detect.ExitCode == 0, detect.Error);
        Assert.Contains("accuracy on these images. WARNING:", detect.Output);
        Assert.Contains("trained on other images", detect.Output);
        using var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "report.json")));
        var fit = report.RootElement.GetProperty("fit");
        Assert.False(fit.GetProperty("trained_on_this_data").GetBoolean());
        Assert.False(fit.GetProperty("trusted").GetBoolean());
        Assert.Contains("**Warning:", File.ReadAllText(Path.Combine(output, "report.md")));
        // The subspace line says "none stable" only when no subspace was.
        var anyStable = report.RootElement.GetProperty("trials").EnumerateArray().Any(t => t.GetProperty("stable").GetBoolean());
        Assert.Equal(!anyStable, detect.Output.Contains("was stable"));
        Directory.Delete(output, recursive: true);
    }

    [Fact]
    public void AnInterruptedPoisonLeavesNothingAndARerunWorks()
    {
        using var temp = new TempFolder();
        var output = temp.Combine("poisoned");
        string[] arguments = ["poison", "--data", SharedData.Cifar10Train, "--limit", "500", "--attack", "badnets", "--mode", "a2o", "--out", output];
        var interrupted = CliProcess.RunInterrupted(CliProcess.SigInt, _ => Directory.EnumerateDirectories(temp.Path, ".poisoned.partial-*").Any(), arguments);
        Assert.Equal(130, interrupted.ExitCode);
        Assert.Equal(["flare: cancelled"], CliProcess.ErrorLines(interrupted));
        Assert.Empty(Directory.EnumerateFileSystemEntries(temp.Path));
        var rerun = CliProcess.Run(arguments);
        Assert.True(rerun.ExitCode == 0, rerun.Error);
        Assert.Equal(["poisoned"], Directory.EnumerateFileSystemEntries(temp.Path).Select(Path.GetFileName));
    }

    private enum Outcome
    {
        ClearError,
        UnclearError,
        StackTrace,
        SilentWrong,
        DataChanged,
        PartialOutput,
    }

    private static (Outcome, string) Try(BadInputs fixture, BadRun run, string scratch)
    {
        var before = fixture.Checksum();
        var arguments = run.Arguments.Select(a => a.Replace(Out, Path.Combine(scratch, "out"))).ToArray();
        CliResult result;
        // A run disturbed by a signal or by the environment needs its own process.
        if (run.Signal is { } signal) result = CliProcess.RunInterrupted(signal, error => Started(run, scratch, error), arguments);
        else if (run.Environment is not null) result = CliProcess.RunWith(run.Environment, arguments);
        else
        {
            using (run.FailWrite is null ? null : OutputFiles.InjectFailure(run.FailWrite))
                result = CliProcess.RunInProcess(arguments);
        }
        var detail = $"exit {result.ExitCode}\nstdout: {result.Output}\nstderr: {result.Error}";
        if (fixture.Checksum() != before) return (Outcome.DataChanged, detail);
        if (Directory.EnumerateFileSystemEntries(scratch).Any())
            return (Outcome.PartialOutput, detail + $"\nleft: {string.Join(", ", Directory.EnumerateFileSystemEntries(scratch).Select(Path.GetFileName))}");
        if (result.ExitCode == 0) return (Outcome.SilentWrong, detail);
        if (result.ExitCode == 70 || result.Error.Contains("   at ") || result.Error.Contains("Exception") || result.Error.Contains("System."))
            return (Outcome.StackTrace, detail);
        var lines = CliProcess.ErrorLines(result);
        var expectedExit = run.Signal switch { CliProcess.SigInt => 130, CliProcess.SigTerm => 143, _ => (int?)null };
        var clear = lines.Length == 1 && lines[0].Contains(run.Expected) && !lines[0].Contains(".partial-")
            && (expectedExit is null ? result.ExitCode is 1 or 2 : result.ExitCode == expectedExit);
        return (clear ? Outcome.ClearError : Outcome.UnclearError, detail);
    }

    /// <summary>When to send the signal: once the run is past start-up and into its work.</summary>
    private static bool Started(BadRun run, string scratch, string error) => run.Command == "train"
        ? error.Contains("reading training images")
        : Directory.EnumerateDirectories(scratch, ".out.partial-*").Any();

    private static string Tally(IReadOnlyList<(BadInput Class, Outcome Outcome)> outcomes)
    {
        var text = new StringBuilder("| bad input | tried | clear error | unclear error | stack trace | silent wrong | data changed | partial output |\n");
        text.Append("| --- | --- | --- | --- | --- | --- | --- | --- |\n");
        void Row(string name, IReadOnlyList<Outcome> o) => text.Append(
            $"| {name} | {o.Count} | {o.Count(x => x == Outcome.ClearError)} | {o.Count(x => x == Outcome.UnclearError)} | {o.Count(x => x == Outcome.StackTrace)} | {o.Count(x => x == Outcome.SilentWrong)} | {o.Count(x => x == Outcome.DataChanged)} | {o.Count(x => x == Outcome.PartialOutput)} |\n");
        foreach (var group in outcomes.GroupBy(o => o.Class).OrderBy(g => g.Key))
            Row(Words(group.Key), group.Select(o => o.Outcome).ToList());
        Row("**all**", outcomes.Select(o => o.Outcome).ToList());
        return text.ToString();
    }

    private static string Words(BadInput input) => input switch
    {
        BadInput.WrongType => "wrong type",
        BadInput.OutOfRangeOption => "out-of-range option",
        BadInput.ForbiddenOutput => "output in a forbidden place",
        BadInput.Interrupted => "interrupted run",
        BadInput.WriteFailure => "write failure",
        var other => other.ToString().ToLowerInvariant(),
    };


    /// <summary>Every bad run, by command; comments name the issue-10 defect a run reproduces.</summary>
    private static List<BadRun> Runs(BadInputs f)
    {
        string I(params string[] parts) => f.In(parts);
        var data = I("data");
        var model = I("model.ckpt");
        var quick = new[] { "--width", "8", "--epochs", "1" };
        var detectQuick = new[] { "--neighbors", "10", "--min-cluster-size", "5", "--max-dropped-layers", "1" };
        var runs = new List<BadRun>();
        void Add(BadInput kind, string expected, params string[] arguments) => runs.Add(new BadRun(kind, arguments, expected));
        void AddWith(BadRun run) => runs.Add(run);

        // train
        string[] Train(string dataPath, params string[] extra) => ["train", "--data", dataPath, .. quick, "--out", Out + ".ckpt", .. extra];
        Add(BadInput.Missing, "folder not found", Train(I("nope")));
        Add(BadInput.Empty, "no class folders", Train(I("empty-data")));
        Add(BadInput.Empty, "class folder has no images", Train(I("empty-class")));
        Add(BadInput.Corrupt, "0003.png: not a readable", Train(I("corrupt-image")));
        Add(BadInput.Mixed, "holds both CIFAR binary batches", Train(I("mixed-bin"))); // 8
        Add(BadInput.Mixed, "0009.png: is 16x16", Train(I("mixed-sizes")));
        Add(BadInput.Mixed, "notes.txt: not an image", Train(I("non-image")));
        Add(BadInput.Mixed, "differ from the training classes", Train(data, "--test", I("other-classes")));
        Add(BadInput.WrongType, "is a file", Train(I("points.npy")));
        Add(BadInput.OutOfRangeOption, "--limit must be positive", Train(data, "--limit", "0"));
        Add(BadInput.OutOfRangeOption, "--limit: 'abc' is not an integer", Train(data, "--limit", "abc")); // 14
        Add(BadInput.OutOfRangeOption, "below the number of classes", Train(data, "--limit", "2")); // 9
        Add(BadInput.OutOfRangeOption, "--epochs", Train(data, "--epochs", "0"));
        Add(BadInput.OutOfRangeOption, "--augment", Train(data, "--augment", "rotate"));
        Add(BadInput.ForbiddenOutput, "inside --data", ["train", "--data", data, .. quick, "--out", I("data", "class0", "0000.png"), "--force"]); // 1
        Add(BadInput.ForbiddenOutput, "already exists", ["train", "--data", data, .. quick, "--out", I("existing.ckpt")]); // 1
        Add(BadInput.ForbiddenOutput, "same path as --data", ["train", "--data", data, .. quick, "--out", data]);
        Add(BadInput.ForbiddenOutput, "does not exist", ["train", "--data", data, .. quick, "--out", Path.Combine(Out, "m.ckpt")]);
        Add(BadInput.ForbiddenOutput, "--out: the path is empty", ["train", "--data", data, .. quick, "--out", ""]);
        Add(BadInput.ForbiddenOutput, "--out: cannot write in /proc", ["train", "--data", data, .. quick, "--out", "/proc/m.ckpt"]); // 12
        AddWith(new BadRun(BadInput.WriteFailure, Train(data), "No space left on device") { FailWrite = "1" });
        AddWith(new BadRun(BadInput.WriteFailure, Train(data), "No space left on device") { FailWrite = "commit" });
        AddWith(new BadRun(BadInput.Interrupted, ["train", "--data", data, "--width", "8", "--epochs", "500", "--out", Out + ".ckpt"], "cancelled") { Signal = CliProcess.SigInt }); // 11

        // eval
        string[] Eval(string modelPath, string dataPath, params string[] extra) => ["eval", "--model", modelPath, "--data", dataPath, .. extra];
        Add(BadInput.Missing, "checkpoint not found", Eval(I("nope.ckpt"), data));
        Add(BadInput.Missing, "folder not found", Eval(model, I("nope")));
        Add(BadInput.Empty, "not a Flare checkpoint", Eval(I("empty.ckpt"), data));
        Add(BadInput.Empty, "no class folders", Eval(model, I("empty-data")));
        Add(BadInput.Corrupt, "normalization std", Eval(I("std-zero.ckpt"), data)); // 4
        Add(BadInput.Corrupt, "normalization mean", Eval(I("mean-100.ckpt"), data)); // 4
        Add(BadInput.Corrupt, "two-normalizations.ckpt: unreadable checkpoint", Eval(I("two-normalizations.ckpt"), data)); // 4
        Add(BadInput.Corrupt, "null-classes.ckpt: unreadable checkpoint", Eval(I("null-classes.ckpt"), data));
        Add(BadInput.Corrupt, "not a Flare checkpoint", Eval(I("garbage.ckpt"), data));
        Add(BadInput.Corrupt, "unreadable checkpoint weights", Eval(I("truncated.ckpt"), data));
        Add(BadInput.Mixed, "differ from the model's", Eval(model, I("other-classes")));
        Add(BadInput.WrongType, "not a Flare checkpoint", Eval(I("data", "class0", "0000.png"), data));
        Add(BadInput.WrongType, "is a file", Eval(model, model));
        Add(BadInput.OutOfRangeOption, "--limit must be positive", Eval(model, data, "--limit", "-1"));
        Add(BadInput.WrongType, "no attack.json", Eval(model, data, "--attack", data));

        // poison
        string[] Poison(string dataPath, params string[] extra) => ["poison", "--data", dataPath, "--attack", "badnets", "--mode", "a2o", "--out", Out, .. extra];
        Add(BadInput.Missing, "folder not found", Poison(I("nope")));
        Add(BadInput.Empty, "no class folders", Poison(I("empty-data")));
        Add(BadInput.Corrupt, "0003.png: not a readable", Poison(I("corrupt-image")));
        Add(BadInput.Mixed, "holds both CIFAR binary batches", Poison(I("mixed-bin"))); // 8
        Add(BadInput.WrongType, "is a file", Poison(model));
        Add(BadInput.OutOfRangeOption, "--rate must be in (0, 1)", Poison(data, "--rate", "1.5"));
        Add(BadInput.OutOfRangeOption, "below the number of classes", Poison(data, "--limit", "2")); // 9
        Add(BadInput.OutOfRangeOption, "leaving it empty", Poison(data, "--rate", "0.67")); // 9
        Add(BadInput.OutOfRangeOption, "nope", Poison(data, "--target", "nope"));
        Add(BadInput.ForbiddenOutput, "inside --data", ["poison", "--data", data, "--attack", "badnets", "--mode", "a2o", "--out", I("data", "poisoned")]); // 3
        Add(BadInput.ForbiddenOutput, "not empty", ["poison", "--data", data, "--attack", "badnets", "--mode", "a2o", "--out", I("existing-folder")]);
        Add(BadInput.ForbiddenOutput, "--out: cannot write in /proc", ["poison", "--data", data, "--attack", "badnets", "--mode", "a2o", "--out", "/proc/poisoned"]); // 14
        AddWith(new BadRun(BadInput.WriteFailure, Poison(data), "No space left on device") { FailWrite = "3" }); // 13: parallel writer
        AddWith(new BadRun(BadInput.WriteFailure, Poison(data), "No space left on device") { FailWrite = "commit" });
        AddWith(new BadRun(BadInput.Interrupted, ["poison", "--data", SharedData.Cifar10Train, "--limit", "500", "--attack", "badnets", "--mode", "a2o", "--out", Out], "cancelled") { Signal = CliProcess.SigTerm }); // 11

        // detect
        string[] Detect(string dataPath, string modelPath, params string[] extra) => ["detect", "--data", dataPath, "--model", modelPath, "--out", Out, .. detectQuick, .. extra];
        Add(BadInput.Missing, "checkpoint not found", Detect(data, I("nope.ckpt")));
        Add(BadInput.Missing, "folder not found", Detect(I("nope"), model));
        Add(BadInput.Empty, "no class folders", Detect(I("empty-data"), model));
        Add(BadInput.Corrupt, "normalization std", Detect(data, I("std-zero.ckpt"))); // 4
        Add(BadInput.Corrupt, "0003.png: not a readable", Detect(I("corrupt-image"), model));
        Add(BadInput.Mixed, "holds both CIFAR binary batches", Detect(I("mixed-bin"), model));
        Add(BadInput.WrongType, "not a Flare checkpoint", Detect(data, I("points.npy")));
        Add(BadInput.OutOfRangeOption, "--xi", Detect(data, model, "--xi", "0"));
        Add(BadInput.OutOfRangeOption, "--isolation", Detect(data, model, "--isolation", "2"));
        Add(BadInput.OutOfRangeOption, "--representation", Detect(data, model, "--representation", "pixels"));
        Add(BadInput.ForbiddenOutput, "inside --data", ["detect", "--data", data, "--model", model, "--out", I("data", "report")]); // 3
        Add(BadInput.ForbiddenOutput, "same path as --model", ["detect", "--data", data, "--model", model, "--out", model]);
        Add(BadInput.ForbiddenOutput, "not empty", ["detect", "--data", data, "--model", model, "--out", I("existing-folder")]);
        AddWith(new BadRun(BadInput.WriteFailure, Detect(data, model), "No space left on device") { FailWrite = "1" });
        AddWith(new BadRun(BadInput.Interrupted, Detect(data, model), "cancelled") { Signal = CliProcess.SigInt }); // 11

        // purify
        string[] Purify(string dataPath, params string[] extra) => ["purify", "--data", dataPath, "--out", Out, .. quick, .. detectQuick, .. extra];
        Add(BadInput.Missing, "folder not found", Purify(I("nope")));
        Add(BadInput.Empty, "no class folders", Purify(I("empty-data")));
        Add(BadInput.Corrupt, "0003.png: not a readable", Purify(I("corrupt-image")));
        Add(BadInput.Mixed, "holds both CIFAR binary batches", Purify(I("mixed-bin")));
        Add(BadInput.WrongType, "is CIFAR binary data", Purify(I("cifar-bin"))); // 10: refused before training
        Add(BadInput.OutOfRangeOption, "--width", Purify(data, "--width", "0"));
        Add(BadInput.OutOfRangeOption, "--image-size must be positive", Purify(data, "--image-size", "0"));
        Add(BadInput.Mixed, "0009.png: is 16x16", Purify(I("mixed-sizes")));
        Add(BadInput.ForbiddenOutput, "inside --data", ["purify", "--data", data, .. quick, "--out", I("data", "clean")]); // 3
        AddWith(new BadRun(BadInput.WriteFailure, Purify(data), "No space left on device") { FailWrite = "commit" });
        AddWith(new BadRun(BadInput.Interrupted, ["purify", "--data", data, "--out", Out, "--width", "8", "--epochs", "500", .. detectQuick], "cancelled") { Signal = CliProcess.SigTerm }); // 11

        // umap
        string[] Umap(string input, params string[] extra) => ["umap", "--in", input, "--out", Out + ".npy", .. extra];
        Add(BadInput.Missing, "file not found", Umap(I("nope.npy")));
        Add(BadInput.Empty, "empty.npy: not a readable .npy", Umap(I("empty.npy")));
        Add(BadInput.Empty, "the matrix is 5 x 0", Umap(I("no-columns.npy"))); // 13
        Add(BadInput.Corrupt, "garbage.npy: not a readable .npy", Umap(I("garbage.npy")));
        Add(BadInput.Corrupt, "truncated.npy: not a readable .npy", Umap(I("truncated.npy")));
        Add(BadInput.Corrupt, "header-2GB.npy: not a readable .npy", Umap(I("header-2GB.npy"))); // 13
        Add(BadInput.Corrupt, "shape-above-int64.npy: not a readable .npy", Umap(I("shape-above-int64.npy"))); // 13
        Add(BadInput.Corrupt, "shape-overflow.npy: not a readable .npy", Umap(I("shape-overflow.npy")));
        Add(BadInput.Corrupt, "NaN", Umap(I("nan-values.npy")));
        Add(BadInput.OutOfRangeOption, "overflows float32", Umap(I("huge-values.npy"))); // 6
        Add(BadInput.WrongType, "model.ckpt: not a readable .npy", Umap(model));
        Add(BadInput.WrongType, "is a folder", Umap(data));
        Add(BadInput.OutOfRangeOption, "--min-dist", Umap(I("points.npy"), "--min-dist", "NaN")); // 13
        Add(BadInput.OutOfRangeOption, "--min-dist", Umap(I("points.npy"), "--min-dist", "1e9")); // 13
        Add(BadInput.OutOfRangeOption, "--neighbors must be at least 2", Umap(I("points.npy"), "--neighbors", "1"));
        Add(BadInput.OutOfRangeOption, "--neighbors must be below the number of points (60", Umap(I("points.npy"), "--neighbors", "500"));
        Add(BadInput.OutOfRangeOption, "needs at least 3 points", Umap(I("two-points.npy"))); // 14
        Add(BadInput.OutOfRangeOption, "--components", Umap(I("points.npy"), "--components", "0"));
        Add(BadInput.OutOfRangeOption, "--metric", Umap(I("points.npy"), "--metric", "manhattan"));
        Add(BadInput.ForbiddenOutput, "same path as --in", ["umap", "--in", I("points.npy"), "--out", I("points.npy")]); // 2
        Add(BadInput.ForbiddenOutput, "already exists", ["umap", "--in", I("points.npy"), "--out", I("two-points.npy")]);
        AddWith(new BadRun(BadInput.WriteFailure, Umap(I("points.npy")), "No space left on device") { FailWrite = "1" });
        AddWith(new BadRun(BadInput.WriteFailure, Umap(I("points.npy")), "No space left on device") { Environment = new Dictionary<string, string> { [OutputFiles.FailureVariable] = "commit" } });

        // hdbscan
        string[] Hdbscan(string input, params string[] extra) => ["hdbscan", "--in", input, "--out", Out + ".csv", .. extra];
        Add(BadInput.Missing, "file not found", Hdbscan(I("nope.npy")));
        Add(BadInput.Empty, "empty.npy: not a readable .npy", Hdbscan(I("empty.npy")));
        Add(BadInput.Corrupt, "garbage.npy: not a readable .npy", Hdbscan(I("garbage.npy")));
        Add(BadInput.OutOfRangeOption, "overflows float32", Hdbscan(I("huge-values.npy"))); // 6
        Add(BadInput.WrongType, "labels.csv: not a readable .npy", Hdbscan(I("labels.csv")));
        Add(BadInput.OutOfRangeOption, "--min-samples 500", Hdbscan(I("points.npy"), "--min-samples", "500")); // 7
        Add(BadInput.OutOfRangeOption, "--min-cluster-size 500", Hdbscan(I("points.npy"), "--min-cluster-size", "500"));
        Add(BadInput.OutOfRangeOption, "--min-cluster-size must be at least 2", Hdbscan(I("points.npy"), "--min-cluster-size", "1"));
        Add(BadInput.OutOfRangeOption, "--selection", Hdbscan(I("points.npy"), "--selection", "best"));
        Add(BadInput.ForbiddenOutput, "same path as --in", ["hdbscan", "--in", I("points.npy"), "--out", I("points.npy")]); // 2
        Add(BadInput.ForbiddenOutput, "--tree", Hdbscan(I("points.npy"), "--tree", Out + ".csv")); // 2
        AddWith(new BadRun(BadInput.WriteFailure, Hdbscan(I("points.npy"), "--tree", Out + "-tree.csv"), "No space left on device") { FailWrite = "2" });
        return runs;
    }
}
