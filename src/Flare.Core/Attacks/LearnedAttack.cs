using System.Security.Cryptography;
using Flare.Data;
using Flare.Progress;

namespace Flare.Attacks;

/// <summary>
/// What a learned attack is built from: the clean training set, the label mode, the seed, the
/// samples the attack will poison (indices into <see cref="Clean"/> in selection order, so
/// ordinal r of <see cref="IBackdoorAttack.PoisonTrainingImage"/> is sample Poisoned[r]), the
/// cover samples likewise (ordinal r of <see cref="IBackdoorAttack.CoverTrainingImage"/> is
/// sample Cover[r]; empty for attacks without cover samples), the surrogate recipe and where to
/// report progress.
/// </summary>
public sealed record AttackContext(ImageSet Clean, LabelMode Mode, ulong Seed, IReadOnlyList<int> Poisoned, IReadOnlyList<int> Cover, SurrogateOptions Surrogate, IProgressSink Progress)
{
    public AttackSetup Setup => new(Clean.Height, Clean.Width, Seed);
}

/// <summary>
/// An attack built from the training data (and often a surrogate model trained on it). Besides
/// the trigger it lists the trained artifacts that are saved beside attack.json: what
/// <see cref="LearnedAttackSpec.Load"/> needs to rebuild the test-time trigger without training again.
/// </summary>
public interface ILearnedAttack : IBackdoorAttack
{
    IReadOnlyList<AttackArtifact> Artifacts { get; }
}

/// <summary>A trained artifact: its file name beside attack.json, what it holds, and how to write it to a path.</summary>
public sealed record AttackArtifact(string FileName, string Description, Action<string> Save);

/// <summary>
/// How a learned attack is built and loaded back, and which label modes it supports. A
/// clean-label attack poisons samples of the all-to-one target class and keeps their labels; an
/// attack without a surrogate (<see cref="TrainsSurrogate"/> false) refuses a surrogate recipe.
/// <see cref="Reuse"/> rebuilds a training-capable attack from an earlier run's artifacts and this
/// run's context, without training (flare poison --trigger-from, <see cref="TriggerSource"/>);
/// null when the attack cannot be reused, with <see cref="NotReusable"/> saying why. A trigger that
/// <see cref="ReuseKeepsMode"/> was optimised for its label mode and target (and classes) and is
/// reused only with the same ones.
/// </summary>
public sealed record LearnedAttackSpec(
    Func<AttackContext, ILearnedAttack> Build,
    Func<ArtifactFolder, IBackdoorAttack> Load,
    IReadOnlyList<LabelModeKind> Modes,
    bool CleanLabel = false,
    bool TrainsSurrogate = true,
    Func<ArtifactFolder, AttackContext, ILearnedAttack>? Reuse = null,
    bool ReuseKeepsMode = false,
    string? NotReusable = null);

/// <summary>An artifact as attack.json records it: what it holds and the SHA-256 of its bytes.</summary>
public sealed record ArtifactRecord(string Description, string Sha256)
{
    public static string HashOf(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}

/// <summary>
/// The folder of a learned attack's attack.json, as its loader sees it: the recorded setup and
/// parameters, and the artifact files, each checked against the SHA-256 attack.json recorded.
/// </summary>
public sealed class ArtifactFolder
{
    private readonly AttackRecord record;
    private readonly string folder;
    private readonly string recordFile;

    internal ArtifactFolder(AttackRecord record, string recordFile)
    {
        this.record = record;
        this.recordFile = recordFile;
        folder = Path.GetDirectoryName(Path.GetFullPath(recordFile))!;
    }

    public AttackSetup Setup => new(record.ImageHeight, record.ImageWidth, record.Seed);

    /// <summary>The trigger's parameters as recorded, for the loaded attack to report unchanged.</summary>
    public IReadOnlyDictionary<string, object> Parameters =>
        record.Parameters.ToDictionary(pair => pair.Key, pair => (object)pair.Value!.DeepClone());

    /// <summary>The path of an artifact, after checking that attack.json lists it and that its bytes are the recorded ones.</summary>
    public string PathOf(string fileName)
    {
        if (record.Artifacts is null || !record.Artifacts.TryGetValue(fileName, out var expected))
            throw new FlareException($"{recordFile}: lists no artifact '{fileName}' (written by another version?)");
        var path = Path.Combine(folder, fileName);
        if (!File.Exists(path)) throw new FlareException($"{path}: artifact missing (the {record.Attack} trigger is loaded from it)");
        if (ArtifactRecord.HashOf(path) != expected.Sha256)
            throw new FlareException($"{path}: artifact changed since flare poison wrote it (SHA-256 differs from {AttackRecord.FileName})");
        return path;
    }
}
