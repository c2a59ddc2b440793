using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Flare.IO;

namespace Flare.Attacks;

/// <summary>
/// attack.json: every parameter of a poisoning run, so that the trigger can be rebuilt (for the
/// ASR of a model trained on the set) and the run repeated byte for byte.
/// </summary>
public sealed record AttackRecord
{
    public const string FileName = "attack.json";
    public const string CurrentFormat = "flare-attack/1";

    internal static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
    };

    public string Format { get; init; } = CurrentFormat;
    public required string Attack { get; init; }
    public required string Mode { get; init; }
    public int? Target { get; init; }
    public string? TargetClass { get; init; }
    public required double Rate { get; init; }
    public required double CoverRate { get; init; }
    public required ulong Seed { get; init; }
    public required string[] ClassNames { get; init; }
    public required int ImageHeight { get; init; }
    public required int ImageWidth { get; init; }
    public required int TrainSamples { get; init; }
    public required int PoisonedSamples { get; init; }
    public required int CoverSamples { get; init; }
    public required string PoisonedChoice { get; init; }
    public string? Source { get; init; }
    public int? SourceLimit { get; init; }
    public string? TestSource { get; init; }
    public int? TestLimit { get; init; }
    public int? TestPoisonedSamples { get; init; }

    /// <summary>Where a reused trigger came from (flare poison --trigger-from): the earlier run's attack.json and its SHA-256; absent when the trigger was built here.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public TriggerOrigin? TriggerFrom { get; init; }

    /// <summary>The trigger's parameters (<see cref="IBackdoorAttack.Parameters"/>).</summary>
    public required JsonObject Parameters { get; init; }

    /// <summary>The trigger pictures beside attack.json: file name -> what it shows.</summary>
    public required Dictionary<string, string> TriggerFiles { get; init; }

    /// <summary>A learned attack's trained artifacts beside attack.json (file name -> what it holds and its SHA-256); absent for pattern attacks.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Dictionary<string, ArtifactRecord>? Artifacts { get; init; }

    public LabelMode CreateMode() => new(LabelMode.ParseKind(Mode), ClassNames.Length, Target ?? 0);

    /// <summary>
    /// Rebuilds the attack: a pattern attack from its name, image size and seed, checked against the
    /// parameters recorded here; a learned attack from the artifacts beside <paramref name="file"/>,
    /// checked against their recorded SHA-256.
    /// </summary>
    public IBackdoorAttack CreateAttack(string file)
    {
        if (AttackRegistry.Get(Attack).Learned is { } learned) return learned.Load(new ArtifactFolder(this, file));
        var attack = AttackRegistry.Create(Attack, new AttackSetup(ImageHeight, ImageWidth, Seed));
        if (ParametersOf(attack).ToJsonString() != Parameters.ToJsonString())
            throw new FlareException($"{file}: the {Attack} trigger this Flare builds for seed {Seed} differs from the recorded one (written by another version?)");
        return attack;
    }

    public static JsonObject ParametersOf(IBackdoorAttack attack) =>
        JsonSerializer.SerializeToNode(attack.Parameters, Json)!.AsObject();

    public void Write(string file) => OutputFiles.WriteAllText(file, JsonSerializer.Serialize(this, Json) + "\n");

    /// <summary>attack.json in a poisoned output folder, or <paramref name="path"/> itself when it is not a folder.</summary>
    public static string FileIn(string path) => Directory.Exists(path) ? Path.Combine(path, FileName) : path;

    /// <summary>Reads attack.json and rebuilds its trigger for a model with <paramref name="classNames"/> (the same classes in the same order).</summary>
    public static AttackTrigger LoadTrigger(string path, IReadOnlyList<string> classNames)
    {
        var record = Read(path);
        if (!record.ClassNames.SequenceEqual(classNames))
            throw new FlareException($"--attack: the attack's classes [{string.Join(", ", record.ClassNames)}] differ from the model's [{string.Join(", ", classNames)}]");
        return new AttackTrigger(record, record.CreateAttack(FileIn(path)), record.CreateMode());
    }

    /// <summary>Reads attack.json from a poisoned output folder (or the file itself).</summary>
    public static AttackRecord Read(string path)
    {
        var file = FileIn(path);
        if (!File.Exists(file)) throw new FlareException($"{path}: no {FileName} (expected an output folder of flare poison)");
        AttackRecord? record;
        try
        {
            record = JsonSerializer.Deserialize<AttackRecord>(File.ReadAllText(file), Json);
        }
        catch (JsonException e)
        {
            throw new FlareException($"{file}: not a valid {FileName} ({e.Message.Split('\n')[0]})", e);
        }
        if (record is null || record.Format != CurrentFormat)
            throw new FlareException($"{file}: not a {CurrentFormat} file");
        return record;
    }
}

/// <summary>A recorded attack with its rebuilt trigger and label mode.</summary>
public sealed record AttackTrigger(AttackRecord Record, IBackdoorAttack Attack, LabelMode Mode);
